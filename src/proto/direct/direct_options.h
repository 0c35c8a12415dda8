// Options and per-send / per-process choices of the direct engine. Layer: proto/direct.
#pragma once

#include <cstdint>

#include "core/time.h"

namespace herald::proto::direct {

// When a send completes (the lecture's blocking-send variants).
enum class SendMode : std::uint8_t {
    nonblocking,  // Completes as soon as the engine has taken the message (handed to system).
    accepted,     // Completes when the destination node has accepted it (acked).
    delivered,    // Completes when it is in the destination process's queue.
};

// What a send does when the destination's buffers are full (flow control says no room).
enum class OnFull : std::uint8_t {
    block,   // Wait (until the deadline) for a free slot; the op completes later.
    fail,    // Complete at once with Errc::queue_full; the message is dropped.
    buffer,  // Keep it in the sender's bounded channel buffer; queue_full if that is full too.
};

// The lecture's buffering strategies, chosen per receiving process.
enum class Buffering : std::uint8_t {
    send_after_receive,  // No buffer: data moves only once the receiver executes receive.
    send_discard_retry,  // No buffer: a receiver not waiting discards; the sender retries.
    single,              // One slot at the receiver.
    multiple,            // `queue_limit` slots at the receiver, with credit-based flow control.
};

struct ProcessOptions {
    Buffering buffering = Buffering::multiple;
    std::uint32_t queue_limit = 1024;  // Slots for `multiple`; `single` forces 1.
};

struct SendOptions {
    SendMode mode = SendMode::accepted;
    OnFull on_full = OnFull::block;
    Time deadline = Time::max();  // The op fails with Errc::timeout at this time.
};

// Deliberate bugs, for proving that the simulator's checkers catch a broken engine.
// Only tests set these; every field defaults to the correct behaviour.
struct Mutations {
    bool skip_duplicate_check = false;  // Deliver retransmitted duplicates again.
    bool skip_reorder_buffer = false;   // Deliver packets in arrival order, not seq order.
    bool never_retransmit = false;      // Send each packet once; losses become lost messages.
    bool complete_before_ack = false;   // Report accepted/delivered before the receiver acked.
};

struct DirectOptions {
    Duration retransmit_initial = Duration::milliseconds(20);
    Duration retransmit_max = Duration::milliseconds(1000);
    // Unacked packets in flight per channel. With acks once per loop batch, 64 capped a 64 B
    // stream on loopback at about half of what 256 reaches (issue 7); the receiver's credit
    // (its queue_limit) bounds it as well.
    std::uint32_t window_messages = 256;
    std::uint32_t channel_buffer_max = 4096;       // Sender-side queued messages per channel.
    std::uint32_t channels_max = 100'000;          // Live channels per node (both directions).
    Duration peer_timeout = Duration::seconds(5);  // Silence that makes a node unreachable.
    // New data to a node silent this long waits for a hello round trip first, so that a node
    // that restarted meanwhile gets it as new data instead of failing it as peer_restarted.
    Duration peer_revalidate = Duration::seconds(1);
    Duration channel_idle = Duration::seconds(30);  // Idle, fully acked channels are freed.
    // Peer records (a node's incarnation and body limit; freed channel_idle after it was last
    // heard when nothing uses it). At this many, a hello or hello_reply from a node without a
    // record is answered without making one (issue 21: made-up nodes' hellos grew them without
    // bound within channel_idle; 192 bytes each); other packets still make one.
    std::uint32_t hello_peers_max = 16'384;
    std::uint32_t body_bytes_max = 16u << 20;  // Larger messages fail with too_large.
    // Acks are cumulative (rule 5): of the acks one channel would send within a driver's batch,
    // the last says all the others say. With this on, the engine holds each channel's latest
    // plain ack and sends it at on_batch_end (one ack per channel per batch); drivers that
    // never end batches (unit tests) keep it off. At most acks_held_max channels are held;
    // past that, acks go out at once.
    bool coalesce_acks = false;
    std::uint32_t acks_held_max = 4096;
    // Pings waiting for their hello_reply; more fail with queue_full.
    std::uint32_t pings_max = 4096;
    // The first epoch this engine hands out; 0 (the default) draws it from `random`. Tests and
    // the simulator start just below 2^32 so that epochs cross the wrap of their serial-number
    // comparison (docs/direct.md rule 2) within a few channels.
    std::uint32_t epoch_first = 0;
    // Migration (docs/migration.md). Forwarding entries this node keeps for processes that
    // left it; a migration away from here while forwards_max are held (or pending) fails
    // with queue_full. An entry lives forward_ttl after its last use, then data for the pid
    // is answered no_such_process.
    std::uint32_t forwards_max = 4096;
    Duration forward_ttl = Duration::seconds(600);
    // Migrations into this node waiting for the origin's decision; more are refused
    // queue_full. One waits at most migrate_hold for the decision, then is dropped (the
    // origin always answers while its forwarding entry lives, so keep forward_ttl longer).
    std::uint32_t migrations_max = 64;
    Duration migrate_hold = Duration::seconds(60);
    // A migration from here that has no answer after this fails with unreachable.
    Duration migrate_timeout = Duration::seconds(5);
    // Learned locations of migrated pids (for new channels); the oldest goes when full.
    std::uint32_t locations_max = 4096;
    Mutations mutations;
};

}  // namespace herald::proto::direct
