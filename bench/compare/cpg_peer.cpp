// bench-cpg: the group workloads over Corosync CPG (libcpg's C API), the group communication a
// Corosync user would reach for: one member per corosync daemon, agreed (total) order, every
// member multicasting at once (--pattern mcast) or rank 0 paced (--pattern paced). It must run
// in its daemon's network namespace: libqb's IPC sockets are abstract Unix sockets, one set per
// namespace. Layer: bench (compare/ is the only place libcpg is linked).
#include <corosync/cpg.h>
#include <poll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "bench/common/mcast.h"
#include "bench/common/peer.h"
#include "core/result.h"  // HERALD_TRY

namespace herald::bench {
namespace {

constexpr const char* group_name = "herald-bench";
constexpr std::int64_t try_again_poll_ns = 1'000'000;  // Flow control: dispatch, then send again.

Error cpg_error(std::string_view what, cs_error_t error) {
    return Error{Errc::io_error, std::string(what) + ": " + cs_strerror(error)};
}

struct Member {
    std::optional<McastMeter> meter;
    std::size_t members_seen = 0;
    bool left = false;  // A member left during the run: the group is broken.
};

void on_deliver(cpg_handle_t handle, const cpg_name*, std::uint32_t, std::uint32_t, void* msg,
                std::size_t length) {
    void* context = nullptr;
    if (cpg_context_get(handle, &context) != CS_OK || context == nullptr) return;
    auto& member = *static_cast<Member*>(context);
    if (!member.meter) return;  // Before "go": nobody sends yet.
    member.meter->on_deliver({static_cast<const std::uint8_t*>(msg), length}, now_ns());
}

void on_confchg(cpg_handle_t handle, const cpg_name*, const cpg_address*, std::size_t entries,
                const cpg_address*, std::size_t left, const cpg_address*, std::size_t) {
    void* context = nullptr;
    if (cpg_context_get(handle, &context) != CS_OK || context == nullptr) return;
    auto& member = *static_cast<Member*>(context);
    member.members_seen = entries;
    if (left > 0 && member.meter) member.left = true;
}

// Owns the CPG handle: finalize on every exit path.
class Cpg {
public:
    ~Cpg() {
        if (open_) cpg_finalize(handle_);
    }
    // Connects to the local daemon, retrying until `deadline` while it starts up (its IPC is
    // not there yet: CS_ERR_LIBRARY; or busy: CS_ERR_TRY_AGAIN).
    Status open(Member& member, std::int64_t deadline) {
        cpg_callbacks_t callbacks{on_deliver, on_confchg};
        cs_error_t error = CS_OK;
        while ((error = cpg_initialize(&handle_, &callbacks)) != CS_OK) {
            if (error != CS_ERR_LIBRARY && error != CS_ERR_TRY_AGAIN) break;
            if (now_ns() >= deadline) break;
            ::poll(nullptr, 0, 50);
        }
        if (error != CS_OK) return fail(cpg_error("cpg_initialize", error));
        open_ = true;
        if ((error = cpg_context_set(handle_, &member)) != CS_OK) {
            return fail(cpg_error("cpg_context_set", error));
        }
        if ((error = cpg_fd_get(handle_, &fd_)) != CS_OK) return fail(cpg_error("cpg_fd", error));
        cpg_name name{};
        name.length = static_cast<std::uint32_t>(std::strlen(group_name));
        std::memcpy(name.value, group_name, name.length);
        while ((error = cpg_join(handle_, &name)) == CS_ERR_TRY_AGAIN && now_ns() < deadline) {
            ::poll(nullptr, 0, 10);
        }
        if (error != CS_OK) return fail(cpg_error("cpg_join", error));
        return {};
    }
    // Waits up to `timeout_ns` for the daemon's events and runs their callbacks.
    Status dispatch(std::int64_t timeout_ns) {
        pollfd fd{fd_, POLLIN, 0};
        if (poll_for(std::span(&fd, 1), timeout_ns) <= 0) return {};
        cs_error_t error = cpg_dispatch(handle_, CS_DISPATCH_ALL);
        if (error != CS_OK && error != CS_ERR_TRY_AGAIN) return fail(cpg_error("dispatch", error));
        return {};
    }
    // Until stdin closes (the driver's "all done") or `timeout_ms`, keeps dispatching, so
    // that the daemon never holds undelivered events for this member while others finish.
    void linger(std::int64_t timeout_ms) {
        const std::int64_t deadline = now_ns() + timeout_ms * 1'000'000;
        for (std::int64_t left = timeout_ms; left > 0; left = (deadline - now_ns()) / 1'000'000) {
            std::array<pollfd, 2> fds{{{STDIN_FILENO, POLLIN, 0}, {fd_, POLLIN, 0}}};
            if (::poll(fds.data(), fds.size(), static_cast<int>(left)) < 0 && errno != EINTR) {
                return;
            }
            if (fds[0].revents != 0) {
                std::array<char, 256> sink{};
                if (::read(STDIN_FILENO, sink.data(), sink.size()) <= 0) return;
            }
            if (fds[1].revents != 0 && cpg_dispatch(handle_, CS_DISPATCH_ALL) != CS_OK) return;
        }
    }
    // CS_OK, CS_ERR_TRY_AGAIN (the daemon's queue is full: dispatch and retry), or an error.
    cs_error_t send(std::span<const std::uint8_t> body) {
        iovec iov{const_cast<std::uint8_t*>(body.data()), body.size()};
        return cpg_mcast_joined(handle_, CPG_TYPE_AGREED, &iov, 1);
    }

private:
    cpg_handle_t handle_ = 0;
    int fd_ = -1;
    bool open_ = false;
};

Status wait_for_members(Cpg& cpg, Member& member, std::uint32_t members) {
    const std::int64_t deadline = now_ns() + group_form_timeout_ms * 1'000'000;
    while (member.members_seen < members) {
        if (now_ns() >= deadline) {
            return fail(Errc::timeout, "cpg group has " + std::to_string(member.members_seen) +
                                           " of " + std::to_string(members) + " members");
        }
        HERALD_TRY(cpg.dispatch(50'000'000));
    }
    return {};
}

// One thread, as libcpg programs are written: send while the sender has something due and
// the daemon takes it, dispatch deliveries in between.
Status run_group(const PeerArgs& args, Cpg& cpg, Member& member) {
    const std::int64_t start = now_ns();
    McastSender sender(args, start);
    McastMeter& meter = member.meter.emplace(args);
    const std::int64_t deadline =
        start + (args.warmup_ms + args.duration_ms + group_drain_timeout_ms) * 1'000'000;
    while (!meter.complete() && now_ns() < deadline && !member.left) {
        const std::int64_t now = now_ns();
        const auto next = sender.next(now);
        if (next == McastSender::Next::data || next == McastSender::Next::end) {
            cs_error_t error = cpg.send(sender.body(next, now));
            if (error == CS_OK) {
                sender.sent(next);
                HERALD_TRY(cpg.dispatch(0));
                continue;
            }
            if (error != CS_ERR_TRY_AGAIN) return fail(cpg_error("cpg_mcast_joined", error));
            HERALD_TRY(cpg.dispatch(try_again_poll_ns));
            continue;
        }
        HERALD_TRY(cpg.dispatch(sender.wait_ns(now)));
    }
    if (member.left) return fail(Errc::closed, "a member left the cpg group during the run");
    return {};
}

Status run(const PeerArgs& args) {
    if (args.pattern != Pattern::mcast && args.pattern != Pattern::paced) {
        return fail(Errc::invalid_argument, "bench-cpg: --pattern must be mcast or paced");
    }
    if (args.dir.empty()) return fail(Errc::invalid_argument, "bench-cpg: --dir is required");
    Member member;
    Cpg cpg;
    HERALD_TRY(cpg.open(member, now_ns() + group_form_timeout_ms * 1'000'000));
    announce_ready("cpg");
    HERALD_TRY(read_command("peers", now_ns() + group_form_timeout_ms * 1'000'000));
    HERALD_TRY(read_command("join", now_ns() + group_form_timeout_ms * 1'000'000));
    std::fputs("member\n", stdout);  // cpg_join above; the driver's order does not matter.
    std::fflush(stdout);
    HERALD_TRY(wait_for_members(cpg, member, args.members));
    std::fputs("joined\n", stdout);
    std::fflush(stdout);
    HERALD_TRY(read_command("go", now_ns() + group_form_timeout_ms * 1'000'000));
    HERALD_TRY(run_group(args, cpg, member));
    HERALD_TRY(member.meter->write_samples(samples_path(args.dir, args.rank)));
    announce_result(member.meter->fields());
    // Stay in the group until every member is done: leaving would be a configuration change
    // at the others while they still count.
    cpg.linger(group_drain_timeout_ms);
    return {};
}

}  // namespace
}  // namespace herald::bench

int main(int argc, char** argv) {
    return herald::bench::peer_main("bench-cpg", argc, argv, herald::bench::run);
}
