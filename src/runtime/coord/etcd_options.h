// Options of the etcd coordination backend (runtime side of herald::CoordinationOptions,
// docs/coordination.md). Layer: runtime/coord.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/time.h"

namespace herald::runtime::coord {

struct EtcdOptions {
    std::vector<std::string> endpoints;          // http(s)://HOST:PORT, tried in turn.
    Duration timeout = Duration::seconds(2);     // One call, over all endpoints.
    Duration lease_ttl = Duration::seconds(10);  // The node lease's TTL.
    std::string prefix = "/herald/";
    std::string ca_file, cert_file, key_file;  // TLS (PEM); empty: libcurl's defaults.
    std::size_t queue_max = 1024;  // Calls waiting for the worker; more: Errc::queue_full.
    std::size_t response_bytes_max = std::size_t{4} << 20;  // Larger answers: malformed.
};

// Errc::invalid_argument naming the first wrong field (docs/config.md).
[[nodiscard]] Status check_etcd_options(const EtcdOptions& options);

}  // namespace herald::runtime::coord
