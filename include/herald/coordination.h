// Coordination backends: where the name service keeps its table (docs/coordination.md).
// The embedded backend is a name server hosted by one Herald node (docs/naming.md); the etcd
// backend keeps names in an etcd 3.4+ cluster reached through its v3 JSON gateway. Public API;
// includes only the standard library.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace herald {

enum class Coordination {
    embedded,  // A name server hosted by a Herald node (NamingNodeOptions; the default).
    etcd,      // An etcd cluster (CoordinationOptions::etcd_endpoints).
};

// NodeOptions::coordination. Node::start fails invalid_argument, naming the field, when the
// etcd backend is chosen with no endpoint, an endpoint that is not http://HOST:PORT or
// https://HOST:PORT, a timeout or lease TTL out of range, or a TLS file that cannot be read.
// It does not need etcd to be up: calls fail unreachable until it is.
struct CoordinationOptions {
    Coordination backend = Coordination::embedded;
    // etcd client URLs (`--advertise-client-urls` of the members), tried in turn: a request
    // that finds one member down or leaderless goes on to the next within its timeout.
    std::vector<std::string> etcd_endpoints;
    // The longest any one naming call waits for etcd, over all endpoints (100 ms - 60 s):
    // past it the call fails unreachable, naming the endpoints tried.
    std::chrono::milliseconds etcd_timeout{2000};
    // The TTL of this node's etcd lease (2 - 3600 s; etcd raises shorter ones to its own
    // minimum). The node keeps it alive every third of it; names of a node that stops renewing
    // (crash, partition from etcd) go at most this long after its last renewal.
    std::chrono::seconds etcd_lease_ttl{10};
    // Key prefix of everything Herald keeps in etcd: names live under PREFIX + "names/".
    std::string etcd_prefix = "/herald/";
    // TLS for https:// endpoints (PEM files; empty: libcurl's defaults, no client certificate).
    std::string etcd_ca_file, etcd_cert_file, etcd_key_file;
};

}  // namespace herald
