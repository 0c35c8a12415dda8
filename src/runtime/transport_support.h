// Small pieces shared by the transports: counters readable from any thread, and a token that
// lets queued Asio handlers notice that their transport is gone. Layer: runtime (internal).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "runtime/transport.h"

namespace herald::runtime {

// One writer (the loop thread), any reader: relaxed loads and stores, no locked instructions.
class Counter {
public:
    void add(std::uint64_t n = 1) {
        value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    [[nodiscard]] std::uint64_t get() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

struct AtomicCounters {
    Counter datagrams_sent, datagrams_received, send_dropped, send_errors, receive_errors;
    Counter receive_malformed, group_received, group_echoes;

    [[nodiscard]] Transport::Counters snapshot() const {
        Transport::Counters out;
        out.datagrams_sent = datagrams_sent.get();
        out.datagrams_received = datagrams_received.get();
        out.send_dropped = send_dropped.get();
        out.send_errors = send_errors.get();
        out.receive_errors = receive_errors.get();
        out.receive_malformed = receive_malformed.get();
        out.group_received = group_received.get();
        out.group_echoes = group_echoes.get();
        return out;
    }
};

// Handlers capture `watch()` with `this`; a handler that runs after its owner was destroyed
// (a completion already queued when the socket closed) finds the token expired and returns.
// Owners are destroyed on their loop thread or after it stopped, so there is no race.
class LifeToken {
public:
    [[nodiscard]] std::weak_ptr<void> watch() const { return token_; }

private:
    std::shared_ptr<int> token_ = std::make_shared<int>(0);
};

}  // namespace herald::runtime
