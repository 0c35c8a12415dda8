// Options and counters of the mailbox engine (docs/mailboxes.md). Layer: proto/mailbox.
#pragma once

#include <cstdint>

#include "core/time.h"

namespace herald::proto::mailbox {

// Deliberate bugs, for proving that the simulator's checkers catch a broken engine.
// Only tests set these; every field defaults to the correct behaviour.
struct MailboxMutations {
    bool board_cursor_stays = false;       // A board read does not advance the reader's cursor.
    bool board_missed_unreported = false;  // A board read reports missed 0 (evictions unsaid).
};

struct MailboxOptions {
    // A request not answered is sent again after this long (datagrams get lost).
    Duration retransmit_interval = Duration::milliseconds(200);
    // A send or ack not answered within this long completes with Errc::timeout. A receive
    // gets this long on top of its wait.
    Duration request_timeout = Duration::seconds(5);
    // A persistent message handed to a receiver returns to the mailbox, marked as a
    // redelivery, when the receiver has not acknowledged it within this long.
    Duration lease = Duration::seconds(5);
    // How long the host keeps an answer to repeat it for a retransmitted request; longer
    // than request_timeout so a request the client still retries is never run twice.
    Duration answer_retention = Duration::seconds(10);
    // The longest a datagram may live in the network (delay, duplicates). For this long after
    // a restart a transient mailbox refuses sends it does not know with peer_restarted (M17).
    Duration packet_lifetime = Duration::seconds(3);
    // The engine's single timer runs at this period while anything is pending.
    Duration tick = Duration::milliseconds(50);
    std::uint32_t wait_ms_max = 60'000;
    std::uint32_t mailboxes_max = 1024;
    std::uint32_t requests_max = 4096;  // Client requests outstanding on this node.
    std::uint32_t answers_max = 8192;   // Remembered answers and waiting receives (host).
    std::uint32_t seen_max = 65536;     // Message ids remembered for duplicate suppression.
    std::uint32_t name_bytes_max = 64;
    std::uint32_t body_bytes_max = 1 << 20;
    // Bulletin boards (docs/boards.md, B10).
    std::uint32_t board_count_max = 1024;                          // Posts one read may ask for.
    std::uint32_t board_readers_max = 1024;                        // Reader cursors per board.
    std::uint32_t board_retain_messages_max = 1 << 20;             // Largest retention by count.
    std::uint64_t board_retain_ms_max = 30ull * 24 * 3600 * 1000;  // Longest by age: 30 days.
    MailboxMutations mutations;
};

struct MailboxCounters {
    std::uint64_t packets_sent = 0;
    std::uint64_t retransmits = 0;
    std::uint64_t duplicates_dropped = 0;
    std::uint64_t malformed_dropped = 0;
    std::uint64_t accepted = 0;         // Messages stored in a mailbox (host).
    std::uint64_t duplicate_sends = 0;  // Sends suppressed by message id (host).
    std::uint64_t delivered = 0;        // Messages handed to receivers (host).
    std::uint64_t redelivered = 0;      // Leases that ended without an ack (host).
    std::uint64_t acknowledged = 0;     // Persistent messages acknowledged (host).
    std::uint64_t discarded = 0;        // Transient messages lost (destroy, never received).
    std::uint64_t refused_full = 0;     // Sends refused with queue_full (host).
    std::uint64_t storage_errors = 0;   // Durable writes that failed.
    std::uint64_t bad_records = 0;      // Stored records that did not decode (on_restore).
    std::uint64_t board_posts = 0;      // Posts accepted by boards (host; also in accepted).
    std::uint64_t board_evicted = 0;    // Posts dropped by a board's retention (host).
    std::uint64_t board_reads = 0;      // Board reads answered with posts (host).
    // Persistent sends whose record was encoded into a buffer the driver kept
    // (Effects::record_value; docs/mailboxes.md M15). Always 0 in the simulator.
    std::uint64_t records_in_kept_buffers = 0;
};

}  // namespace herald::proto::mailbox
