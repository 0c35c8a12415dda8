// Node: lifecycle, dispatch of received packets, the engines' effects and timers, shutdown.
// Layer: runtime. Application-thread commands are in node_commands.cpp, ping in node_ping.cpp.
#include "runtime/node.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <limits>
#include <random>
#include <system_error>

#include "core/assert.h"
#include "proto/direct/direct_messages.h"
#include "runtime/coord/etcd_naming.h"
#include "runtime/incarnation.h"
#include "runtime/node_group_service.h"
#include "runtime/node_mailbox.h"
#include "runtime/node_naming.h"
#include "runtime/node_order_service.h"
#include "runtime/node_rpc.h"

namespace herald::runtime {

namespace {

// A durable-write token as the store writer carries it: the engine's slot in the top byte.
constexpr int token_slot_shift = 56;
// The token of the node's own writes (replay floors): no engine waits on it.
constexpr std::uint64_t node_write_token = ~std::uint64_t{0};
// The store record of the replay floors, and how often it is rewritten when they changed.
constexpr std::string_view replay_key = "node/replay";
constexpr Duration replay_persist_interval = Duration::seconds(10);

// FNV-1a over the canonical URL, then a splitmix64 finalizer so that similar URLs (ports
// 7400 and 7401) get unrelated ids.
NodeId derive_node_id(std::string_view url) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (char c : url) {
        h ^= static_cast<std::uint8_t>(c);
        h *= 0x100000001b3ULL;
    }
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return NodeId{h == 0 ? 1 : h};
}

std::uint64_t random_seed(std::int64_t unix_ns) {
    std::random_device device;
    return (std::uint64_t{device()} << 32 | device()) ^ static_cast<std::uint64_t>(unix_ns);
}

Result<FaultOptions> fault_options(const NodeConfig& config) {
    std::string spec = config.faults;
    if (spec.empty() && config.faults_from_env) {
        if (const char* env = std::getenv("HERALD_FAULTS")) spec = env;
    }
    if (spec.empty()) return FaultOptions{};
    return parse_fault_options(spec);
}

}  // namespace

Node::Node(Private, NodeConfig config)
    : config_(std::move(config)),
      clock_(SystemClock::instance()),
      peers_(config_.peers_max),
      random_(random_seed(clock_.unix_ns())) {}

Node::~Node() {
    HERALD_ASSERT(!loop_.in_loop_thread());  // The loop cannot join itself.
    stop();
}

Result<std::shared_ptr<Node>> Node::start(NodeConfig config) {
    if (config.peers_max == 0 || config.commands_max == 0 || config.processes_max == 0) {
        return fail(Errc::invalid_argument, "peers_max, commands_max, processes_max must be > 0");
    }
    auto node = std::make_shared<Node>(Private{}, std::move(config));
    HERALD_TRY(node->open(node->config_));
    node->start_loop();
    return node;
}

Status Node::open(const NodeConfig& config) {
    HERALD_TRY(Endpoint endpoint, parse_endpoint(config.listen_url));
    HERALD_TRY(FaultOptions faults, fault_options(config));
    HERALD_TRY(NodeRpc::check_config(config));
    std::vector<wire::AuthKey> keys;  // Checked before anything is bound or claimed.
    if (!config.key_file.empty()) {
        HERALD_TRY(keys, wire::read_key_file(config.key_file));
    } else if (config.encrypt) {
        return fail(Errc::invalid_argument, "encrypt needs a key_file (docs/security.md)");
    }
    TransportOptions transport_options = config.transport;
    transport_options.join_queued = true;  // The Link's datagrams are packets back to back.
    HERALD_TRY(transport_, open_transport(loop_.io(), endpoint, transport_options));
    if (faults.any()) transport_ = with_faults(loop_.io(), std::move(transport_), faults);
    capabilities_ = transport_->capabilities();
    listen_ = transport_->local_endpoint();
    id_ = config.id.known() ? config.id : derive_node_id(to_string(listen_));
    // Claimed (durably, with a data_dir) before anything can answer: see incarnation.h.
    HERALD_TRY(incarnation_, start_incarnation(config, clock_.unix_ns()));
    peers_.learn(id_, listen_, now());
    LinkOptions link_options;
    link_options.message_bytes_max = config.direct.body_bytes_max + (std::size_t{64} << 10);
    link_options.reassembly = config.reassembly;
    link_options.keys = std::move(keys);
    link_options.encrypt = config.encrypt;
    link_ = std::make_unique<Link>(*transport_, peers_, link_options);

    // The engines, hosted as the simulator hosts them (proto::EngineSet).
    const Time started = now();
    const proto::EngineContext context{id_, incarnation_, random_, started,
                                       Duration::nanoseconds(clock_.unix_ns() - started.ns())};
    engines_ = std::make_unique<proto::EngineSet>(id_);
    proto::direct::DirectOptions direct_options = config.direct;
    direct_options.coalesce_acks = true;  // The loop ends every batch (flush).
    auto direct = std::make_unique<proto::direct::DirectEngine>(context, direct_options);
    direct_ = direct.get();
    direct_slot_ = engines_->add(std::move(direct));
    rpc_ = std::make_unique<NodeRpc>(static_cast<NodeContext&>(*this), config);
    rpc_slot_ = engines_->add(rpc_->make_engine(context));
    rpc_->attach(rpc_slot_);
    // With a store, one blocking mailbox caller at a time polls for its answer as the loop does
    // for the commit (NodeOptions::durable_poll: docs/performance.md, "The loop's poll").
    mailbox_ = std::make_unique<NodeMailbox>(
        static_cast<NodeContext&>(*this), proto::mailbox::MailboxOptions{},
        config.data_dir.empty() ? Duration::zero() : config.durable_poll);
    mailbox_->attach(engines_->add(mailbox_->make_engine(context)));
    if (config.coordination_etcd) {
        HERALD_TRY(naming_, coord::EtcdNaming::host(static_cast<NodeContext&>(*this), config));
    } else {
        HERALD_TRY(naming_,
                   NodeNaming::host(static_cast<NodeContext&>(*this), *engines_, context, config));
    }
    HERALD_TRY(group_service_, NodeGroupService::host(static_cast<NodeContext&>(*this), *engines_,
                                                      context, config));
    std::optional<proto::EngineSlot> group_slot;
    if (group_service_) group_slot = group_service_->slot();
    order_service_ = NodeOrderService::host(static_cast<NodeContext&>(*this), *engines_, context,
                                            config, group_slot);
    HERALD_TRY(open_store(config));
    wake_timer_ = std::make_unique<asio::steady_timer>(loop_.io());
    return {};
}

Status Node::open_store(const NodeConfig& config) {
    if (config.data_dir.empty()) return {};
    HERALD_TRY(store::Store store, open_node_store(config.data_dir, config.rpc.sync));
    Status restored;
    engines_->restore([&](std::string_view prefix) {
        auto records = store.scan(prefix);
        if (!records) {
            if (restored) restored = fail(std::move(records.error()));
            return std::vector<proto::StoredRecord>{};
        }
        return std::move(*records);
    });
    HERALD_TRY(std::move(restored));
    if (link_->authenticated()) restore_replay_floors(store);
    store_ = std::make_unique<StoreWriter>(std::move(store), [this] {
        // Commits that end after the loop closed are dropped with the node.
        static_cast<void>(loop_.post([this] { on_committed(); }));
    });
    counters_.store_open = true;
    if (link_->authenticated()) {
        replay_persisted_ = link_->replay_changes();
        node_timers_.set(node_timer(NodeTimer::replay, 0), now() + replay_persist_interval);
    }
    return {};
}

void Node::restore_replay_floors(store::Store& store) {
    auto records = store.scan(replay_key);
    if (!records) {
        counters_.replay_record_bad = true;
        return;
    }
    for (const auto& [key, value] : *records) {
        if (key != replay_key) continue;
        auto floors = wire::decode_replay_floors(value, link_->replay_senders_max());
        if (!floors) {
            counters_.replay_record_bad = true;  // Ignored: the node starts without floors.
            return;
        }
        link_->restore_replay(*floors);
        counters_.replay_floors_restored = floors->size();
    }
}

void Node::persist_replay_floors() {
    if (!store_ || !link_->authenticated()) return;
    replay_persisted_ = link_->replay_changes();
    std::vector<store::Write> writes;
    writes.push_back(
        {std::string(replay_key), wire::encode_replay_floors(link_->replay_floors()), false});
    store_->write(std::move(writes), node_write_token);
}

void Node::start_loop() {
    std::promise<void> started;
    auto done = started.get_future();
    loop_.start();
    const bool posted = loop_.post([this, &started] {
        transport_->start(
            [this](const Endpoint& from, ByteView datagram) { on_datagram(from, datagram); });
        node_timers_.set(node_timer(NodeTimer::memory, 0), now() + memory_check_period);
        rearm();
        started.set_value();
    });
    HERALD_ASSERT(posted);
    done.wait();
}

proto::TimerId Node::node_timer(NodeTimer kind, std::uint64_t id) {
    HERALD_ASSERT(id < (std::uint64_t{1} << 56));
    return proto::TimerId{std::uint64_t{static_cast<std::uint8_t>(kind)} << 56 | id};
}

void Node::on_datagram(const Endpoint& from, ByteView datagram) {
    if (shut_down_) return;
    const Time t = now();
    bool whole = false;
    const std::uint64_t fragments = link_->fragments_received();
    link_->receive(datagram, t, [&](wire::Packet&& packet) {
        whole = true;
        if (!shut_down_) on_packet(from, packet, t);
    });
    // A new partial message may need the reassembly timeout. Junk (no packet, no fragment)
    // changes no deadline: not re-arming for it keeps a rejected datagram cheap (issue 21).
    if (!whole && link_->fragments_received() != fragments) rearm();
}

void Node::on_packet(const Endpoint& from, wire::Packet& packet, Time t) {
    // The node that sent it: a migrated process's packets name it (docs/migration.md).
    const NodeId source = proto::direct::sending_node(packet);
    if (!source.known()) {
        ++counters_.packets_anonymous;  // Bad input from outside: count and drop.
        return;
    }
    if (source != id_ && !admit_address(source, from, packet, t)) return;
    learn_forwarded_sender(packet, t);
    dispatch_packet(source, packet, t, &from);
}

proto::rpc::Source Node::rpc_source(const Endpoint& from) const {
    // A keyed hash: strangers can neither predict nor steer which addresses share a value.
    std::string bytes;
    bytes.reserve(4 + from.host.size() + from.path.size());
    bytes.push_back(static_cast<char>(from.scheme));
    bytes.push_back(static_cast<char>(from.port & 0xFF));
    bytes.push_back(static_cast<char>(from.port >> 8));
    bytes.append(from.host);
    bytes.push_back('\0');
    bytes.append(from.path);
    proto::rpc::Source source;
    source.address = wire::keyed_hash(
        address_key_, ByteView(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
    if (source.address == 0) source.address = 1;  // 0 means "no address".
    // A tcp connection proved its address by its handshake (as for address changes).
    source.proven = from.scheme == Endpoint::Scheme::tcp;
    return source;
}

bool Node::admit_address(NodeId source, const Endpoint& from, const wire::Packet& packet, Time t) {
    if (packet.header.kind == wire::PacketKind::hello_reply) {
        static_cast<void>(path_checks_.on_reply(source, from, packet.header.seq, t));
    }
    const Endpoint* known = peers_.find(source);
    // With a key only key holders name nodes; a tcp connection proved its address already.
    if (known == nullptr || *known == from || link_->authenticated() ||
        from.scheme == Endpoint::Scheme::tcp) {
        peers_.learn(source, from, t);
        return true;
    }
    challenges_.clear();
    const auto verdict = path_checks_.on_moved(
        source, from, *known, t, [this] { return random_.next_u64(); }, challenges_);
    for (const PathChecks::Challenge& c : challenges_) {
        wire::Packet hello = proto::direct::make_packet(wire::PacketKind::hello, Pid{id_, 0},
                                                        Pid{c.node, 0}, incarnation_, 0);
        hello.header.seq = c.cookie;
        static_cast<void>(link_->send_to(c.to, hello));
    }
    if (verdict == PathChecks::Verdict::drop) return false;
    peers_.learn(source, from, t);
    return true;
}

void Node::learn_forwarded_sender(const wire::Packet& packet, Time t) {
    // Forwarded data came from the forwarder; its acks go to the sending node, whose address
    // the forwarder passed on (docs/migration.md M8). A known address is not replaced.
    const wire::Extension* url = packet.find(wire::ExtensionType::forwarded_for);
    if (url == nullptr || packet.find(wire::ExtensionType::forwarded) == nullptr) return;
    const NodeId sender = proto::direct::source_node(packet);
    if (!sender.known() || sender == id_ || peers_.find(sender) != nullptr) return;
    auto endpoint = parse_endpoint(
        std::string_view(reinterpret_cast<const char*>(url->value.data()), url->value.size()));
    if (!endpoint) {
        ++counters_.packets_anonymous;  // A forwarder's bad address: drop the hint, not the data.
        return;
    }
    peers_.learn(sender, *endpoint, t);
}

void Node::dispatch_packet(NodeId from, wire::Packet& packet, Time now_time,
                           const Endpoint* address) {
    ++counters_.packets_received;
    if (packet.header.kind == wire::PacketKind::hello) ++counters_.pings_answered;
    const auto kind = packet.header.kind;
    if (refusing_ && from != id_ &&
        (kind == wire::PacketKind::data || kind == wire::PacketKind::rpc_request)) {
        ++counters_.incoming_refused;  // Unacknowledged: the sender never counts it accepted.
        return;
    }
    // Credit in the ack must count what the target process took (lazy reports: node_receive).
    if (kind == wire::PacketKind::data) fold_consumed(packet.header.target);
    HERALD_ASSERT(effects_.empty());
    if (kind == wire::PacketKind::rpc_request && address != nullptr) {
        // The RPC server's admission needs the sender's address (docs/rpc.md, "Admission").
        const proto::rpc::Source source = rpc_source(*address);
        engines_->run<proto::rpc::RpcEngine>(rpc_slot_, now_time, effects_,
                                             [&](proto::rpc::RpcEngine& rpc, proto::Effects& out) {
                                                 rpc.on_packet(from, packet, source, now_time, out);
                                             });
        carry_out(now_time);
        return;
    }
    if (!engines_->on_packet(from, packet, now_time, effects_)) {
        ++counters_.packets_unhandled;  // A kind no hosted engine speaks (yet): drop.
        return;
    }
    carry_out(now_time);
}

// EngineSet::apply's driver: what each kind of effect means on real sockets and threads.
class Node::Carrier {
public:
    // `now`: the time of the input (one clock read per input or batch, not per carrier).
    Carrier(Node& node, Time now) : node_(node), now_(now) {}
    void trace(const proto::TraceEffect&) {}  // Engines trace for the simulator only (yet).
    void membership(const proto::MembershipEffect& m) { node_.group_membership(m); }
    void send(proto::SendEffect& send, const proto::Effects& out) { node_.route(send, out); }
    void deliver(proto::DeliverEffect& d) {
        const auto* groups = node_.group_service_.get();
        if (d.arrival) return node_.arrive(d.message.target, std::move(d.message.body));
        const auto* order = node_.order_service_.get();
        d.message.ordered = order != nullptr && d.engine == order->slot();
        d.message.group = d.message.ordered || (groups != nullptr && d.engine == groups->slot());
        // The ordering engine's view deliveries (O21) are not queued: a member learns its
        // views from the group engine's view envelopes (docs/ordering.md, "Runtime").
        // The ordering engine counted it against the member's credit (O37): it is taken now.
        if (d.message.ordered && proto::order::is_view_delivery(d.message.body)) {
            node_.deferred_.push_back([node = &node_, slot = d.engine, pid = d.message.target] {
                node->report_group_consumed(slot, pid, 1);
            });
            return;
        }
        node_.deliver(std::move(d.message), now_);
    }
    void execute(proto::ExecuteEffect& e) {
        HERALD_ASSERT(e.engine == node_.rpc_slot_);  // Only the RPC engine runs handlers.
        node_.rpc_->execute(e);
    }
    void complete(proto::CompleteEffect& c) { node_.complete(c.op, std::move(c.result)); }
    void timer(const proto::TimerEffect& t) {
        HERALD_ASSERT(t.engine < node_.engine_timers_.size());
        node_.engine_timers_[t.engine].apply(t);
    }
    void persist(proto::EngineSlot slot, std::uint64_t token,
                 std::span<proto::PersistEffect> parts) {
        node_.persist(slot, token, parts);
    }

private:
    Node& node_;
    Time now_;
};

void Node::carry_out(Time now_time) {
    Carrier carrier(*this, now_time);
    proto::EngineSet::apply(effects_, carrier);
    run_deferred();
    if (order_service_) order_service_->after_effects();  // The group engine's views.
    rearm();
    schedule_flush();
}

void Node::run_deferred() {
    if (running_deferred_) return;  // The outer call keeps draining.
    running_deferred_ = true;
    while (!deferred_.empty()) {
        auto input = std::move(deferred_.front());
        deferred_.pop_front();
        input();
    }
    running_deferred_ = false;
}

void Node::route(proto::SendEffect& send, const proto::Effects& out) {
    using Kind = proto::Destination::Kind;
    // Packets to this node never get here: EngineSet hands them straight back (loopback).
    switch (send.to.kind) {
        case Kind::node:
            HERALD_ASSERT(send.to.node != id_);
            if (peers_.find(send.to.node) == nullptr) note_unreachable(send.to.node);
            add_forwarded_for(send.packet);
            link_->send(send.to.node, send.parts());
            return;
        case Kind::address:
            // An address whose node is not known yet (a ping by URL, node_ping.cpp). A handle
            // released meanwhile (its ping ended) is dropped and counted.
            if (const Endpoint* endpoint = address(send.to.address)) {
                link_->send_to(*endpoint, send.parts());
            } else {
                ++counters_.packets_unroutable;
            }
            return;
        case Kind::multicast:
        case Kind::broadcast:
            if (route_to_group(send)) return;  // One datagram for all (node_groups.cpp).
            [[fallthrough]];                   // The transport cannot: fan out.
        case Kind::nodes:
            // Fan-out: one datagram per node of the list.
            for (const NodeId node : out.nodes_of(send.to)) {
                if (node != id_) link_->send(node, send.parts());
            }
            return;
    }
}

void Node::add_forwarded_for(wire::Packet& packet) const {
    if (packet.header.kind != wire::PacketKind::data ||
        packet.find(wire::ExtensionType::forwarded) == nullptr ||
        packet.find(wire::ExtensionType::forwarded_for) != nullptr) {
        return;  // Not forwarded, or an earlier forwarder said it already.
    }
    const Endpoint* endpoint = peers_.find(proto::direct::source_node(packet));
    if (endpoint == nullptr) return;
    const std::string url = to_string(*endpoint);
    if (url.empty() || url.size() > 255) return;
    packet.extensions.push_back(
        {wire::ExtensionType::forwarded_for, Bytes(url.begin(), url.end())});
}

void Node::complete(proto::OperationId op, Result<Bytes> result) {
    std::optional<Operation> taken = ops_.take(op);
    HERALD_ASSERT(taken.has_value());  // Engines complete each operation exactly once.
    Operation& operation = *taken;
    if (operation.sent) {
        Status status = result ? Status{} : Status(tl::make_unexpected(std::move(result.error())));
        upcall(operation.sent, std::move(status));
    } else {
        upcall(operation.done, std::move(result));
    }
    check_drained();
}

void Node::persist(proto::EngineSlot slot, std::uint64_t token,
                   std::span<proto::PersistEffect> parts) {
    // Only engines of a node with a store persist: durable RPC and handlers with writes both
    // need data_dir (checked at start and at serve).
    HERALD_ASSERT(store_ != nullptr);
    HERALD_ASSERT(token < (std::uint64_t{1} << token_slot_shift));
    // A write that decides a blocking caller's outcome: the writer answers it (one hop).
    DurableAnswer answer;
    if (const auto answers = parts.front().answers; answers != 0) {
        if (const Operation* operation = ops_.find(answers)) answer = operation->durable;
    }
    ++counters_.durable_pending;
    // Moved straight into the writer's queue (no vector of writes per persist). A part that
    // fills a kept slot comes back with that slot's old buffers: the effects' record buffer
    // source keeps them for the engines' next records (allocated and freed on this thread).
    store_->write(
        parts, [](proto::PersistEffect& part) -> proto::PersistEffect& { return part; },
        std::uint64_t{slot} << token_slot_shift | token, answer);
    poll_for_durable();
    for (proto::PersistEffect& part : parts) {
        effects_.keep_record_buffers(std::move(part.key), std::move(part.value));
    }
}

void Node::poll_for_durable() {
    // The commit comes back within about one fsync and the caller it answers sends again within
    // a wake-up of its own: the loop polling meanwhile takes both without being woken
    // (docs/performance.md, "The loop's poll"; durable_poll: 0 turns it off).
    if (config_.durable_poll > Duration::zero()) {
        loop_.poll_until(std::chrono::steady_clock::now() +
                         std::chrono::nanoseconds(config_.durable_poll.ns()));
    }
}

void Node::on_committed() {
    if (shut_down_) return;
    poll_for_durable();
    store_->take_committed(commits_taken_, tokens_taken_);
    std::size_t next = 0;
    for (const StoreWriter::Commit& commit : commits_taken_) {
        const std::span<const std::uint64_t> tokens(tokens_taken_.data() + next, commit.batches);
        next += commit.batches;
        committed(tokens, commit.status);
        if (shut_down_) return;
    }
    check_drained();
    run_deferred();
}

void Node::committed(std::span<const std::uint64_t> tokens, const Status& status) {
    const auto own =
        static_cast<std::size_t>(std::count(tokens.begin(), tokens.end(), node_write_token));
    HERALD_ASSERT(counters_.durable_pending >= tokens.size() - own);
    counters_.durable_pending -= tokens.size() - own;
    if (!status) {
        // Nothing of it is on disk: each engine fails what waited on it (on_durable with the
        // error), and the node reports its store unhealthy from now on.
        ++counters_.store_errors;
        counters_.store_healthy = false;
    }
    for (const auto tagged : tokens) {
        if (tagged == node_write_token) continue;  // Replay floors: a failure is counted above.
        const auto slot = static_cast<proto::EngineSlot>(tagged >> token_slot_shift);
        const std::uint64_t token = tagged & ((std::uint64_t{1} << token_slot_shift) - 1);
        HERALD_ASSERT(effects_.empty());
        const Time t = now();
        engines_->on_durable(slot, token, status, t, effects_);
        carry_out(t);
        if (shut_down_) return;
    }
}

Result<std::vector<store::Record>> Node::read_store(std::string prefix) {
    if (!store_) return fail(Errc::invalid_argument, "the node has no data_dir");
    if (loop_.in_loop_thread()) {
        return fail(Errc::invalid_argument, "a store read on the node's loop thread");
    }
    return store_->read(std::move(prefix));
}

bool Node::post(std::function<void()> task) {
    return loop_.post(std::move(task));
}

bool Node::has_process(Pid pid) const {
    return pid.node == id_ && processes_.contains(pid.local);
}

bool Node::knows_node(NodeId node) const {
    return node == id_ || peers_.find(node) != nullptr;
}

void Node::learn_peer(NodeId node, std::string_view url) {
    if (!node.known() || knows_node(node)) return;
    auto endpoint = parse_endpoint(url);
    if (endpoint) peers_.learn(node, *endpoint, now());
}

Status Node::reserve_command() {
    if (commands_queued_.fetch_add(1, std::memory_order_acq_rel) >= config_.commands_max) {
        commands_queued_.fetch_sub(1, std::memory_order_acq_rel);
        return fail(Errc::queue_full, "commands_max commands are queued to the node loop");
    }
    return {};
}

void Node::release_command() {
    commands_queued_.fetch_sub(1, std::memory_order_acq_rel);
}

proto::OperationId Node::begin_operation(Completion done) {
    return ops_.add(Operation{{}, std::move(done), {}});
}

proto::OperationId Node::begin_operation(Completion done, DurableAnswer durable) {
    return ops_.add(Operation{{}, std::move(done), durable});
}

proto::OperationId Node::begin_send(SendCallback sent) {
    return ops_.add(Operation{std::move(sent), {}, {}});
}

void Node::check_drained() {
    if (draining_ && !shut_down_ && ops_.empty() && counters_.durable_pending == 0 &&
        rpc_->drained()) {
        deferred_.push_back([this] { finish_shutdown(); });
    }
}

void Node::rearm() {
    if (shut_down_) return;
    wake_dirty_ = true;
    // flush() runs after every handler already queued, before the loop can sleep, so no
    // deadline set by this batch is left unarmed; inside flush() its own end arms it.
    if (!flushing_) schedule_flush();
}

void Node::arm_wake(Time now_time) {
    if (!wake_dirty_ || shut_down_) return;
    wake_dirty_ = false;
    Time earliest = Time::max();
    auto consider = [&](std::optional<Time> t) {
        if (t && *t < earliest) earliest = *t;
    };
    for (std::size_t slot = 0; slot < engines_->size(); ++slot) {
        consider(engine_timers_[slot].earliest());
    }
    if (auto t = link_->next_deadline()) {
        node_timers_.set(node_timer(NodeTimer::reassembly, 0), *t);
    }
    consider(node_timers_.earliest());
    switch (wake_.update(earliest, now_time)) {
        case WakeSchedule::Action::keep:
            return;
        case WakeSchedule::Action::cancel:
            wake_timer_->cancel();
            return;
        case WakeSchedule::Action::arm:
            break;
    }
    // Moving an armed asio timer cancels its wait (that handler sees operation_aborted).
    wake_timer_->expires_at(
        asio::steady_timer::time_point(std::chrono::nanoseconds(earliest.ns())));
    wake_timer_->async_wait([this](const std::error_code& error) {
        if (!error) on_wake();
    });
}

void Node::on_wake() {
    wake_.fired();
    if (shut_down_) return;
    const Time t = now();
    for (std::size_t i = 0; i < engines_->size(); ++i) {
        const auto slot = static_cast<proto::EngineSlot>(i);
        while (auto id = engine_timers_[slot].pop_due(t)) {
            HERALD_ASSERT(effects_.empty());
            engines_->on_timer(slot, *id, t, effects_);
            carry_out(t);
            if (shut_down_) return;
        }
    }
    while (auto id = node_timers_.pop_due(t)) {
        on_node_timer(*id, t);
        if (shut_down_) return;
    }
    rearm();
}

void Node::on_node_timer(proto::TimerId id, Time now_time) {
    const auto kind = static_cast<NodeTimer>(id.value >> 56);
    const std::uint64_t value = id.value & ((std::uint64_t{1} << 56) - 1);
    switch (kind) {
        case NodeTimer::receive:
            if (auto it = receive_timers_.find(value); it != receive_timers_.end()) {
                const Pid pid = it->second;
                receive_timers_.erase(it);
                const auto process = hosted(pid);
                if (process && process->async_timer == value) {
                    finish_async_receive(*process, fail(Errc::timeout, "receive_async timed out"),
                                         now_time);
                }
            }
            break;
        case NodeTimer::reassembly:
            link_->expire(now_time);
            break;
        case NodeTimer::drain:
            finish_shutdown();
            break;
        case NodeTimer::replay:
            if (link_->replay_changes() != replay_persisted_) persist_replay_floors();
            node_timers_.set(node_timer(NodeTimer::replay, 0), now_time + replay_persist_interval);
            break;
        case NodeTimer::memory:
            check_memory(now_time);
            break;
    }
    run_deferred();
}

void Node::check_memory(Time now_time) {
#if defined(__GLIBC__)
    // glibc keeps freed memory for reuse and returns only the top of the heap by itself; a
    // flood's peer records and reassembly buffers, freed in the middle of it, stay resident
    // (issue 21 item 6). mallinfo2 walks the arenas' free lists: microseconds, every 5 s.
    // Trimmed pages still count as free in the heap, so only what was freed since the last
    // trim (beyond memory_trim_free_min) makes another one.
    const std::size_t free_bytes = ::mallinfo2().fordblks;
    trimmed_free_bytes_ = std::min(trimmed_free_bytes_, free_bytes);  // Reused since.
    if (free_bytes >= trimmed_free_bytes_ + memory_trim_free_min) {
        ::malloc_trim(0);
        ++counters_.memory_trims;
        trimmed_free_bytes_ = ::mallinfo2().fordblks;
    }
#endif
    if (!shut_down_) {
        node_timers_.set(node_timer(NodeTimer::memory, 0), now_time + memory_check_period);
    }
}

void Node::schedule_flush() {
    if (flush_scheduled_ || shut_down_) return;
    flush_scheduled_ = true;
    // Runs after the handlers already queued (the rest of a receive batch, other commands),
    // so one flush (one sendmmsg) covers everything they sent.
    asio::post(loop_.io(), [this] {
        flush_scheduled_ = false;
        if (shut_down_) return;
        flush();
    });
}

void Node::note_unreachable(NodeId node) {
    // Bounded: nodes past the bound are noted again by their next retransmission.
    if (unreachable_.size() >= unreachable_max) return;
    if (std::find(unreachable_.begin(), unreachable_.end(), node) != unreachable_.end()) return;
    unreachable_.push_back(node);
}

void Node::flush() {
    HERALD_ASSERT(effects_.empty());
    const bool was_flushing = flushing_;
    flushing_ = true;
    hand_deliveries();  // First: the receivers wake while the loop sends the acks below.
    const Time t = now();
    for (const NodeId node : unreachable_) {
        // Learned meanwhile (a packet from it in this batch): nothing to give up.
        if (peers_.find(node) == nullptr) engines_->on_unreachable(node, t, effects_);
    }
    unreachable_.clear();
    engines_->on_batch_end(t, effects_);
    Carrier carrier(*this, t);
    proto::EngineSet::apply(effects_, carrier);
    run_deferred();
    hand_deliveries();  // What the batch's end delivered.
    arm_wake(t);  // The batch's timers, those set at its end too (e.g. ordering retransmissions).
    rpc_->end_batch();  // The handler runs this batch queued, the call completions.
    flushing_ = was_flushing;
    link_->flush();
    transport_->flush();
}

Status Node::refuse_incoming() {
    return on_loop<Status>("refuse_incoming()", [this]() -> Status {
        refusing_ = true;
        return {};
    });
}

void Node::stop() {
    const bool first = !stopping_.exchange(true, std::memory_order_acq_rel);
    if (loop_.in_loop_thread()) {
        // From a callback: the loop cannot wait for itself. Start the drain; whoever calls
        // stop() (or destroys the node) from another thread joins.
        if (first) begin_drain(true);
        return;
    }
    // A failed post means the loop is already closed: nothing is left to drain.
    if (first) static_cast<void>(loop_.post([this] { begin_drain(false); }));
    loop_.join();
    if (rpc_) rpc_->join();        // Handler threads (they only post to the closed loop).
    if (naming_) naming_->join();  // The etcd worker (after its lease revoke, bounded).
    if (group_service_) group_service_->join();  // Groups on etcd: the same.
    if (store_) {
        store_->stop();
        store_->join();
    }
}

void Node::begin_drain(bool from_callback) {
    if (shut_down_) return;
    // Sends made before stop() may still sit in the processes' rings or the overflow queue,
    // their drain task queued behind this one: they are sends made before the stop, so the
    // engine takes them now and the drain waits for them like any other.
    drain_sends();
    drain_rings();
    draining_ = true;
    if (ops_.empty() && counters_.durable_pending == 0 && rpc_->drained()) {
        // A callback may run in the middle of carrying out effects (an operation's
        // completion): the shutdown, which flushes, runs after the handler that called it.
        if (!from_callback) return finish_shutdown();
        asio::post(loop_.io(), [this] { finish_shutdown(); });
        return;
    }
    node_timers_.set(node_timer(NodeTimer::drain, 0), now() + config_.drain_max);
    rearm();
}

void Node::finish_shutdown() {
    if (shut_down_) return;
    {
        std::lock_guard lock(final_mutex_);
        final_counters_ = std::make_unique<Counters>(snapshot());
    }
    shut_down_ = true;
    hand_deliveries();  // Into the inboxes that close() empties below, as if handed already.
    close_rings();      // Sends still in processes' rings complete closed; later ones fail.
    for (Operation& operation : ops_.take_all()) {
        if (operation.sent) {
            upcall(operation.sent, fail(Errc::closed, "node stopped"));
        } else {
            upcall(operation.done, fail(Errc::closed, "node stopped"));
        }
    }
    for (auto& [local, process] : processes_) {
        if (process->async_receiver) {
            auto done = std::move(process->async_receiver);
            process->async_receiver = nullptr;
            upcall(done, fail(Errc::closed, "node stopped"));
        }
        process->close();
    }
    processes_.clear();
    for (auto& [pid, process] : migrated_) process->close();
    migrated_.clear();
    rpc_->shutdown();
    persist_replay_floors();  // Before the store's last commit: a clean stop leaves no gap.
    if (naming_) naming_->shutdown();
    if (group_service_) group_service_->shutdown();
    if (store_) store_->stop();  // Commits what is queued; its completions are dropped.
    flush();
    transport_->close();
    wake_timer_->cancel();
    loop_.close();
}

}  // namespace herald::runtime
