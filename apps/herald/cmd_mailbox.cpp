// herald mailbox create|ls|stats|rm|grant (admin requests to the heraldd hosting the mailbox)
// and send|recv|ack (the mailbox protocol, from the CLI's own node). Layer: apps.
// docs/cli.md ("herald mailbox").
#include <fmt/format.h>

#include "cli.h"

namespace herald::cli {
namespace {

nlohmann::json entry_json(const admin::MailboxEntry& m) {
    return {{"name", m.name},
            {"durability", m.durability},
            {"capacity_messages", m.capacity_messages},
            {"capacity_bytes", m.capacity_bytes},
            {"messages", m.messages},
            {"bytes", m.bytes},
            {"queued", m.queued},
            {"leased", m.leased},
            {"waiters", m.waiters},
            {"restricted", m.restricted},
            {"owner", m.owner},
            {"grants", m.grants}};
}

void print_entries(const Output& out, const MailboxArgs& args, const admin::Reply& reply) {
    for (const auto& m : reply.mailboxes) {
        if (args.action == "stats" && !args.name.empty() && m.name != args.name) continue;
        const std::string text =
            args.action == "ls"
                ? fmt::format("{} {} {} messages", m.name, m.durability, m.messages)
                : fmt::format(
                      "{}: {}{}, {} of {} messages, {} of {} bytes, {} queued, {} leased, "
                      "{} waiting receives, owner {}, {} grants",
                      m.name, m.durability, m.restricted ? " restricted" : "", m.messages,
                      m.capacity_messages, m.bytes, m.capacity_bytes, m.queued, m.leased, m.waiters,
                      m.owner.empty() ? "the node" : m.owner, m.grants);
        out.result(text, entry_json(m));
    }
}

int run_admin_op(const Output& out, const MailboxArgs& args, const Deadline& deadline) {
    auto client = start_client(args.url, args.listen);
    if (!client) return out.error(client.error());
    auto self = (*client)->node->spawn();
    if (!self) return out.error(self.error());
    admin::Request request;
    request.name = args.name;
    if (args.action == "create") {
        request.op = "mailbox_create";
        request.durability = args.persistent ? "persistent" : "transient";
        request.capacity_messages = args.capacity_messages;
        request.capacity_bytes = args.capacity_bytes;
        request.restricted = args.restricted;
    } else if (args.action == "rm") {
        request.op = "mailbox_destroy";
    } else if (args.action == "grant") {
        request.op = "mailbox_grant";
        request.who = args.who;
        request.rights = args.rights;
    } else {
        request.op = "mailbox_list";
    }
    auto reply = admin_call(*(*client)->node, *self, args.url, request, deadline);
    if (!reply) return out.error(reply.error());
    if (args.action == "ls" || args.action == "stats") {
        print_entries(out, args, *reply);
        if (args.action == "stats" && !args.name.empty()) {
            for (const auto& m : reply->mailboxes) {
                if (m.name == args.name) return exit_ok;
            }
            return out.error(Errc::not_found, "no mailbox '" + args.name + "' on " + args.url);
        }
        return exit_ok;
    }
    out.result(fmt::format("{} {}",
                           args.action == "create" ? "created"
                           : args.action == "rm"   ? "removed"
                                                   : "granted",
                           args.name),
               {{"ok", true}, {"op", request.op}, {"name", args.name}});
    return exit_ok;
}

nlohmann::json received_json(const MailboxMessage& m) {
    const auto body = render_body(m.body);
    return {{"tag", m.tag},
            {"message_id", m.message_id},
            {"deliveries", m.deliveries},
            {"redelivery", m.redelivery},
            {"sender", to_string(m.sender)},
            {"format", body.format},
            {"body", body.value}};
}

int run_data_op(const Output& out, const MailboxArgs& args, const Deadline& deadline) {
    auto client = start_client(args.url, args.listen);
    if (!client) return out.error(client.error());
    Node& node = *(*client)->node;
    auto host = node.connect(args.url, deadline.remaining());
    if (!host) return out.error(host.error());
    auto self = node.spawn();
    if (!self) return out.error(self.error());
    auto box = self->open_mailbox(*host, args.name);
    if (!box) return out.error(box.error());
    if (args.action == "send") {
        for (std::uint32_t i = 1; i <= args.count; ++i) {
            const std::string body =
                args.count == 1 ? args.body : fmt::format("{} {}", args.body, i);
            if (auto sent = box->send(body); !sent) return out.error(sent.error());
        }
        out.result(fmt::format("sent {} message(s) to {}", args.count, args.name),
                   {{"ok", true}, {"sent", args.count}, {"name", args.name}});
        return exit_ok;
    }
    if (args.action == "ack") {
        if (auto acked = box->ack(args.tag); !acked) return out.error(acked.error());
        out.result(fmt::format("acknowledged {}", args.tag), {{"ok", true}, {"tag", args.tag}});
        return exit_ok;
    }
    std::uint32_t got = 0;
    while (args.count == 0 || got < args.count) {
        auto m = args.from.empty() ? box->receive(deadline.remaining())
                                   : [&]() -> Result<MailboxMessage> {
            auto from = parse_pid(args.from);
            if (!from) return fail(std::move(from.error()));
            return box->receive_from(*from, deadline.remaining());
        }();
        if (!m) {
            if (m.error().code == Errc::timeout && args.count == 0 && got > 0) return exit_ok;
            return out.error(m.error());
        }
        ++got;
        if (!args.no_ack) {
            if (auto acked = box->ack(*m); !acked) return out.error(acked.error());
        }
        const auto body = render_body(m->body);
        out.result(fmt::format("{}{} [tag {}, from {}]", body.text,
                               m->redelivery ? " (redelivery)" : "", m->tag, to_string(m->sender)),
                   received_json(*m));
    }
    return exit_ok;
}

}  // namespace

int run_mailbox(const Output& out, const MailboxArgs& args) {
    auto timeout = parse_duration(args.timeout);
    if (!timeout) return out.error(timeout.error());
    const Deadline deadline(*timeout);
    if (args.action == "send" || args.action == "recv" || args.action == "ack") {
        return run_data_op(out, args, deadline);
    }
    return run_admin_op(out, args, deadline);
}

}  // namespace herald::cli
