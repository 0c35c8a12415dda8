// The pure state of the mailbox engine: the mailboxes this node hosts (messages, leases,
// waiting receives), the answers it remembers, and the requests it has outstanding as a client.
// Layer: proto/mailbox. No behaviour here; mailbox_engine.cpp and mailbox_host.cpp change it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <variant>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"
#include "proto/effects.h"
#include "proto/mailbox/mailbox_messages.h"
#include "proto/mailbox/node_pool.h"

namespace herald::proto::mailbox {

enum class Durability : std::uint8_t { transient, persistent };

// A map whose nodes come from a NodePool of the engine (a map built without one uses the heap).
template <class Key, class Value, class Less = std::less<Key>>
using PooledMap = std::map<Key, Value, Less, PoolAllocator<std::pair<const Key, Value>>>;

// The freed nodes each of the engine's pools keeps for reuse (NodePool's bound): enough for
// two commits' worth of a window of 256 sends in flight, at most a few hundred KiB a pool.
inline constexpr std::size_t node_pool_kept_max = 1024;

// A message in a mailbox. `deliveries` counts hand-outs in this incarnation; `maybe_seen` is
// set when it may have reached a receiver before (a lease ended, or it was restored).
struct Entry {
    StoredMessage message;
    std::uint32_t deliveries = 0;
    bool maybe_seen = false;
};

using QueuedMap = PooledMap<std::uint64_t, Entry>;

struct Lease {
    std::uint64_t seq = 0;
    Entry entry;
    Time until;
    bool acking = false;  // The ack's durable write is under way: the lease cannot end.
};

// A receive the host could not answer yet.
// Selective (`from` known: only that sender's messages; local 0: any process of that node) and
// peeking (`peek`: the first message after seq `after`, answered without taking it).
struct Waiter {
    Pid receiver;
    std::uint32_t incarnation = 0;
    std::uint64_t request = 0;
    Time until;
    Pid from;
    bool peek = false;
    std::uint64_t after = 0;
    std::uint64_t board_from = 0;   // A board read (docs/boards.md): its seq, 0: the cursor.
    std::uint32_t board_count = 0;  // A board read: at most this many posts; 0: not a read.
};

struct Mailbox {
    Durability durability = Durability::transient;
    std::uint32_t capacity_messages = 0;
    std::uint64_t capacity_bytes = 0;
    bool ready = true;                       // False while a persistent create is not yet durable.
    Pid owner;                               // Every right; invalid: only the host node.
    std::uint8_t everyone = rights::all;     // Rights of any pid (restricted: none).
    std::map<Grantee, std::uint8_t> grants;  // Rights of a pid, or of a node's processes.
    // Persistent grants being written: the rights as the last of them leaves them (a grant
    // builds on these); each takes effect when its write is durable, in order.
    std::uint32_t grants_writing = 0;
    std::uint8_t staged_everyone = 0;
    std::map<Grantee, std::uint8_t> staged_grants;
    QueuedMap queued;                        // By seq: FIFO, redeliveries keep their place.
    PooledMap<std::uint64_t, Lease> leased;  // By delivery tag.
    std::deque<Waiter> waiters;              // In arrival order (first come, first served).
    std::uint32_t messages = 0;              // queued + leased + being written.
    std::uint64_t bytes = 0;
    std::uint64_t next_seq = 1;
    // A bulletin board (docs/boards.md): posts are copied to readers, never taken; each reader
    // pid has a cursor. `messages` and `bytes` count posts and posts being written.
    bool board = false;
    Duration retain_age;                       // Zero: no age limit.
    std::map<std::uint64_t, BoardPost> posts;  // Retained, by seq.
    std::set<std::uint64_t> posting;           // Seqs being written: later ones wait (B5).
    std::map<Pid, std::uint64_t> cursors;      // Reader -> the next seq it reads.
    std::uint64_t evicted = 0;                 // Every seq <= this is gone (B3).
};

// A request is known to the host by (client node, client incarnation, client pid's local id,
// request id): ordered so that one pid's answers are a range (M24 frees them below its floor).
using RequestKey = std::tuple<std::uint64_t, std::uint32_t, std::uint64_t, std::uint64_t>;

// A client pid, as the host knows it: (node, incarnation, local id).
using ClientKey = std::tuple<std::uint64_t, std::uint32_t, std::uint64_t>;

// The highest floor a client pid sent (M24): every receive and ack of it below `floor` is
// finished. Forgotten `answer_retention` after the pid's last request that carried one.
struct ClientFloor {
    std::uint64_t floor = 0;
    Time expires;
};

// An answer the host gave, repeated when the request comes again; `packet` unset (kind send
// with id 0) while the request is still being worked on (waiting or being written).
struct Answer {
    MailboxPacket packet;
    bool done = false;
    Time expires;
};

// What a message id is doing on the host: being written, stored, acknowledged (a tombstone),
// or refused (with `reason`: a late duplicate of a refused send must not be stored, M4).
struct Seen {
    enum class State : std::uint8_t { writing, stored, acked, refused } state = State::writing;
    Errc reason = Errc::ok;
    bool durable = false;     // Its record or tombstone is in the store.
    std::uint64_t order = 0;  // Insertion order, for eviction of the oldest tombstones.
    std::uint64_t seq = 0;    // A board post's seq, repeated in a repeated accept (B2).
};
using SeenKey = std::pair<std::uint64_t, std::uint64_t>;  // (sender node, message id).

// A durable write in flight and what waits on it.
struct WriteStore {  // A sent message: accept it once durable.
    std::string mailbox;
    std::uint64_t seq = 0;
    MailboxPacket answer;
    Entry entry;
    OperationId answers = 0;  // A local send's operation: its outcome is this write's (M6).
};
struct WriteAck {  // An acknowledged message: erase it, keep a tombstone.
    std::string mailbox;
    std::uint64_t tag = 0;
    RequestKey request;
    MailboxPacket answer;
};
struct WriteControl {  // create / destroy / grant of a persistent mailbox.
    enum class What : std::uint8_t { create, destroy, grant };
    OperationId op = 0;
    std::string mailbox;
    What what = What::create;
    std::uint8_t everyone = 0;  // Grant: the rights to apply once durable.
    std::map<Grantee, std::uint8_t> grants;
};
struct WritePost {  // A board post: accept it and make it readable once durable.
    std::string board;
    MailboxPacket answer;
    BoardPost post;
};
struct WriteCursor {  // A board read's new cursor: answer the read once durable.
    std::string board;
    RequestKey request;
    MailboxPacket answer;
    Pid reader;
    std::uint64_t before = 0;  // The cursor to go back to if the write fails.
    std::uint64_t after = 0;
};
using PendingWrite = std::variant<WriteStore, WriteAck, WriteControl, WritePost, WriteCursor>;

// A request this node sent as a client, retransmitted until answered or timed out.
struct Outstanding {
    OperationId op = 0;
    NodeId host;
    MailboxPacket request;
    Time deadline;
    Time retransmit_at;
    Time first_sent;
    // A send to this node whose write is under way: it completes with the write (M6), not by
    // a timeout, and is not retransmitted (the host drops repeats while it writes, M4).
    bool writing = false;
};

}  // namespace herald::proto::mailbox
