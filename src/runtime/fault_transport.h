// FaultTransport: with_faults() wraps a transport and, driven by a seeded Random, drops,
// duplicates, reorders and delays the datagrams it is asked to send (Aeron's loss
// interceptors). Layer: runtime. The declarations users need are in transport.h; this header
// names the knobs the implementation fixes.
#pragma once

#include <chrono>
#include <cstddef>

#include "runtime/transport.h"

namespace herald::runtime {

// Datagrams (and their bytes) held back at once, delayed or reordered; beyond either bound
// sends are dropped and counted in send_dropped, like a full socket.
constexpr std::size_t fault_held_max = 65'536;
constexpr std::size_t fault_held_bytes_max = 64u << 20;
// A reordered datagram goes out right after the next datagram that is not held back, or after
// this long when no other datagram follows.
constexpr std::chrono::microseconds fault_reorder_hold{1000};
// parse_fault_options accepts delay_us up to this (10 s): larger is surely a typo.
constexpr std::uint32_t fault_delay_us_limit = 10'000'000;

}  // namespace herald::runtime
