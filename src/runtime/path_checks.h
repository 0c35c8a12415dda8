// PathChecks: when a known node's packets come from another address, without a cluster key.
// Layer: runtime (docs/security.md, "Address changes"; issue 21 item 1). Loop thread.
//
// Without a key any packet can carry any node id, so the address a node answers at must not
// follow the last packet that named it: an attacker at its own address would take over where
// a live client's replies go. Instead, a packet of node N from an address A1 other than the
// known A0 is dropped and starts a check: a `hello` with a random cookie goes to A0 and another
// to A1. The move is made only when A1 echoed its cookie (return routability: the claimant
// receives at A1, as in QUIC's address validation) and A0 did not echo its cookie within
// `old_silence` (a live node is never displaced). While a check runs, and for `refuse_for`
// after A0 proved alive, N's packets from A1 are dropped. Packets of N from A0 go on as usual.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "core/ids.h"
#include "core/time.h"
#include "runtime/transport.h"

namespace herald::runtime {

class PathChecks {
public:
    struct Options {
        Duration old_silence = Duration::seconds(1);    // A0 silent this long: it is gone.
        Duration resend = Duration::milliseconds(250);  // Cookies go again after this.
        Duration refuse_for = Duration::seconds(10);    // A refused claimant is not rechecked.
        std::size_t checks_max = 1024;                  // Beyond: dropped without a check.
    };
    // A hello with `cookie` to send to `to` (as this node, to node `node`).
    struct Challenge {
        NodeId node;
        Endpoint to;
        std::uint64_t cookie = 0;
    };
    enum class Verdict : std::uint8_t { move, drop };

    PathChecks() = default;
    explicit PathChecks(Options options) : options_(options) {}

    // A packet of `node` came from `from`; the peer table has it at `known` (!= from). `fresh`
    // gives random cookies. Adds the challenges to send to `out`.
    template <class Fresh>
    Verdict on_moved(NodeId node, const Endpoint& from, const Endpoint& known, Time now,
                     Fresh&& fresh, std::vector<Challenge>& out) {
        return moved(
            node, from, known, now, [&] { return fresh() | cookie_bit; }, out);
    }
    // A hello_reply of `node` from `from` echoing `seq`: a cookie's answer, or nothing.
    // True when `seq` was one of the checks' cookies.
    bool on_reply(NodeId node, const Endpoint& from, std::uint64_t seq, Time now);

    struct Counters {
        std::uint64_t started = 0;  // Checks begun.
        std::uint64_t moved = 0;    // Address changes made after a check.
        std::uint64_t refused = 0;  // Checks that found the old address alive.
        std::uint64_t dropped = 0;  // Packets dropped from an address not (yet) accepted.
    };
    [[nodiscard]] Counters counters() const { return counters_; }
    [[nodiscard]] std::size_t size() const { return checks_.size(); }
    // Estimated heap bytes of the checks (core/memory.h).
    [[nodiscard]] std::size_t memory_bytes() const;

    // Cookies have the top bit set, so that they never collide with the direct engine's ping
    // nonces (which count from 1).
    static constexpr std::uint64_t cookie_bit = std::uint64_t{1} << 63;

private:
    struct Check {
        Endpoint claimed;  // A1.
        Endpoint known;    // A0 when the check began.
        std::uint64_t cookie_new = 0, cookie_old = 0;
        Time started, sent;
        bool new_confirmed = false;
        bool old_alive = false;
        Time refused_at = Time::max();
    };
    template <class Fresh>
    Verdict moved(NodeId node, const Endpoint& from, const Endpoint& known, Time now, Fresh&& fresh,
                  std::vector<Challenge>& out) {
        if (now - swept_ >= options_.resend) sweep(now);
        auto it = checks_.find(node);
        if (it == checks_.end()) {
            if (checks_.size() >= options_.checks_max) return drop();
            Check check{from, known, fresh(), fresh(), now, now};
            it = checks_.emplace(node, check).first;
            ++counters_.started;
            challenge(node, it->second, out);
            return drop();
        }
        Check& check = it->second;
        if (check.claimed != from || check.old_alive) return drop();
        if (check.new_confirmed && now - check.started >= options_.old_silence) {
            checks_.erase(it);
            ++counters_.moved;
            return Verdict::move;
        }
        if (now - check.sent >= options_.resend) {
            check.sent = now;
            challenge(node, check, out);
        }
        return drop();
    }
    Verdict drop() {
        ++counters_.dropped;
        return Verdict::drop;
    }
    static void challenge(NodeId node, const Check& check, std::vector<Challenge>& out);
    // Drops checks older than refuse_for (from their start, or from the refusal).
    void sweep(Time now);

    Options options_;
    Time swept_;
    std::map<NodeId, Check> checks_;
    Counters counters_;
};

}  // namespace herald::runtime
