// When a send returns and what it does when the receiver has no room: the lecture's
// blocking-send variants, shared by direct sends (herald/process.h) and mailbox sends
// (herald/mailbox.h). Public API; docs/api.md.
#pragma once

#include <chrono>
#include <cstdint>

namespace herald {

// A timeout that never expires.
inline constexpr std::chrono::nanoseconds forever = std::chrono::nanoseconds::max();

// When a blocking send returns (the lecture's blocking-send variants).
enum class SendMode : std::uint8_t {
    nonblocking,  // As soon as the node has taken the message (handed to the system).
    accepted,     // When the destination node has acknowledged it.
    delivered,    // When it is in the destination process's inbox.
};

// What a send does when the receiver has no free buffer (flow control says no room).
enum class OnFull : std::uint8_t {
    block,   // Wait for a free slot until the send's timeout.
    fail,    // Fail at once with Errc::queue_full; the message is dropped.
    buffer,  // Keep it in the sender's bounded buffer (Errc::queue_full when that is full too).
};

struct SendOptions {
    SendMode mode = SendMode::accepted;
    OnFull on_full = OnFull::block;
    std::chrono::nanoseconds timeout = std::chrono::seconds(10);  // `forever` never expires.
};

}  // namespace herald
