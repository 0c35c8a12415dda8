// Group workloads shared by the group peers (see mcast.h). Layer: bench.
#include "bench/common/mcast.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "bench/common/socket_util.h"

namespace herald::bench {
namespace {

template <class T>
void put(std::span<std::uint8_t> out, std::size_t at, T value) {
    std::memcpy(out.data() + at, &value, sizeof value);
}
template <class T>
T get(std::span<const std::uint8_t> in, std::size_t at) {
    T value{};
    std::memcpy(&value, in.data() + at, sizeof value);
    return value;
}

}  // namespace

// Layout (host byte order: every member runs on this machine): kind u8, rank u32, count u64,
// send_ns i64.
void write_header(std::span<std::uint8_t> body, const McastHeader& header) {
    put(body, 0, static_cast<std::uint8_t>(header.kind));
    put(body, 1, header.rank);
    put(body, 5, header.count);
    put(body, 13, header.send_ns);
}

std::optional<McastHeader> read_header(std::span<const std::uint8_t> body) {
    if (body.size() < mcast_header_bytes) return std::nullopt;
    auto kind = get<std::uint8_t>(body, 0);
    if (kind < 1 || kind > 3) return std::nullopt;
    return McastHeader{static_cast<McastKind>(kind), get<std::uint32_t>(body, 1),
                       get<std::uint64_t>(body, 5), get<std::int64_t>(body, 13)};
}

McastSender::McastSender(const PeerArgs& args, std::int64_t start_ns)
    : sends_(args.pattern == Pattern::mcast || args.rank == 0),
      rank_(args.rank),
      measure_ns_(start_ns + args.warmup_ms * 1'000'000),
      stop_ns_(measure_ns_ + args.duration_ms * 1'000'000),
      due_ns_(start_ns),
      interval_ns_(1'000'000'000 / args.rate),
      paced_(args.pattern == Pattern::paced),
      count_max_(args.count),
      body_(std::max(args.size_bytes, mcast_header_bytes), 0x5a) {}

McastSender::Next McastSender::next(std::int64_t now) const {
    if (!sends_ || end_sent_) return Next::done;
    if (now >= stop_ns_ || (count_max_ > 0 && sent_ >= count_max_)) return Next::end;
    if (paced_ && now < due_ns_) return Next::wait;
    return Next::data;
}

std::int64_t McastSender::wait_ns(std::int64_t now) const {
    return next(now) == Next::wait ? due_ns_ - now : idle_wait_ns;
}

int poll_for(std::span<pollfd> fds, std::int64_t timeout_ns) {
    const std::int64_t ns = std::max<std::int64_t>(timeout_ns, 0);
    const timespec timeout{static_cast<time_t>(ns / 1'000'000'000),
                           static_cast<long>(ns % 1'000'000'000)};
    const int ready = ::ppoll(fds.data(), fds.size(), &timeout, nullptr);
    return ready < 0 && errno == EINTR ? 0 : ready;
}

std::span<const std::uint8_t> McastSender::body(Next next, std::int64_t now, std::uint64_t ahead) {
    McastHeader header;
    header.rank = rank_;
    header.send_ns = now;
    if (next == Next::end) {
        header.kind = McastKind::end;
        header.count = sent_;
    } else {
        header.kind = now >= measure_ns_ ? McastKind::measured : McastKind::warmup;
        header.count = sent_ + 1 + ahead;
    }
    write_header(body_, header);
    return body_;
}

void McastSender::sent(Next next) {
    if (next == Next::end) {
        end_sent_ = true;
        return;
    }
    ++sent_;
    // Paced: the next one is due one interval after this one was due, so that a late send
    // does not shift the schedule (and a stall does not become a burst: at most one behind).
    due_ns_ = std::max(due_ns_ + interval_ns_, now_ns() - interval_ns_);
}

McastMeter::McastMeter(const PeerArgs& args)
    : senders_(args.pattern == Pattern::mcast ? args.members : 1), next_count_(args.members, 1) {
    if (args.pattern == Pattern::paced) {
        samples_.reserve(static_cast<std::size_t>((args.warmup_ms + args.duration_ms) *
                                                      static_cast<std::int64_t>(args.rate) / 1000 +
                                                  16));
    }
}

void McastMeter::on_deliver(std::span<const std::uint8_t> body, std::int64_t now) {
    auto header = read_header(body);
    if (!header || header->rank >= next_count_.size()) {
        ++malformed_;
        return;
    }
    if (header->kind == McastKind::end) {
        ++ends_;
        expected_ += header->count;
        return;
    }
    ++delivered_;
    std::uint64_t& next = next_count_[header->rank];
    if (header->count != next) ++out_of_order_;
    next = header->count + 1;
    if (header->kind != McastKind::measured) return;
    ++measured_;
    if (first_ns_ < 0) first_ns_ = now;
    last_ns_ = now;
    if (samples_.capacity() > samples_.size()) samples_.push_back(now - header->send_ns);
}

Fields McastMeter::fields() const {
    const std::uint64_t lost = expected_ > delivered_ ? expected_ - delivered_ : 0;
    // The first measured delivery opens the interval: it is not counted in it.
    const std::uint64_t msgs = measured_ > 0 ? measured_ - 1 : 0;
    return {{"delivered", std::to_string(delivered_)},
            {"expected", std::to_string(expected_)},
            {"lost", std::to_string(lost)},
            {"out_of_order", std::to_string(out_of_order_)},
            {"msgs", std::to_string(msgs)},
            {"elapsed_ns", std::to_string(last_ns_ > first_ns_ ? last_ns_ - first_ns_ : 0)},
            {"ends", std::to_string(ends_)},
            {"senders", std::to_string(senders_)},
            {"samples", std::to_string(samples_.size())},
            {"malformed", std::to_string(malformed_)}};
}

Status McastMeter::write_samples(const std::string& path) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(samples_.data()),
              static_cast<std::streamsize>(samples_.size() * sizeof(std::int64_t)));
    out.close();
    if (!out) return fail(Errc::io_error, "cannot write " + path);
    return {};
}

std::string samples_path(const std::string& dir, std::uint32_t rank) {
    return dir + "/samples." + std::to_string(rank);
}

Result<std::vector<std::int64_t>> read_samples(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) return fail(Errc::io_error, "cannot read " + path);
    const auto bytes = static_cast<std::size_t>(in.tellg());
    std::vector<std::int64_t> samples(bytes / sizeof(std::int64_t));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(samples.data()),
            static_cast<std::streamsize>(samples.size() * sizeof(std::int64_t)));
    if (!in) return fail(Errc::io_error, "short read of " + path);
    return samples;
}

Result<std::string> read_command(std::string_view word, std::int64_t deadline_ns) {
    static std::string pending;  // Read from stdin, not yet a whole line. Main thread only.
    const std::string prefix = std::string(word);
    for (;;) {
        for (auto end = pending.find('\n'); end != std::string::npos; end = pending.find('\n')) {
            std::string line = pending.substr(0, end);
            pending.erase(0, end + 1);
            if (line == prefix) return std::string();
            if (line.starts_with(prefix + " ")) return line.substr(prefix.size() + 1);
        }
        const std::int64_t left_ms = (deadline_ns - now_ns()) / 1'000'000;
        if (left_ms <= 0) return fail(Errc::timeout, "no '" + prefix + "' from the driver");
        pollfd fd{STDIN_FILENO, POLLIN, 0};
        const int ready = ::poll(&fd, 1, static_cast<int>(left_ms));
        if (ready < 0 && errno != EINTR) return fail(errno_error("poll stdin"));
        if (ready <= 0) continue;
        std::array<char, 4096> chunk{};
        const ssize_t n = ::read(STDIN_FILENO, chunk.data(), chunk.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return fail(Errc::closed, "stdin closed before '" + prefix + "'");
        pending.append(chunk.data(), static_cast<std::size_t>(n));
    }
}

}  // namespace herald::bench
