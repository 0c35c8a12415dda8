// The node admin service's messages: what `herald status` and `herald send URL/NAME` ask a
// heraldd, and what it answers. Bodies are MessagePack maps (so any language can ask), sent as
// ordinary direct messages to the well-known pid <node>.1; the answer goes back to the sender.
// Layer: apps (shared by heraldd and the herald CLI). docs/cli.md describes the exchange.
#pragma once

#include <cstdint>
#include <map>
#include <msgpack.hpp>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/result.h"

namespace herald::admin {

// Well-known local ids of heraldd's built-in services (stable across restarts, so
// "<node>.2@udp://..." keeps naming the echo service). 3 is reserved for the RPC counter.
inline constexpr std::uint64_t admin_local_id = 1;
inline constexpr std::uint64_t echo_local_id = 2;
inline constexpr std::uint64_t counter_local_id = 3;
inline constexpr const char* admin_name = "node";
inline constexpr const char* echo_name = "echo";

// The admin service of the node `node`.
[[nodiscard]] constexpr Pid admin_pid(NodeId node) {
    return Pid{node, admin_local_id};
}

// Every admin body carries this marker (set by encode), so that a stray message, which
// decodes with the default 0, is told apart from a request.
inline constexpr std::uint32_t protocol_version = 1;

// op: "status", "whereis" (with `name`), or a mailbox op of the daemon's node (docs/admin.md):
// "mailbox_create" (name, durability, capacity_messages, capacity_bytes, restricted; board,
// retain_ms for a bulletin board),
// "mailbox_destroy" (name), "mailbox_list", "mailbox_grant" (name, who, rights); a name op of
// the name service, through the daemon's node (docs/naming.md): "name_register" (name, who =
// the owner pid, lease_ms), "name_lookup" (name), "name_unregister" (name: the owner must be
// a process of the daemon's node), "name_list" (name = the prefix); a group op of the group
// service, through the daemon's node (docs/groups.md): "group_create" (name, closed, order),
// "group_join" / "group_leave" (name: a member process the daemon keeps per group joins or
// leaves), "group_send" (name, body, reliability, timeout_ms, atomicity), "group_view" (name),
// "group_ls", "group_delete" (name), "group_views" (name), "group_recv" (name, count,
// timeout_ms: the multicasts the daemon's member of the group received). `id` is chosen by the
// asker and echoed back.
struct Request {
    std::uint32_t herald_admin = 0;
    std::string op;
    std::uint64_t id = 0;
    std::string name;
    std::string durability = "transient";  // "transient" or "persistent".
    std::uint32_t capacity_messages = 1024;
    std::uint64_t capacity_bytes = 16u << 20;
    bool restricted = false;
    std::string who;                  // A pid, "<node hex>.0" (that node's processes) or "*".
    std::string rights = "all";       // "none", "send", "receive" or "all".
    std::int64_t lease_ms = 0;        // name_register: the lease (0: the default, 30 s).
    bool closed = false;              // group_create: only members may multicast.
    std::string body;                 // group_send: the multicast's body (text).
    std::string reliability = "all";  // group_send: "0", a count k, or "all".
    std::int64_t timeout_ms = 0;      // group_send: 0: the default, 5 s. group_recv: the wait.
    std::uint32_t count = 0;          // group_recv: at most this many messages (0: 64).
    // group_create: "fifo" (also when empty), "sequencer", "abcast", "cbcast" or "absolute".
    std::string order;
    std::string url;  // migrate: the node to move the process `who` to.
    // group_create: "hosts" (also when empty), "broadcast", "multicast" (the server picks the
    // group) or "multicast:239.1.2.3:7500" (herald::parse_group_address; docs/groups.md G22).
    std::string address;
    // group_send: "none" (also when empty), "atomic" or "ft-atomic" (herald::parse_atomicity;
    // docs/groups.md G23); atomic sends need reliability "0".
    std::string atomicity;
    // mailbox_create: a bulletin board (docs/boards.md): capacity_messages is its retention by
    // count, retain_ms its retention by age (0: none).
    bool board = false;
    std::int64_t retain_ms = 0;
    // group_send: empty for a plain multicast; "first", "all" or a count k >= 1 for a request
    // multicast that collects that many answers (docs/groups.md G24), only from the pids in
    // `from` when it is not empty (selective). reliability does not apply then.
    std::string collect;
    std::vector<std::string> from;
    // group_recv: when not empty, the daemon's member answers every request it takes with it.
    std::string answer;
    MSGPACK_DEFINE_MAP(herald_admin, op, id, name, durability, capacity_messages, capacity_bytes,
                       restricted, who, rights, lease_ms, closed, body, reliability, timeout_ms,
                       order, count, url, address, atomicity, board, retain_ms, collect, from,
                       answer)
};

struct MailboxEntry {
    std::string name;
    std::string durability;
    std::uint32_t capacity_messages = 0;
    std::uint64_t capacity_bytes = 0;
    std::uint32_t messages = 0;  // Queued, leased and being written.
    std::uint64_t bytes = 0;
    std::uint32_t queued = 0;
    std::uint32_t leased = 0;
    std::uint32_t waiters = 0;
    bool restricted = false;
    std::string owner;  // A pid, or "" for the node itself.
    std::uint32_t grants = 0;
    bool board = false;           // A bulletin board (docs/boards.md).
    std::uint64_t retain_ms = 0;  // Board: retention by age (0: none).
    std::uint32_t readers = 0;    // Board: reader cursors.
    std::uint64_t first_seq = 0;  // Board: oldest retained post (0: none).
    std::uint64_t next_seq = 0;   // Board: the next post's seq.
    MSGPACK_DEFINE_MAP(name, durability, capacity_messages, capacity_bytes, messages, bytes, queued,
                       leased, waiters, restricted, owner, grants, board, retain_ms, readers,
                       first_seq, next_seq)
};

struct ProcessInfo {
    std::string pid;      // "<node>.<local>"
    std::string name;     // Registered name ("" when none).
    std::string service;  // What it does: "admin", "echo".
    std::string buffering;
    std::uint32_t queue_limit = 0;
    std::uint64_t handled = 0;         // Messages it has taken from its inbox.
    std::uint64_t replies_failed = 0;  // Replies whose send failed (sender gone, timeout).
    std::uint64_t queued = 0;          // Messages in its inbox when asked.
    MSGPACK_DEFINE_MAP(pid, name, service, buffering, queue_limit, handled, replies_failed, queued)
};

// One name of the name service, as name_lookup and name_list answer it.
struct NameRecord {
    std::string name;
    std::string owner;          // "<node>.<local>"
    std::int64_t lease_ms = 0;  // Time left until it expires unless renewed.
    MSGPACK_DEFINE_MAP(name, owner, lease_ms)
};

// One group view, as the group_* ops answer it.
struct GroupRecord {
    std::string name;
    std::uint64_t view_id = 0;
    bool closed = false;
    std::vector<std::string> members;  // Pids "<node>.<local>", sorted.
    std::string order;                 // The group's ordering (herald::order_name).
    std::string address;               // Its address (herald::to_string(GroupAddress)).
    // group_send with collect: the addressed members that left the view while it waited.
    std::vector<std::string> departed;
    bool timed_out = false;  // group_send with collect: the answers are a partial result.
    MSGPACK_DEFINE_MAP(name, view_id, closed, members, order, address, departed, timed_out)
};

// One multicast the daemon's member of a group received, as group_recv answers it.
struct GroupMessageRecord {
    std::string group;
    std::string sender;  // "<node>.<local>"
    std::uint64_t view_id = 0;
    std::uint64_t message_id = 0;
    std::vector<std::uint8_t> body;  // MessagePack bin.
    bool request = false;            // A request multicast (docs/groups.md G24).
    bool answered = false;           // group_recv with `answer`: the member answered it.
    MSGPACK_DEFINE_MAP(group, sender, view_id, message_id, body, request, answered)
};

// The answer to any request. `error` is empty on success, otherwise an Errc name
// ("not_found", "invalid_argument", "malformed") with `detail`.
struct Reply {
    std::uint32_t herald_admin = 0;
    std::uint64_t id = 0;
    std::string error;
    std::string detail;
    // whereis: the pid found; spawn: the new worker's pid; migrate: the pid moved.
    std::string pid;
    // status: this node's id; migrate: the node the process moved to.
    std::string node;
    std::uint32_t incarnation = 0;
    std::string listen;
    std::string version;
    std::uint64_t uptime_ms = 0;
    std::string faults;
    std::vector<ProcessInfo> processes;
    std::map<std::string, std::uint64_t> counters;
    // mailbox_list (and every mailbox op): the node's mailboxes after the op.
    std::vector<MailboxEntry> mailboxes;
    // name_lookup: the one name; name_list: the names (at most 256, in name order).
    std::vector<NameRecord> names;
    // group_create, group_join, group_leave, group_view: the view after the op; group_ls: the
    // server's groups (name only). group_send: the view it was addressed with (members: the
    // responders, in the order they responded). group_join/leave/send: `pid` is the daemon's
    // process that joined, left or sent. group_delete: the name. group_views: the views the
    // daemon's member received, oldest first (or the current view alone without a member).
    std::vector<GroupRecord> groups;
    // group_recv: the multicasts taken, in arrival order (`pid`: the daemon's member; counters
    // "group_recv_dropped": messages dropped unread since the member joined). group_send with
    // collect: the answers (sender: the member; message_id 0), in arrival order, and groups[0]
    // is the view addressed (members: the members addressed), with departed and timed_out.
    std::vector<GroupMessageRecord> group_messages;
    MSGPACK_DEFINE_MAP(herald_admin, id, error, detail, pid, node, incarnation, listen, version,
                       uptime_ms, faults, processes, counters, mailboxes, names, groups,
                       group_messages)
};

// Encoding and decoding. decode_*: Errc::malformed when the body is not an admin message of
// this protocol version (detail says why).
[[nodiscard]] Result<Bytes> encode(Request request);
[[nodiscard]] Result<Bytes> encode(Reply reply);
[[nodiscard]] Result<Request> decode_request(ByteView body);
[[nodiscard]] Result<Reply> decode_reply(ByteView body);

}  // namespace herald::admin
