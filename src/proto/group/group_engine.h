// GroupEngine: group communication (issue 15, first slice). Every node runs one. On the node
// named by GroupOptions::server it is also the group server (the lecture's CGS): it keeps the
// groups, their members and numbered views, durably, detects crashed members by heartbeats
// and installs each change on every node concerned, in view order. On every node it installs
// views, sends heartbeats, multicasts with a per-send reliability (0, 1, M-of-N, all) by
// host-level fan-out, and delivers multicasts to its local members.
// Layer: proto/group. Sans-I/O, single-threaded. Rules: docs/groups.md (README.md here).
#pragma once

#include <deque>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/engine.h"
#include "proto/group/group_options.h"
#include "proto/group/group_state.h"

namespace herald::proto::group {

// A multicast's reliability that waits for every member of the view.
inline constexpr std::uint32_t reliability_all = 0xFFFF'FFFF;
// The port of a multicast group the server picks (G22).
inline constexpr std::uint16_t picked_port = 7410;
// G22's pick for a multicast address left zero: the first of 239.193.0.1 .. 239.193.255.254
// (IPv6: ff12::4852:1 .. ff12::4852:fffe) not in `used`, port picked_port; when all are taken,
// the first. Any other address is returned as asked.
[[nodiscard]] GroupAddress pick_address(const GroupAddress& asked, const std::set<IpGroup>& used);

class GroupEngine final : public Engine {
public:
    // `options` must outlive the engine.
    GroupEngine(const EngineContext& context, const GroupOptions& options);

    // Creates group `name` on the server, open or closed, with ordering mode `order`
    // (1..order_max; every view of the group carries it), view 1 and no members.
    // Completes `op` with encode_view(view 1) once durable, or: invalid_argument (name or
    // order), already_exists, queue_full (groups_max on the server, or requests_max here),
    // timeout (no answer within request_timeout: it may exist).
    // `address`: the group's low-level address (G22; hosts: one packet per member node).
    // invalid_argument also for a multicast address that is not a multicast group with a port
    // (a zero address and port let the server pick one).
    void on_create(OperationId op, Pid requester, std::string_view name, bool closed,
                   std::uint8_t order, const GroupAddress& address, Time now, Effects& out);
    void on_create(OperationId op, Pid requester, std::string_view name, bool closed,
                   std::uint8_t order, Time now, Effects& out) {
        on_create(op, requester, name, closed, order, GroupAddress{}, now, out);
    }
    // The same, fifo.
    void on_create(OperationId op, Pid requester, std::string_view name, bool closed, Time now,
                   Effects& out) {
        on_create(op, requester, name, closed, order_fifo, now, out);
    }
    // Adds `member` (a process of this node) to group `name`. Completes `op` with the view
    // that added it (encode_view) once durable, or the current view if it already was a
    // member; or: invalid_argument, not_found (no such group), queue_full (members_max, or
    // requests_max here), timeout (the server did not answer; the join may have happened).
    void on_join(OperationId op, Pid member, std::string_view name, Time now, Effects& out);
    // Removes `member` from group `name`: completes `op` with the view without it, or:
    // not_found (no such group or not a member), invalid_argument, queue_full, timeout.
    void on_leave(OperationId op, Pid member, std::string_view name, Time now, Effects& out);
    // Deletes group `name` (G21): the server makes a final view without members, tells every
    // node that hosts members to drop the group (their members get a deleted envelope, their
    // multicasts to it fail not_found) and erases its record. Completes `op` with an empty
    // body once the group is gone (every node concerned dropped it or was taken for crashed,
    // and the erase is durable), or: invalid_argument, not_found (no such group), queue_full
    // (requests_max here), timeout (no answer within request_timeout: it may be deleted).
    void on_delete(OperationId op, Pid requester, std::string_view name, Time now, Effects& out);
    // Looks up the current view of `name` at the server (G8) for `requester` (a process of
    // this node): completes `op` with encode_view(view), or invalid_argument, not_found,
    // access_denied (closed group, requester not a member), queue_full, timeout.
    void on_lookup(OperationId op, Pid requester, std::string_view name, Time now, Effects& out);
    // Multicasts `body` from local process `sender` to the members of group `name`, by one
    // group_data packet per node that hosts members, or (a multicast or broadcast group, G22)
    // one to the group's address for the other nodes. `reliability`: 0 completes `op` at once
    // (sent once, no response); k completes when k distinct members received it
    // (reliability_all: every member of the view used). Completes with
    // encode_responders(...), or: invalid_argument (name, or k above the view's size),
    // too_large, would_block (multicasts_max outstanding), not_found (no such group),
    // access_denied (a closed group and `sender` is not a member), timeout (after `timeout`;
    // detail lists the responses it got), unreachable (the view could not be looked up).
    // `reply_to` valid: a request multicast (G24): each member's delivery is a request
    // envelope naming `reply_to`, where its answer goes (the engine does not collect them);
    // `op` completes once sent, and the request is resent to the addressed members (all but
    // `sender`) that have not got it until each has or `timeout` ends.
    void on_multicast(OperationId op, Pid sender, std::string_view name, Bytes body,
                      std::uint32_t reliability, Duration timeout, Time now, Effects& out,
                      Pid reply_to = {});

    // --- Coordinated groups (GroupOptions::coordinated; docs/coordination.md C13-C15). The
    // runtime hands every group's current view over, per group in increasing view id, from
    // its backend's watch. `fresh`: the group was created again since the last view given for
    // this name (its ids start afresh). The view is installed (G10's envelopes to local
    // members) when it holds a member of this node or this node installed one of the group's
    // views before; every given view is the one multicasts from this node are addressed with.
    void on_coordinated_view(const std::string& name, const View& v, bool fresh, Effects& out);
    // The group is gone (deleted): as G21 for a node that installed its views; multicasts to
    // it fail not_found.
    void on_coordinated_delete(const std::string& name, Effects& out);

    // The view of `name` this node installed last, or nullptr. After a deletion (G21) it is
    // the group's final view, without members, until a group created again installs a view.
    [[nodiscard]] const View* installed(std::string_view name) const;
    // Whether the view installed for `name` is the final view of a deleted group (G21).
    [[nodiscard]] bool deleted(std::string_view name) const { return deleted_.contains(name); }
    // Every group's view this node installed last (those of groups it hosts or hosted
    // members of), by name: the ordering engine's view input in the runtime.
    [[nodiscard]] const std::map<std::string, View, std::less<>>& installed_views() const {
        return installed_;
    }
    // What this node installed, in order (G10, G21): every view (not only the last: ordering's
    // flush needs each view its members were in, docs/ordering.md O30) and every drop of a
    // deleted group (`dropped`, with the final view). `number` counts the events from 1; the
    // log keeps the last install_log_max, so a reader that fell further behind sees a gap in
    // the numbers and reads installed_views() instead.
    struct Installed {
        std::uint64_t number = 0;
        std::string group;
        View view;
        bool dropped = false;
    };
    static constexpr std::size_t install_log_max = 256;
    [[nodiscard]] const std::deque<Installed>& install_log() const { return install_log_; }
    // Server only: the current view of `name` (durable or not), or nullptr.
    [[nodiscard]] const View* server_view(std::string_view name) const;
    // Server only: the names of the groups it holds, in name order (empty elsewhere); not
    // those being deleted.
    [[nodiscard]] std::vector<std::string> server_groups() const {
        std::vector<std::string> names;
        names.reserve(groups_.size());
        for (const auto& entry : groups_) {
            if (!entry.second.deleted) names.push_back(entry.first);
        }
        return names;
    }
    [[nodiscard]] bool is_server() const { return self_ == options_.server; }
    [[nodiscard]] GroupCounters counters() const { return counters_; }
    // The IP multicast groups this node joined (G22): those of the installed views that hold
    // a member of this node.
    [[nodiscard]] std::vector<IpGroup> joined_groups() const {
        std::vector<IpGroup> groups;
        for (const auto& entry : joined_) groups.push_back(entry.first);
        return groups;
    }

    // --- Engine ---
    [[nodiscard]] wire::Protocol protocol() const override { return wire::Protocol::group; }
    [[nodiscard]] std::string_view store_prefix() const override { return "group/"; }
    void on_restore(std::span<const StoredRecord> records) override;
    void on_packet(NodeId from, wire::Packet& packet, Time now, Effects& out) override;
    void on_timer(TimerId timer, Time now, Effects& out) override;
    void on_durable(std::uint64_t token, const Status& status, Time now, Effects& out) override;
    // G25: the application took `count` of this engine's deliveries to `receiver`.
    void on_consumed(Pid receiver, std::uint32_t count, Time now, Effects& out) override;
    void on_process_exited(Pid pid, Time now, Effects& out) override;
    [[nodiscard]] EngineCounters totals() const override;
    // G25: deliveries to `member` not yet reported consumed (0 when none).
    [[nodiscard]] std::uint32_t inbox(Pid member) const {
        const auto it = inbox_.find(member);
        return it == inbox_.end() ? 0 : it->second;
    }

private:
    // Member side (group_engine.cpp).
    void start_request(OperationId op, wire::PacketKind kind, Pid source, std::string_view name,
                       bool closed, Time now, Effects& out, std::uint8_t order = order_fifo,
                       const GroupAddress& address = {});
    void on_reply(const GroupPacket& m, Time now, Effects& out);
    void on_view(NodeId from, const GroupPacket& m, Effects& out);
    void install(const View& v, const std::string& name, Effects& out);
    void log_install(const std::string& name, const View& v, bool dropped);
    void drop(const std::string& name, std::uint64_t final_id, Effects& out);
    void update_membership(const std::string& name, Effects& out);
    [[nodiscard]] bool hosts_member_of(const View& v) const;
    void send_to_address(const Multicast& mc, const View& v, Effects& out);
    void on_data(NodeId from, GroupPacket& m, Time now, Effects& out);
    void on_response(NodeId from, const GroupPacket& m, Effects& out);
    void resolve(Multicast& mc, const View& v, Time now, Effects& out);
    void send_data(const Multicast& mc, NodeId node, const std::vector<std::uint64_t>& locals,
                   Effects& out);
    void finish(std::uint64_t id, Result<Bytes> result, Effects& out);
    void member_tick(Time now, Effects& out);
    void tick_multicasts(Time now, Effects& out);
    void look_up(Pid sender, const std::string& name, Time now, Effects& out);
    [[nodiscard]] const View* usable_view(std::string_view name, Time now) const;
    [[nodiscard]] bool hosts_members() const;
    [[nodiscard]] std::vector<InstalledView> member_views() const;
    void remember_seen(const SeenKey& key, Time now);
    void remember_lookup(const std::string& name, const View& v, Time now);
    void transmit(NodeId to, const GroupPacket& m, Effects& out);
    void hand_over(Message message, Effects& out);
    [[nodiscard]] bool has_credit(Pid member) const;
    void arm(Time now, Effects& out);

    // Server side (group_server.cpp).
    void on_request(NodeId from, const GroupPacket& m, Time now, Effects& out);
    [[nodiscard]] GroupPacket handle_request(const GroupPacket& m, std::uint64_t& wait_view);
    [[nodiscard]] GroupAddress pick_address(const GroupAddress& asked) const;
    [[nodiscard]] GroupPacket handle_join(ServerGroup& g, GroupPacket reply, const GroupPacket& m,
                                          std::uint64_t& wait_view);
    void on_view_ack(NodeId from, const GroupPacket& m, Time now, Effects& out);
    void on_heartbeat(NodeId from, const GroupPacket& m, Time now, Effects& out);
    void heard(NodeId node, std::uint32_t incarnation, Time now);
    void change(const std::string& name, ServerGroup& g, std::vector<Member> members);
    void remove_node_members(NodeId node, std::uint32_t below_incarnation);
    void write_dirty(Effects& out);
    void send_answers(const std::string& name, Effects& out);
    void send_gone_answers(const std::string& name, Time now, Effects& out);
    void send_gone(NodeId node, std::uint32_t incarnation, const std::string& name,
                   std::uint64_t id, Effects& out);
    void abandon_silent(Time now);
    void distribute(const std::string& name, ServerGroup& g, Time now, bool force, Effects& out);
    void send_view(const std::string& name, const ServerGroup& g, NodeId node, NodeCursor& c,
                   Time now, Effects& out);
    void server_tick(Time now, Effects& out);
    void suspect(Time now, Effects& out);
    void forget_silent(Time now);
    [[nodiscard]] std::uint32_t known_incarnation(NodeId node) const;
    [[nodiscard]] bool stale(NodeId node, std::uint32_t incarnation);

    NodeId self_;
    std::uint32_t incarnation_;
    Time started_;
    const GroupOptions& options_;
    GroupCounters counters_;
    std::uint64_t next_id_;  // Request and message ids: incarnation << 32 | count.
    std::uint64_t next_token_ = 1;
    std::uint64_t seen_order_ = 1;
    bool timer_armed_ = false;
    Time next_heartbeat_;
    // Member side.
    std::map<std::string, View, std::less<>> installed_;
    std::set<std::string, std::less<>> deleted_;  // Installed views that are final (G21).
    std::deque<Installed> install_log_;           // Bounded: install_log_max.
    std::uint64_t installs_logged_ = 0;
    std::map<std::string, CachedView, std::less<>> cache_;
    // Coordinated: every group's current view, as the backend gave it (bounded by the
    // backend: groups_max).
    std::map<std::string, View, std::less<>> known_;
    // G22: the IP multicast groups joined, each with the groups (names) it is joined for.
    std::map<IpGroup, std::set<std::string>> joined_;
    std::map<std::uint64_t, Outstanding> requests_;  // By request id.
    std::map<std::uint64_t, Multicast> multicasts_;  // By message id.
    std::map<SeenKey, Seen> seen_;
    std::map<std::uint64_t, SeenKey> seen_by_order_;
    // G25: per local process, deliveries not yet reported consumed (one entry per process
    // that got one, erased when it exits).
    std::map<Pid, std::uint32_t> inbox_;
    // Server side.
    std::map<std::string, ServerGroup, std::less<>> groups_;
    std::map<NodeId, HeardFrom> heard_;
    std::map<RequestKey, Answer> answers_;
    std::map<std::uint64_t, std::pair<std::string, std::uint64_t>> writes_;  // token -> view.
    std::map<std::uint64_t, std::string> finals_;  // token -> deleted group's name (G21).
    // G21: per name whose last group was deleted, that group's final view id (a group created
    // again under the name numbers its views above it). One small record per such name.
    std::map<std::string, std::uint64_t, std::less<>> floors_;
};

}  // namespace herald::proto::group
