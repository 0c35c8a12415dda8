// heraldd's built-in services: the service thread loop, echo and admin. Layer: apps.
#include "services.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/result.h"  // HERALD_TRY
#include "group_ops.h"
#include "log.h"

namespace herald::daemon {
namespace {

// Replies wait at most this long for the sender's node to acknowledge; a sender that went away
// (a CLI that exited) costs one pending send until then, or until the node stops.
constexpr auto reply_timeout = std::chrono::seconds(10);

// Messages handled per wake-up before the thread checks for stop again, so that a flood of
// messages cannot delay shutdown (the rest are handled by the final drain).
constexpr std::size_t dispatch_batch_max = 64;

}  // namespace

Result<std::unique_ptr<Service>> Service::start(Node& node, const ServiceSpec& spec,
                                                std::function<ServiceHandler(Service&)> make) {
    ProcessOptions options;
    options.buffering = Buffering::multiple;
    options.queue_limit = spec.queue_limit;
    options.local_id = spec.local_id;
    options.name = spec.name;
    HERALD_TRY(Process process, node.spawn(options));
    return adopt(std::move(process), spec, std::move(make));
}

Result<std::unique_ptr<Service>> Service::adopt(Process process, const ServiceSpec& spec,
                                                std::function<ServiceHandler(Service&)> make) {
    HERALD_TRY(int notify_fd, process.notify_fd());
    const int stop_fd = ::eventfd(0, EFD_CLOEXEC);
    if (stop_fd < 0) {
        return fail(Errc::io_error, std::string("eventfd: ") + std::strerror(errno));
    }
    std::unique_ptr<Service> service(new Service(spec, std::move(process), stop_fd, notify_fd));
    service->handler_ = make(*service);
    service->thread_ = std::thread([s = service.get()] { s->run(); });
    return service;
}

Service::Service(ServiceSpec spec, Process process, int stop_fd, int notify_fd)
    : spec_(std::move(spec)),
      process_(std::move(process)),
      pid_(process_.pid()),
      stop_fd_(stop_fd),
      notify_fd_(notify_fd) {}

Service::~Service() {
    stop();
    ::close(stop_fd_);
}

void Service::signal_stop() {
    const std::uint64_t one = 1;
    // An eventfd write of 1 cannot fail short of overflow (2^64 - 2 pending writes).
    [[maybe_unused]] const auto written = ::write(stop_fd_, &one, sizeof one);
}

void Service::stop() {
    if (!thread_.joinable()) return;
    signal_stop();
    thread_.join();
}

Status Service::move_to(NodeId to, ByteView state, std::chrono::steady_clock::time_point deadline) {
    if (!thread_.joinable()) return fail(Errc::closed, "the service has stopped");
    leaving_ = true;
    signal_stop();
    thread_.join();
    std::uint64_t pending = 0;  // Drains the stop signal, so that a restarted thread runs.
    [[maybe_unused]] const auto read = ::read(stop_fd_, &pending, sizeof pending);
    Status moved = process_.migrate(to, state);
    while (!moved && moved.error().code == Errc::would_block &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        moved = process_.migrate(to, state);
    }
    leaving_ = false;
    if (!moved) thread_ = std::thread([this] { run(); });  // It stays here: serve again.
    return moved;
}

void Service::run() {
    const int notify_fd = notify_fd_;
    const auto handle = [this](Envelope&& message) {
        counters_->handled.fetch_add(1, std::memory_order_relaxed);
        handler_(process_, std::move(message));
    };
    pollfd fds[2] = {{notify_fd, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    for (;;) {
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            log_event(spdlog::level::err, "service_poll_failed",
                      {{"service", spec_.name}, {"error", std::strerror(errno)}});
            break;
        }
        if ((fds[0].revents & POLLIN) != 0) process_.dispatch(handle, dispatch_batch_max);
        if ((fds[1].revents & POLLIN) != 0) break;
    }
    if (leaving_) return;  // Migrating: the queue travels with the process.
    // Stop: every message already in the inbox was accepted from its sender; handle them all.
    std::uint64_t drained = 0;
    while (const std::size_t n = process_.dispatch(handle)) drained += n;
    log_event(spdlog::level::debug, "service_stopped",
              {{"service", spec_.name}, {"drained", drained}});
}

admin::ProcessInfo Service::info() const {
    admin::ProcessInfo info;
    info.pid = to_string(pid_);
    info.name = spec_.name;
    info.service = spec_.kind;
    info.buffering = "multiple";  // Every service's inbox (spawn above).
    info.queue_limit = spec_.queue_limit;
    info.handled = counters_->handled.load(std::memory_order_relaxed);
    info.replies_failed = counters_->replies_failed.load(std::memory_order_relaxed);
    info.queued = process_.queued();
    return info;
}

void Service::reply(Process& self, Pid to, Bytes body) {
    SendOptions options;
    options.mode = SendMode::accepted;
    options.timeout = reply_timeout;
    auto counters = counters_;
    const std::string service = spec_.name;
    auto done = [counters, service, to](Status status) {
        if (status) return;
        counters->replies_failed.fetch_add(1, std::memory_order_relaxed);
        log_event(spdlog::level::debug, "reply_failed",
                  {{"service", service}, {"to", to}, {"error", status.error().to_string()}});
    };
    if (auto started = self.send_async(to, std::move(body), options, done); !started) {
        done(std::move(started));
    }
}

ServiceHandler echo_handler(Service& service) {
    return [&service](Process& self, Envelope&& message) {
        service.reply(self, message.source, std::move(message.body));
    };
}

namespace {

Status failed_into(admin::Reply& reply, const Status& status) {
    if (!status) {
        reply.error = std::string(errc_name(status.error().code));
        reply.detail = status.error().detail;
    }
    return status;
}

// "*": everyone; "<node hex>.0": that node's processes; else a pid.
Result<Pid> parse_grantee(const std::string& who) {
    if (who == "*") return Pid{};
    if (who.ends_with(".0")) {
        HERALD_TRY(auto pid, parse_pid(who.substr(0, who.size() - 2) + ".1"));
        return Pid{pid.node, 0};
    }
    return parse_pid(who);
}

Result<std::uint8_t> parse_rights(const std::string& rights) {
    if (rights == "none") return mailbox_rights::none;
    if (rights == "send") return mailbox_rights::send;
    if (rights == "receive") return mailbox_rights::receive;
    if (rights == "all") return mailbox_rights::all;
    return fail(Errc::invalid_argument, "rights '" + rights + "' (none, send, receive, all)");
}

Status mailbox_op(Node& node, const admin::Request& request) {
    if (request.op == "mailbox_create") {
        MailboxOptions options;
        if (request.durability != "transient" && request.durability != "persistent") {
            return fail(Errc::invalid_argument,
                        "durability '" + request.durability + "' (transient, persistent)");
        }
        options.durability =
            request.durability == "persistent" ? Durability::persistent : Durability::transient;
        options.capacity_messages = request.capacity_messages;
        options.capacity_bytes = request.capacity_bytes;
        options.restricted = request.restricted;
        if (request.board) {
            if (request.retain_ms < 0) return fail(Errc::invalid_argument, "retain_ms < 0");
            BoardOptions board{options.durability, request.capacity_messages,
                               request.capacity_bytes, std::chrono::milliseconds(request.retain_ms),
                               request.restricted};
            return node.create_board(request.name, board);
        }
        if (request.retain_ms != 0) {
            return fail(Errc::invalid_argument, "retain_ms: only for a board");
        }
        return node.create_mailbox(request.name, options);
    }
    if (request.op == "mailbox_destroy") return node.destroy_mailbox(request.name);
    if (request.op == "mailbox_grant") {
        HERALD_TRY(auto who, parse_grantee(request.who));
        HERALD_TRY(auto rights, parse_rights(request.rights));
        return node.grant_mailbox(request.name, who, rights);
    }
    return {};  // mailbox_list
}

void list_mailboxes(Node& node, admin::Reply& reply) {
    auto all = node.mailboxes();
    if (!all) return void(failed_into(reply, fail(std::move(all.error()))));
    for (const auto& m : *all) {
        reply.mailboxes.push_back(
            {m.name, m.durability == Durability::persistent ? "persistent" : "transient",
             m.capacity_messages, m.capacity_bytes, m.messages, m.bytes, m.queued, m.leased,
             m.waiters, m.restricted, m.owner.valid() ? to_string(m.owner) : "", m.grants, m.board,
             m.retain_ms, m.readers, m.first_seq, m.next_seq});
    }
}

admin::NameRecord record_of(const NameInfo& info) {
    return {info.name, to_string(info.owner), static_cast<std::int64_t>(info.lease_left.count())};
}

// The name ops (docs/admin.md): through this node's name service.
Status name_op(Node& node, const admin::Request& request, admin::Reply& reply) {
    if (request.op == "name_register") {
        HERALD_TRY(Pid owner, parse_pid(request.who));
        if (request.lease_ms < 0) return fail(Errc::invalid_argument, "lease_ms must be >= 0");
        const auto lease = request.lease_ms == 0 ? std::chrono::milliseconds(default_name_lease)
                                                 : std::chrono::milliseconds(request.lease_ms);
        return node.register_name(request.name, owner, lease);
    }
    if (request.op == "name_unregister") return node.unregister_name(request.name);
    if (request.op == "name_lookup") {
        HERALD_TRY(NameInfo info, node.lookup_name(request.name));
        reply.names.push_back(record_of(info));
        reply.pid = to_string(info.owner);
        return {};
    }
    HERALD_TRY(auto all, node.list_names(request.name));  // name_list
    for (const auto& info : all) reply.names.push_back(record_of(info));
    return {};
}

admin::Reply answer(Node& node, GroupOps& groups, Process& self,
                    const std::function<admin::Reply()>& status, const DaemonOps& daemon_ops,
                    const Envelope& message) {
    admin::Reply reply;
    auto request = admin::decode_request(message.body);
    if (!request) {
        reply.error = std::string(errc_name(request.error().code));
        reply.detail = request.error().detail;
        return reply;
    }
    if (request->op == "status") {
        reply = status();
    } else if (request->op == "whereis") {
        if (auto pid = node.whereis(request->name)) {
            reply.pid = to_string(*pid);
        } else {
            reply.error = std::string(errc_name(pid.error().code));
            reply.detail = "no process named '" + request->name + "' on this node";
        }
    } else if (request->op.starts_with("mailbox_") &&
               (request->op == "mailbox_create" || request->op == "mailbox_destroy" ||
                request->op == "mailbox_list" || request->op == "mailbox_grant")) {
        if (failed_into(reply, mailbox_op(node, *request))) list_mailboxes(node, reply);
    } else if (request->op == "name_register" || request->op == "name_lookup" ||
               request->op == "name_unregister" || request->op == "name_list") {
        (void)failed_into(reply, name_op(node, *request, reply));
    } else if (GroupOps::handles(request->op)) {
        (void)failed_into(reply, groups.run(self, *request, reply));
    } else if (daemon_ops(*request, reply)) {
        // spawn, migrate: answered by the daemon (daemon.cpp).
    } else {
        reply.error = std::string(errc_name(Errc::invalid_argument));
        reply.detail = "unknown admin op '" + request->op +
                       "' (allowed: status, whereis, mailbox_create, mailbox_destroy, "
                       "mailbox_list, mailbox_grant, name_register, name_lookup, "
                       "name_unregister, name_list, group_create, group_join, group_leave, "
                       "group_send, group_view, group_ls, group_delete, group_views, "
                       "group_recv, spawn, migrate)";
    }
    reply.id = request->id;
    return reply;
}

bool caller_is_local(Node& node, const Envelope& message) {
    auto local = node.is_local_peer(message.source.node);
    return local && *local;
}

// The answer to a caller admin_access = "local" does not admit: access_denied, with the
// request's id when it has one.
admin::Reply refusal(const Envelope& message) {
    admin::Reply reply;
    auto request = admin::decode_request(message.body);
    if (request) reply.id = request->id;
    reply.error = std::string(errc_name(Errc::access_denied));
    reply.detail =
        "admin operations are limited to callers on this host (services.admin_access = local)";
    log_event(spdlog::level::warn, "admin_refused",
              {{"source", to_string(message.source)},
               {"op", request ? request->op : std::string("(not an admin request)")}});
    return reply;
}

}  // namespace

ServiceHandler admin_handler(Service& service, Node& node, AdminAccess access,
                             std::function<admin::Reply()> status, DaemonOps daemon_ops) {
    auto groups = std::make_shared<GroupOps>(node);
    return [&service, &node, access, groups, status = std::move(status),
            daemon_ops = std::move(daemon_ops)](Process& self, Envelope&& message) {
        auto body = admin::encode(access == AdminAccess::local && !caller_is_local(node, message)
                                      ? refusal(message)
                                      : answer(node, *groups, self, status, daemon_ops, message));
        if (!body) {
            log_event(spdlog::level::err, "admin_encode_failed",
                      {{"error", body.error().to_string()}});
            return;
        }
        service.reply(self, message.source, std::move(*body));
    };
}

}  // namespace herald::daemon
