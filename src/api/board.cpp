// herald::Board and Node::create_board: the public face of bulletin boards (a mailbox kind of
// the mailbox engine), over runtime::NodeMailbox. Layer: api. Rules: docs/boards.md.
#include <algorithm>
#include <utility>

#include "herald/mailbox.h"
#include "herald/node.h"
#include "herald/process.h"
#include "proto/mailbox/mailbox_engine.h"
#include "runtime/node.h"
#include "runtime/node_mailbox.h"
#include "runtime/node_process.h"

namespace herald {
namespace {

// The engine waits at most wait_ms_max per request; longer reads ask again.
constexpr std::chrono::milliseconds board_wait_step{60'000};

BoardRead to_read(proto::mailbox::BoardBatch b) {
    BoardRead r{b.missed, b.cursor, {}};
    r.posts.reserve(b.posts.size());
    for (auto& p : b.posts) {
        r.posts.push_back({p.seq, p.posted_ns, p.sender, p.message_id, std::move(p.body)});
    }
    return r;
}

}  // namespace

Board::Board(std::shared_ptr<runtime::Node> node, std::shared_ptr<runtime::ProcessState> state,
             NodeId host, std::string name)
    : node_(std::move(node)), state_(std::move(state)), host_(host), name_(std::move(name)) {}

Board::Board(Board&&) noexcept = default;
Board& Board::operator=(Board&&) noexcept = default;
Board::~Board() = default;

Result<std::uint64_t> Board::post(ByteView body) {
    if (state_->closed()) return fail(Errc::closed, "process has exited");
    return node_->mailbox().post(state_->pid(), host_, name_, Bytes(body.begin(), body.end()));
}

Result<std::uint64_t> Board::post(std::string_view text) {
    const auto* data = reinterpret_cast<const std::uint8_t*>(text.data());
    return post(ByteView(data, text.size()));
}

Result<BoardRead> Board::read(std::chrono::nanoseconds timeout, std::uint32_t max_posts) {
    return read_at(0, timeout, max_posts);
}

Result<BoardRead> Board::try_read(std::uint32_t max_posts) {
    auto r = read_at(0, std::chrono::nanoseconds::zero(), max_posts);
    if (!r && r.error().code == Errc::timeout) return fail(Errc::would_block, "no new post");
    return r;
}

Result<BoardRead> Board::read_from(std::uint64_t from, std::chrono::nanoseconds timeout,
                                   std::uint32_t max_posts) {
    if (from == 0) return fail(Errc::invalid_argument, "from 0: use read()");
    return read_at(from, timeout, max_posts);
}

// B8: after a read that failed in a way that may have moved the host's cursor (no answer, or
// the host restarted), the next cursor read names its start: the seq after the last returned.
Result<BoardRead> Board::read_at(std::uint64_t from, std::chrono::nanoseconds timeout,
                                 std::uint32_t max_posts) {
    const auto deadline = timeout == forever ? std::chrono::steady_clock::time_point::max()
                                             : std::chrono::steady_clock::now() + timeout;
    for (int restarts = 0;;) {
        if (state_->closed()) return fail(Errc::closed, "process has exited");
        const auto left = deadline - std::chrono::steady_clock::now();
        const auto step = std::max<std::chrono::nanoseconds>(
            std::min<std::chrono::nanoseconds>(left, board_wait_step),
            std::chrono::nanoseconds::zero());
        const std::uint64_t start = from != 0 ? from : (resume_ && last_ != 0 ? last_ + 1 : 0);
        auto r = node_->mailbox().read(state_->pid(), host_, name_, start, max_posts,
                                       Duration::nanoseconds(step.count()));
        if (r) {
            last_ = r->posts.empty() ? last_ : r->posts.back().seq;
            resume_ = false;
            return to_read(std::move(*r));
        }
        const Errc code = r.error().code;
        if (code == Errc::unreachable) resume_ = true;
        if (code == Errc::peer_restarted && restarts++ < 3) {
            resume_ = true;  // The restarted host may have moved the cursor: read on from last.
            continue;
        }
        const bool more = code == Errc::timeout && step < left;
        if (!more) return fail(std::move(r.error()));
    }
}

Result<Board> Process::open_board(NodeId host, std::string_view name) {
    if (!state_ || state_->closed()) return fail(Errc::closed, "process has exited");
    if (!host.known() || !proto::mailbox::valid_mailbox_name(
                             name, proto::mailbox::MailboxOptions{}.name_bytes_max)) {
        return fail(Errc::invalid_argument, "board host or name");
    }
    // One peek (wait 0): a board answers it invalid_argument (B6), which shows that it exists
    // and is a board; a mailbox answers timeout or a copy. A post-only handle may not peek.
    proto::mailbox::ReceiveFilter peek;
    peek.peek = true;
    auto probe =
        node_->mailbox().receive(state_->pid(), host, std::string(name), Duration::zero(), peek);
    if (probe || probe.error().code == Errc::timeout) {
        return fail(Errc::invalid_argument,
                    "'" + std::string(name) + "' is a mailbox, not a board");
    }
    const Errc code = probe.error().code;
    if (code != Errc::invalid_argument && code != Errc::access_denied) {
        return fail(std::move(probe.error()));
    }
    return Board(node_, state_, host, std::string(name));
}

Status Node::create_board(std::string_view name, const BoardOptions& options, Pid owner) {
    if (options.retain.count() < 0) return fail(Errc::invalid_argument, "retain < 0");
    proto::mailbox::MailboxSpec spec;
    spec.name = std::string(name);
    spec.durability = static_cast<proto::mailbox::Durability>(options.durability);
    spec.capacity_messages = options.keep;
    spec.capacity_bytes = options.capacity_bytes;
    spec.restricted = options.restricted;
    spec.owner = owner;
    spec.board = true;
    spec.retain_ms = static_cast<std::uint64_t>(options.retain.count());
    return impl_->mailbox().create(spec);
}

}  // namespace herald
