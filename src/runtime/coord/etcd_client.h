// EtcdClient: etcd's v3 JSON gateway (POST /v3/kv/range, /v3/kv/txn, /v3/lease/grant, ...)
// over libcurl, on one worker thread of its own, never on a node's loop thread. Calls queue to
// the worker (bounded); each runs within EtcdOptions::timeout over all endpoints, then fails
// unreachable naming them. Layer: runtime/coord (docs/coordination.md "The etcd client").
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "core/result.h"
#include "core/time.h"
#include "runtime/coord/etcd_options.h"

namespace herald::runtime::coord {

using Json = nlohmann::json;

// etcd's JSON gateway encodes keys and values in base64 (RFC 4648, with padding).
[[nodiscard]] std::string base64_encode(std::string_view bytes);
// Errc::malformed on a character outside the alphabet or a bad length.
[[nodiscard]] Result<std::string> base64_decode(std::string_view text);
// The key just past every key that starts with `prefix` (etcd's range_end for a prefix):
// the last byte below 0xff incremented, the rest dropped. "\0" (all keys) for an empty one.
[[nodiscard]] std::string prefix_end(std::string_view prefix);
// Reading the gateway's answers without exceptions: a field of another type counts as absent.
[[nodiscard]] const Json* json_field(const Json& j, std::string_view name);
[[nodiscard]] bool json_true(const Json& j, std::string_view name);
// etcd writes int64 fields as JSON strings ("7587883"); numbers are taken too.
[[nodiscard]] std::optional<std::int64_t> json_int(const Json& j, std::string_view name);
[[nodiscard]] std::optional<std::string> json_text(const Json& j, std::string_view name);
// The kvs of a range answer (an empty array when none).
[[nodiscard]] Json json_kvs(const Json& range);
// Sets the TLS files of `options` (CA, client certificate and key) on a libcurl easy handle
// (CURL*); empty ones leave libcurl's defaults.
void set_tls_options(void* handle, const EtcdOptions& options);
// libcurl's global state, set up once per process (curl_global_init is not thread-safe);
// false when it failed. Any thread.
[[nodiscard]] bool curl_ready();

class EtcdClient {
public:
    // A unit of work run on the worker thread, with the client to make calls through. Work
    // queued before stop() still runs (each call in it bounded by the timeout).
    using Work = std::function<void(EtcdClient&)>;

    // Errc::invalid_argument (check_etcd_options), io_error (libcurl failed to start).
    [[nodiscard]] static Result<std::unique_ptr<EtcdClient>> open(const EtcdOptions& options);
    ~EtcdClient();
    EtcdClient(const EtcdClient&) = delete;
    EtcdClient& operator=(const EtcdClient&) = delete;

    // Queues `work` for the worker. Errc::queue_full (queue_max waiting), closed (stopped).
    // Any thread.
    [[nodiscard]] Status submit(Work work);
    // Runs `tick` on the worker every `every` (between queued work) until stop.
    void set_tick(Duration every, std::function<void(EtcdClient&)> tick);
    // Stops taking work. Work still queued runs, but its calls fail closed at once; then
    // `last` runs with calls allowed (each within the timeout), and the worker ends. So a stop
    // takes at most one call in progress plus `last`. Any thread; join() waits for the worker
    // (not on the worker).
    void stop(Work last = nullptr);
    void join();

    // --- Worker thread only (from Work or the tick). ---
    // POSTs `body` to `path` ("/v3/kv/range") at the endpoints in turn until one answers or
    // the timeout passes. The answer's JSON, or: unreachable (no member answered in time; the
    // detail names each endpoint and why), malformed (an answer that is not JSON or too big),
    // not_found (etcd's NOT_FOUND, e.g. a lease that ended), io_error (etcd refused the
    // request otherwise; its message in the detail).
    [[nodiscard]] Result<Json> call(std::string_view path, const Json& body);
    [[nodiscard]] const EtcdOptions& options() const { return options_; }

private:
    explicit EtcdClient(const EtcdOptions& options);
    struct Attempt;
    void run();
    [[nodiscard]] Attempt attempt(const std::string& endpoint, std::string_view path,
                                  const std::string& body, Duration limit);

    EtcdOptions options_;
    void* curl_ = nullptr;     // CURL*: used by the worker only.
    std::size_t current_ = 0;  // The endpoint that answered last (worker only).
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Work> queue_;
    bool stopping_ = false;
    Work last_;                          // Run once by the worker after the queue (stop).
    std::atomic<bool> refusing_{false};  // Calls fail closed: stopping, before `last`.
    Duration tick_every_ = Duration::zero();
    std::function<void(EtcdClient&)> tick_;
    std::thread worker_;
};

// Worker thread: grants a lease of `ttl` (rounded up to whole seconds, at least 1) and returns
// its ID. EtcdClient::call's errors; malformed when the answer has no ID.
[[nodiscard]] Result<std::int64_t> grant_lease(EtcdClient& etcd, Duration ttl);
// Worker thread: revokes `lease` (its keys go at once) unless it is 0, and sets it to 0. Used
// at stop: the answer is not waited for beyond the call's timeout.
void revoke_lease(EtcdClient& etcd, std::int64_t& lease);

}  // namespace herald::runtime::coord
