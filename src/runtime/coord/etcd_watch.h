// EtcdWatch: one etcd watch on a key prefix, streamed through the v3 JSON gateway (POST
// /v3/watch) with libcurl on a thread of its own, kept open across member failures: when the
// stream ends it reconnects to the next endpoint and resumes after the last revision it saw.
// Events go to a callback on the watch thread. Layer: runtime/coord (docs/coordination.md
// "Watches").
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "runtime/coord/etcd_client.h"
#include "runtime/coord/etcd_options.h"

namespace herald::runtime::coord {

struct WatchEvent {
    std::string key;  // Decoded.
    bool deleted = false;
    std::int64_t revision = 0;         // The change's mod_revision.
    std::int64_t create_revision = 0;  // The key's create_revision (0 in a delete).
    std::string value;                 // Decoded; empty in a delete.
};

class EtcdWatch {
public:
    // Called on the watch thread with each batch of changes in revision order, and the store
    // revision of the answer that carried them. `reset` is true when changes up to `revision`
    // may have been missed (the first stream of the watch, or its resume revision was
    // compacted): the receiver should treat everything under the prefix as changed.
    using Handler = std::function<void(const std::vector<WatchEvent>& events, bool reset,
                                       std::int64_t revision)>;

    // Starts watching `prefix` (every key that begins with it). Errc::invalid_argument
    // (options), io_error (libcurl). The first stream opens on the watch thread.
    [[nodiscard]] static Result<std::unique_ptr<EtcdWatch>> open(const EtcdOptions& options,
                                                                 std::string prefix,
                                                                 Handler handler);
    ~EtcdWatch();  // stop() and join.
    EtcdWatch(const EtcdWatch&) = delete;
    EtcdWatch& operator=(const EtcdWatch&) = delete;

    // Ends the stream at once (libcurl is woken) and the thread soon after. Any thread.
    void stop();

    // Counters, any thread: events handed over, streams opened (1 + reconnects), resets.
    [[nodiscard]] std::uint64_t events() const { return events_.load(); }
    [[nodiscard]] std::uint64_t streams() const { return streams_.load(); }
    [[nodiscard]] std::uint64_t resets() const { return resets_.load(); }

private:
    EtcdWatch(const EtcdOptions& options, std::string prefix, Handler handler);
    void run();
    // One stream at `endpoint` until it ends, fails or stop(); true when it got any answer.
    bool stream(const std::string& endpoint);
    // Takes the complete lines of `buffer_` (each one JSON watch response).
    void take_lines();
    void take_response(const Json& response);

    EtcdOptions options_;
    std::string prefix_;
    Handler handler_;
    std::int64_t next_revision_ = 0;  // Resume here (0: from now). Watch thread.
    bool reset_pending_ = true;       // The next created stream reports a reset. Watch thread.
    bool canceled_ = false;           // The current stream was canceled by etcd. Watch thread.
    std::string buffer_;              // Unparsed bytes of the stream. Watch thread.
    std::mutex mutex_;                // Guards multi_ against stop() from other threads.
    void* multi_ = nullptr;           // CURLM* of the current stream, or null.
    std::atomic<bool> stopping_{false};
    std::atomic<std::uint64_t> events_{0}, streams_{0}, resets_{0};
    std::thread thread_;
};

}  // namespace herald::runtime::coord
