// MailboxEngine, bulletin boards (docs/boards.md): a board is a mailbox whose receives copy
// posts instead of taking them. Posts get a seq that is never reused; retention by count, bytes
// and age evicts the oldest; each reader pid has a cursor (durable on persistent boards).
// Layer: proto/mailbox.
#include <algorithm>
#include <charconv>

#include "core/assert.h"
#include "proto/mailbox/mailbox_engine.h"

namespace herald::proto::mailbox {

using wire::PacketKind;

namespace {

// The first seq a read may not return yet: posts become readable in seq order (B5).
std::uint64_t readable_end(const Mailbox& box) {
    return box.posting.empty() ? box.next_seq : *box.posting.begin();
}

bool parse_hex(std::string_view text, std::uint64_t& value) {
    return !text.empty() &&
           std::from_chars(text.data(), text.data() + text.size(), value, 16).ec == std::errc{};
}

}  // namespace

Errc MailboxEngine::check_board_spec(const MailboxSpec& spec) const {
    if (!spec.board) return spec.retain_ms == 0 ? Errc::ok : Errc::invalid_argument;
    if (spec.capacity_messages > options_.board_retain_messages_max ||
        spec.retain_ms > options_.board_retain_ms_max) {
        return Errc::invalid_argument;
    }
    return Errc::ok;
}

// Drops the oldest retained post (B3): persistent boards erase it and record the new eviction
// frontier under `token`, so that its seq is not given again after a restart.
void MailboxEngine::evict_post(const std::string& name, Mailbox& box, std::uint64_t token,
                               Effects& out) {
    HERALD_ASSERT(!box.posts.empty());
    auto oldest = box.posts.begin();
    const auto seq = oldest->first;
    --box.messages;
    box.bytes -= oldest->second.body.size();
    const SeenKey key{oldest->second.sender.node.value, oldest->second.message_id};
    const bool persistent = box.durability == Durability::persistent;
    if (persistent) {
        // A tombstone (M4) with the seq: a late copy of the post, even after a restart, is
        // answered with its seq and not posted again.
        Bytes tombstone;
        put_u64(tombstone, seen_order_);
        put_u64(tombstone, seq);
        out.persist(token, tombstone_key(oldest->second.sender.node, key.second),
                    std::move(tombstone));
    }
    remember_seen(key, Seen::State::acked, persistent);
    seen_[key].seq = seq;
    box.posts.erase(oldest);
    box.evicted = std::max(box.evicted, seq);
    ++counters_.board_evicted;
    if (persistent) {
        out.erase(token, post_key(name, seq));
        Bytes frontier;
        put_u64(frontier, box.evicted);
        out.persist(token, evicted_key(name), std::move(frontier));
    }
}

// B2-B3: a post gets the next seq, making room first by evicting the oldest retained posts.
void MailboxEngine::post(const std::string& name, Mailbox& box, MailboxPacket& m, Time now,
                         Effects& out) {
    const auto token = next_token_++;
    while (!box.posts.empty() && (box.messages >= box.capacity_messages ||
                                  box.bytes + m.body.size() > box.capacity_bytes)) {
        evict_post(name, box, token, out);
    }
    const SeenKey key{m.source.node.value, m.id};
    if (box.messages >= box.capacity_messages || box.bytes + m.body.size() > box.capacity_bytes) {
        // Only posts being written fill it: they cannot be evicted before they are readable.
        ++counters_.refused_full;
        remember_seen(key, Seen::State::refused, false, Errc::queue_full);
        return transmit(m.source.node, answer_to(m, PacketKind::mailbox_accept, Errc::queue_full),
                        out);
    }
    const auto seq = box.next_seq++;
    ++box.messages;
    box.bytes += m.body.size();
    auto reply = answer_to(m, PacketKind::mailbox_accept, Errc::ok);
    reply.mailbox_seq = seq;
    BoardPost p{seq, wall_ns(now), m.source, m.id, std::move(m.body)};
    if (box.durability == Durability::transient) {
        remember_seen(key, Seen::State::stored, false);
        seen_[key].seq = seq;
        ++counters_.accepted;
        ++counters_.board_posts;
        transmit(m.source.node, reply, out);
        box.posts.emplace(seq, std::move(p));
        return wake_readers(name, box, now, out);
    }
    remember_seen(key, Seen::State::writing, true);
    seen_[key].seq = seq;
    box.posting.insert(seq);
    out.persist(token, post_key(name, seq), encode_post(p));
    writes_.emplace(token, WritePost{name, std::move(reply), std::move(p)});
}

void MailboxEngine::durable_post(WritePost& w, const Status& status, Time now, Effects& out) {
    const SeenKey key{w.post.sender.node.value, w.post.message_id};
    auto it = boxes_.find(w.board);
    if (it == boxes_.end()) {  // Destroyed while it was written (M13).
        remember_seen(key, Seen::State::refused, false, Errc::closed);
        if (status) out.erase(next_token_++, post_key(w.board, w.post.seq));
        w.answer.reason = Errc::closed;
        w.answer.mailbox_seq = 0;
        return transmit(w.answer.target.node, w.answer, out);
    }
    auto& box = it->second;
    box.posting.erase(w.post.seq);
    if (!status) {
        --box.messages;
        box.bytes -= w.post.body.size();
        remember_seen(key, Seen::State::refused, false, Errc::storage_error);
        w.answer.reason = Errc::storage_error;
        w.answer.mailbox_seq = 0;
        transmit(w.answer.target.node, w.answer, out);
        return wake_readers(it->first, box, now, out);  // Later posts may be readable now.
    }
    seen_[key].state = Seen::State::stored;
    ++counters_.accepted;
    ++counters_.board_posts;
    transmit(w.answer.target.node, w.answer, out);
    box.posts.emplace(w.post.seq, std::move(w.post));
    wake_readers(it->first, box, now, out);
}

void MailboxEngine::on_board_read(NodeId from, const std::string& name, Mailbox& box,
                                  const MailboxPacket& m, Time now, Effects& out) {
    const RequestKey key{from.value, m.source_incarnation, m.source.local, m.id};
    if (!box.cursors.contains(m.source) && box.cursors.size() >= options_.board_readers_max) {
        return answer(from, key, answer_to(m, PacketKind::mailbox_deliver, Errc::queue_full), now,
                      out);
    }
    // B8: a cursor read first sent before this incarnation started may have moved the cursor
    // there, its answer lost with it: the reader learns that, and reads on from its last seq.
    if (m.board_from == 0 && box.durability == Durability::persistent &&
        maybe_sent_before_start(m, box, now)) {
        return answer(from, key, answer_to(m, PacketKind::mailbox_deliver, Errc::peer_restarted),
                      now, out);
    }
    Waiter w;
    w.receiver = m.source;
    w.incarnation = m.source_incarnation;
    w.request = m.id;
    w.until = now + Duration::milliseconds(m.wait_ms);
    w.board_from = m.board_from;
    w.board_count = m.board_count;
    if (serve(name, box, w, now, out)) return;
    if (m.wait_ms == 0) {
        return answer(from, key, answer_to(m, PacketKind::mailbox_deliver, Errc::timeout), now,
                      out);
    }
    box.waiters.push_back(w);
    answers_[key] = Answer{{}, false, Time::max()};
}

// B6-B8: answers `w` with the readable posts from its seq (or its cursor) on, and advances its
// cursor past them; false when there is none yet (the read waits or times out).
bool MailboxEngine::serve(const std::string& name, Mailbox& box, const Waiter& w, Time now,
                          Effects& out) {
    const auto cursor = box.cursors.find(w.receiver);
    const std::uint64_t oldest = box.evicted + 1;
    // A new reader starts at the oldest retained post (it missed nothing).
    std::uint64_t start = w.board_from != 0             ? w.board_from
                          : cursor != box.cursors.end() ? cursor->second
                                                        : oldest;
    BoardBatch batch;
    batch.missed =
        start < oldest && !options_.mutations.board_missed_unreported ? oldest - start : 0;
    start = std::max(start, oldest);
    std::size_t bytes = 0;
    const auto end = readable_end(box);
    for (auto p = box.posts.lower_bound(start);
         p != box.posts.end() && p->first < end && batch.posts.size() < w.board_count; ++p) {
        // One answer stays within body_bytes_max, but always carries at least one post.
        const auto size = board_post_header_bytes + p->second.body.size();
        if (!batch.posts.empty() && bytes + size > options_.body_bytes_max) break;
        bytes += size;
        batch.posts.push_back(p->second);
    }
    if (batch.posts.empty()) return false;
    batch.cursor = batch.posts.back().seq + 1;
    ++counters_.board_reads;
    const RequestKey key{w.receiver.node.value, w.incarnation, w.receiver.local, w.request};
    MailboxPacket request;
    request.source = w.receiver;
    request.source_incarnation = w.incarnation;
    request.id = w.request;
    auto packet = answer_to(request, PacketKind::mailbox_deliver, Errc::ok);
    packet.body = encode_batch(batch);
    const std::uint64_t before = cursor != box.cursors.end() ? cursor->second : 0;
    if (!options_.mutations.board_cursor_stays || before == 0)
        box.cursors[w.receiver] = batch.cursor;
    if (out.tracing) {
        out.trace(now, "board_read",
                  name + " reader=" + to_string(w.receiver) +
                      " posts=" + std::to_string(batch.posts.size()) + " missed=" +
                      std::to_string(batch.missed) + " cursor=" + std::to_string(batch.cursor));
    }
    if (box.durability == Durability::transient) {
        answer(w.receiver.node, key, std::move(packet), now, out);
        return true;
    }
    // Persistent: the cursor is durable before the reader sees the posts (B9).
    const auto token = next_token_++;
    Bytes value;
    put_u64(value, batch.cursor);
    out.persist(token, cursor_key(name, w.receiver), std::move(value));
    answers_[key] = Answer{{}, false, Time::max()};
    writes_.emplace(token,
                    WriteCursor{name, key, std::move(packet), w.receiver, before, batch.cursor});
    return true;
}

void MailboxEngine::durable_cursor(WriteCursor& w, const Status& status, Time now, Effects& out) {
    if (!status) {
        auto it = boxes_.find(w.board);
        if (it != boxes_.end()) {
            auto cursor = it->second.cursors.find(w.reader);
            // Back to where it was, unless a later read moved it since.
            if (cursor != it->second.cursors.end() && cursor->second == w.after) {
                if (w.before == 0) {
                    it->second.cursors.erase(cursor);
                } else {
                    cursor->second = w.before;
                }
            }
        }
        w.answer.reason = Errc::storage_error;
        w.answer.body.clear();
    }
    const auto to = w.answer.target.node;
    answer(to, w.request, std::move(w.answer), now, out);
}

// Every waiting read (they do not compete: each gets its own copy) that can be served is.
void MailboxEngine::wake_readers(const std::string& name, Mailbox& box, Time now, Effects& out) {
    for (auto w = box.waiters.begin(); w != box.waiters.end();) {
        const Waiter waiter = *w;
        w = serve(name, box, waiter, now, out) ? box.waiters.erase(w) : std::next(w);
    }
}

// B4: posts older than the board's retain age go, oldest first.
void MailboxEngine::board_tick(const std::string& name, Mailbox& box, Time now, Effects& out) {
    if (box.retain_age <= Duration::zero() || box.posts.empty()) return;
    const auto limit = wall_ns(now) - box.retain_age.ns();
    if (box.posts.begin()->second.posted_ns > limit) return;
    const auto token = next_token_++;
    while (!box.posts.empty() && box.posts.begin()->second.posted_ns <= limit) {
        evict_post(name, box, token, out);
    }
}

void MailboxEngine::erase_board(const std::string& name, const Mailbox& box, std::uint64_t token,
                                Effects& out) {
    for (const auto& [seq, p] : box.posts) out.erase(token, post_key(name, seq));
    for (const auto& [reader, cursor] : box.cursors) out.erase(token, cursor_key(name, reader));
    if (box.evicted != 0) out.erase(token, evicted_key(name));
}

// "mailbox/p/<name>/<seq>", "mailbox/c/<name>/<node>/<local>", "mailbox/f/<name>".
void MailboxEngine::restore_board_record(const StoredRecord& record) {
    const std::string_view key = record.first;
    const char what = key[8];
    const std::string_view rest = key.substr(10);
    const auto slash = rest.find('/');
    auto box = boxes_.find(rest.substr(0, slash));
    if (box == boxes_.end() || !box->second.board) return void(++counters_.bad_records);
    Mailbox& b = box->second;
    std::uint64_t value = 0;
    std::size_t offset = 0;
    if (what == 'f') {
        if (slash != std::string_view::npos || !get_u64(record.second, offset, value)) {
            return void(++counters_.bad_records);
        }
        b.evicted = std::max(b.evicted, value);
        b.next_seq = std::max(b.next_seq, value + 1);
        return;
    }
    const std::string_view tail = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
    if (what == 'c') {
        const auto second = tail.find('/');
        Pid reader;
        if (second == std::string_view::npos ||
            !parse_hex(tail.substr(0, second), reader.node.value) ||
            !parse_hex(tail.substr(second + 1), reader.local) ||
            !get_u64(record.second, offset, value) || record.second.size() != 8) {
            return void(++counters_.bad_records);
        }
        b.cursors[reader] = value;
        return;
    }
    std::uint64_t seq = 0;
    auto p = decode_post(record.second);
    if (!parse_hex(tail, seq) || seq == 0 || !p) return void(++counters_.bad_records);
    p->seq = seq;
    seen_[{p->sender.node.value, p->message_id}] =
        Seen{Seen::State::stored, Errc::ok, true, 0, seq};
    ++b.messages;
    b.bytes += p->body.size();
    b.next_seq = std::max(b.next_seq, seq + 1);
    b.posts.emplace(seq, std::move(*p));
}

}  // namespace herald::proto::mailbox
