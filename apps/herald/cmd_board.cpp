// herald board create|ls|rm (admin requests to the heraldd hosting the board) and post|read
// (the mailbox protocol's bulletin boards, from the CLI's own node). Layer: apps.
// docs/cli.md ("herald board"), docs/boards.md.
#include <fmt/format.h>

#include <ctime>

#include "cli.h"

namespace herald::cli {
namespace {

// "2026-12-06T12:00:00.123Z": a post time (ns since the Unix epoch, UTC).
std::string utc_of(std::int64_t ns) {
    const std::time_t seconds = static_cast<std::time_t>(ns / 1'000'000'000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    return fmt::format("{}.{:03}Z", text, (ns / 1'000'000) % 1000);
}

nlohmann::json board_json(const admin::MailboxEntry& m) {
    return {{"name", m.name},
            {"durability", m.durability},
            {"posts", m.messages},
            {"bytes", m.bytes},
            {"keep", m.capacity_messages},
            {"capacity_bytes", m.capacity_bytes},
            {"retain_ms", m.retain_ms},
            {"readers", m.readers},
            {"first_seq", m.first_seq},
            {"next_seq", m.next_seq},
            {"waiters", m.waiters},
            {"restricted", m.restricted}};
}

Result<admin::Request> admin_request(const BoardArgs& args) {
    admin::Request request;
    request.name = args.name;
    if (args.action == "create") {
        HERALD_TRY(auto retain, parse_duration(args.retain));
        if (retain == std::chrono::nanoseconds::max()) retain = std::chrono::nanoseconds::zero();
        request.op = "mailbox_create";
        request.board = true;
        request.durability = args.persistent ? "persistent" : "transient";
        request.capacity_messages = args.keep;
        request.capacity_bytes = args.capacity_bytes;
        request.restricted = args.restricted;
        request.retain_ms = std::chrono::duration_cast<std::chrono::milliseconds>(retain).count();
    } else if (args.action == "rm") {
        request.op = "mailbox_destroy";
    } else {
        request.op = "mailbox_list";
    }
    return request;
}

int run_admin_op(const Output& out, const BoardArgs& args, const Deadline& deadline) {
    auto request = admin_request(args);
    if (!request) return out.error(request.error());
    auto client = start_client(args.url, args.listen);
    if (!client) return out.error(client.error());
    auto self = (*client)->node->spawn();
    if (!self) return out.error(self.error());
    auto reply = admin_call(*(*client)->node, *self, args.url, *request, deadline);
    if (!reply) return out.error(reply.error());
    if (args.action == "ls") {
        for (const auto& m : reply->mailboxes) {
            if (!m.board) continue;
            const std::string seqs =
                m.first_seq == 0 ? "empty" : fmt::format("seq {}..{}", m.first_seq, m.next_seq - 1);
            out.result(fmt::format("{} {} {} posts ({}), keep {}, retain {} ms, {} readers", m.name,
                                   m.durability, m.messages, seqs, m.capacity_messages, m.retain_ms,
                                   m.readers),
                       board_json(m));
        }
        return exit_ok;
    }
    const bool created = args.action == "create";
    out.result(fmt::format("{} board {}", created ? "created" : "removed", args.name),
               {{"ok", true}, {"op", request->op}, {"name", args.name}});
    return exit_ok;
}

nlohmann::json post_json(const BoardPost& p) {
    const auto body = render_body(p.body);
    return {{"seq", p.seq},
            {"posted_ns", p.posted_ns},
            {"sender", to_string(p.sender)},
            {"message_id", p.message_id},
            {"format", body.format},
            {"body", body.value}};
}

int print_read(const Output& out, const BoardRead& r) {
    if (r.missed > 0) {
        out.result(fmt::format("missed {} post(s): evicted before this read", r.missed),
                   {{"missed", r.missed}});
    }
    for (const auto& p : r.posts) {
        out.result(fmt::format("{} {} [from {}, posted {}]", p.seq, render_body(p.body).text,
                               to_string(p.sender), utc_of(p.posted_ns)),
                   post_json(p));
    }
    out.result(fmt::format("next: --from {}", r.cursor),
               {{"cursor", r.cursor}, {"posts", r.posts.size()}, {"missed", r.missed}});
    return exit_ok;
}

int run_data_op(const Output& out, const BoardArgs& args, const Deadline& deadline) {
    auto client = start_client(args.url, args.listen);
    if (!client) return out.error(client.error());
    Node& node = *(*client)->node;
    auto host = node.connect(args.url, deadline.remaining());
    if (!host) return out.error(host.error());
    auto self = node.spawn();
    if (!self) return out.error(self.error());
    auto board = self->open_board(*host, args.name);
    if (!board) return out.error(board.error());
    if (args.action == "post") {
        for (std::uint32_t i = 1; i <= args.count; ++i) {
            const std::string body =
                args.count == 1 ? args.body : fmt::format("{} {}", args.body, i);
            auto seq = board->post(body);
            if (!seq) return out.error(seq.error());
            out.result(fmt::format("posted seq {} to {}", *seq, args.name),
                       {{"ok", true}, {"seq", *seq}, {"name", args.name}});
        }
        return exit_ok;
    }
    // The CLI's pid is new on every run, so its cursor is too: read from --from, or from the
    // oldest retained post.
    auto r = args.from != 0 ? board->read_from(args.from, deadline.remaining(), args.read_count)
                            : board->read(deadline.remaining(), args.read_count);
    if (!r) return out.error(r.error());
    return print_read(out, *r);
}

}  // namespace

int run_board(const Output& out, const BoardArgs& args) {
    auto timeout = parse_duration(args.timeout);
    if (!timeout) return out.error(timeout.error());
    const Deadline deadline(*timeout);
    if (args.action == "post" || args.action == "read") return run_data_op(out, args, deadline);
    return run_admin_op(out, args, deadline);
}

}  // namespace herald::cli
