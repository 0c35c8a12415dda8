// bench-mailbox: what a durable mailbox costs, beside what the disk allows. One run measures:
//   floor     append records to a file, fdatasync once per batch of 1, 16 or 256 records
//   sqlite    one INSERT per transaction (WAL, synchronous=FULL), and 16 or 256 per transaction
//   herald    a persistent mailbox on a node with a data_dir, 1, 16 or 256 senders each sending
//             one message at a time (blocking until durable): the node's store commits what
//             arrived together (group commit); then receive + ack by 1 and 16 receivers
//   pipelined one process keeping 16 or 256 send_async calls in flight (a producer's window)
//   transient the same sends to a transient mailbox, beside the direct stream (pipelined
//             sends from 1 or 16 processes, each to its own receiving process)
// for bodies of 128 B and 4 KiB, and prints messages/s, the p50/p99 of one commit (floor,
// sqlite) or one send (herald), and the ratios the issue names. Herald rows note the store's
// commits and writes per commit (group commit's batch) and any refusals. Layer: bench.
// Usage: bench-mailbox [--quick | --smoke] [--dir PATH] [--filter REGEX] [--durable-poll-us N]
//        (2 s per row; --durable-poll-us sets the nodes' NodeOptions::durable_poll, e.g. 0 to
//        measure without the loop's poll)
// --filter runs only the rows whose name, "<what> <size> <batch>" as printed (e.g.
// "herald persistent enqueue 128B 1"), contains a match of REGEX (ECMAScript).
#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "bench/common/peer.h"
#include "herald/herald.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// The rows the ratios are taken from, by exact name (rate_of): one spelling for the row, its
// --filter check and its ratios.
constexpr const char* floor_name = "floor (append+fdatasync)";
constexpr const char* enqueue_name = "herald persistent enqueue";
constexpr const char* pipelined_name = "herald persistent pipelined";

struct Row {
    std::string what;
    std::size_t size = 0;
    int batch = 1;  // Records per commit (floor, sqlite) or concurrent senders / receivers.
    double rate = 0;
    double p50_ms = 0, p99_ms = 0;
    std::string note;  // What explains the figure: group commit's batch, refusals.
};

struct Config {
    std::chrono::milliseconds duration{2000};
    std::filesystem::path dir;
    bool smoke = false;
    std::optional<std::regex> filter;  // Rows whose name has no match are not run.
    std::optional<std::chrono::microseconds> durable_poll;  // NodeOptions::durable_poll.
};

std::string size_name(std::size_t size) {
    return size >= 1024 ? fmt::format("{}KiB", size / 1024) : fmt::format("{}B", size);
}

// Whether the row `what` of this size and batch runs (--filter).
bool wanted(const Config& c, std::string_view what, std::size_t size, int batch) {
    if (!c.filter) return true;
    return std::regex_search(fmt::format("{} {} {}", what, size_name(size), batch), *c.filter);
}

double percentile_ms(std::vector<std::int64_t>& ns, double q) {
    if (ns.empty()) return 0;
    std::sort(ns.begin(), ns.end());
    const auto i = static_cast<std::size_t>(q * static_cast<double>(ns.size() - 1));
    return static_cast<double>(ns[i]) / 1e6;
}

std::int64_t since_ns(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t).count();
}

void add_note(Row& row, const std::string& text) {
    row.note += (row.note.empty() ? "" : "; ") + text;
}

// The node store's commits during a row: writes per commit is the group commit's batch (a
// persistent send writes one record; an ack erases one and writes a tombstone).
void note_store(const herald::NodeStats& before, const herald::NodeStats& after, Row& row) {
    const std::uint64_t commits = after.store_commits - before.store_commits;
    if (commits == 0) return;
    const auto writes = static_cast<double>(after.store_writes - before.store_writes);
    add_note(row, fmt::format("store: {} commits, {:.1f} writes/commit", commits,
                              writes / static_cast<double>(commits)));
}

// Runs `commit()` (one batch of `batch` records) until the duration is over: the row of `what`.
template <class Commit>
Row commit_row(const Config& c, const char* what, std::size_t size, int batch, Commit&& commit) {
    std::vector<std::int64_t> commits;
    std::uint64_t records = 0;
    const auto start = Clock::now();
    while (Clock::now() - start < c.duration) {
        const auto t0 = Clock::now();
        commit();
        commits.push_back(since_ns(t0));
        records += static_cast<std::uint64_t>(batch);
    }
    const double seconds = static_cast<double>(since_ns(start)) / 1e9;
    return {what,
            size,
            batch,
            static_cast<double>(records) / seconds,
            percentile_ms(commits, 0.5),
            percentile_ms(commits, 0.99),
            ""};
}

// Appends `batch` records of `size` bytes, then fdatasync, until the duration is over.
Row floor_row(const Config& c, std::size_t size, int batch) {
    const auto path = c.dir / "floor.log";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    if (fd < 0) throw std::runtime_error("open " + path.string() + ": " + std::strerror(errno));
    std::vector<char> record(size, 'x');
    auto row = commit_row(c, floor_name, size, batch, [&] {
        for (int i = 0; i < batch; ++i) {
            if (::write(fd, record.data(), size) != static_cast<ssize_t>(size)) {
                throw std::runtime_error("write: " + std::string(std::strerror(errno)));
            }
        }
        ::fdatasync(fd);
    });
    ::close(fd);
    std::filesystem::remove(path);
    return row;
}

void exec(sqlite3* db, const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
        std::string text = error ? error : "?";
        sqlite3_free(error);
        throw std::runtime_error(std::string("sqlite: ") + sql + ": " + text);
    }
}

// SQLite as an application would use it for a queue: WAL, synchronous=FULL, `batch` INSERTs
// per transaction.
Row sqlite_row(const Config& c, std::size_t size, int batch) {
    const auto path = c.dir / "plain.db";
    std::filesystem::remove(path);
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) throw std::runtime_error("sqlite open");
    exec(db, "PRAGMA journal_mode=WAL");
    exec(db, "PRAGMA synchronous=FULL");
    exec(db, "CREATE TABLE q (id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
    sqlite3_stmt* insert = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO q (body) VALUES (?)", -1, &insert, nullptr);
    std::vector<char> record(size, 'x');
    auto row = commit_row(c, "sqlite (INSERT per txn)", size, batch, [&] {
        exec(db, "BEGIN");
        for (int i = 0; i < batch; ++i) {
            sqlite3_bind_blob(insert, 1, record.data(), static_cast<int>(size), SQLITE_STATIC);
            if (sqlite3_step(insert) != SQLITE_DONE) throw std::runtime_error("sqlite insert");
            sqlite3_reset(insert);
        }
        exec(db, "COMMIT");
    });
    sqlite3_finalize(insert);
    sqlite3_close(db);
    std::filesystem::remove(path);
    return row;
}

// `senders` processes each send one message at a time to mailbox `name` for the duration, or
// until a send fails (a full mailbox: on_full fail); then the row ends for every sender, and its
// rate is of the time it ran, not of the refusals that would follow.
Row send_row(herald::Node& node, const Config& c, const std::string& name, std::size_t size,
             int senders, const std::string& what, std::uint64_t* sent_total) {
    std::vector<herald::Process> processes;
    std::vector<herald::Mailbox> boxes;
    for (int i = 0; i < senders; ++i) {
        auto p = node.spawn();
        if (!p) throw std::runtime_error(p.error().to_string());
        auto box = p->open_mailbox(node.id(), name);
        if (!box) throw std::runtime_error(box.error().to_string());
        processes.push_back(std::move(*p));
        boxes.push_back(std::move(*box));
    }
    std::vector<std::vector<std::int64_t>> latencies(static_cast<std::size_t>(senders));
    std::atomic<std::uint64_t> sent{0}, failed{0};
    std::atomic<bool> go{false}, refused{false};
    const std::string body(size, 'x');
    herald::SendOptions options;
    options.on_full = herald::OnFull::fail;
    std::vector<std::thread> threads;
    Clock::time_point start;
    for (int i = 0; i < senders; ++i) {
        threads.emplace_back([&, i] {
            while (!go) std::this_thread::yield();
            auto& mine = latencies[static_cast<std::size_t>(i)];
            while (!refused && Clock::now() - start < c.duration) {
                const auto t0 = Clock::now();
                if (!boxes[static_cast<std::size_t>(i)].send(body, options)) {
                    ++failed;
                    refused = true;
                    break;
                }
                mine.push_back(since_ns(t0));
                ++sent;
            }
        });
    }
    const auto before = node.stats();
    start = Clock::now();
    go = true;
    for (auto& t : threads) t.join();
    const double seconds = static_cast<double>(since_ns(start)) / 1e9;
    std::vector<std::int64_t> all;
    for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    *sent_total += sent;
    Row row{what,
            size,
            senders,
            static_cast<double>(sent) / seconds,
            percentile_ms(all, 0.5),
            percentile_ms(all, 0.99),
            ""};
    // Transient sends write nothing: commits then would be an earlier row's destroy.
    if (what.find("persistent") != std::string::npos) note_store(before, node.stats(), row);
    if (failed > 0) {
        add_note(row, fmt::format("{} sends failed: the row ended after {:.2f} s", failed.load(),
                                  seconds));
    }
    return row;
}

// One process keeps `window` sends in flight to mailbox `name` (send_async, each completing
// once durable) for the duration: the producer a Kafka or JetStream user writes, and the shape
// of the floor's batch (one writer, `window` records per commit) without a thread per message.
Row pipelined_row(herald::Node& node, const Config& c, const std::string& name, std::size_t size,
                  int window, std::uint64_t* sent_total) {
    auto p = node.spawn();
    if (!p) throw std::runtime_error(p.error().to_string());
    auto box = p->open_mailbox(node.id(), name);
    if (!box) throw std::runtime_error(box.error().to_string());
    std::mutex mutex;
    std::condition_variable freed;
    int in_flight = 0;
    std::uint64_t sent = 0, failed = 0;
    std::vector<std::int64_t> latencies;
    const herald::Bytes body(size, std::uint8_t{'x'});
    const auto before = node.stats();
    const auto start = Clock::now();
    while (Clock::now() - start < c.duration) {
        {
            std::unique_lock lock(mutex);
            freed.wait(lock, [&] { return in_flight < window; });
            ++in_flight;
        }
        const auto t0 = Clock::now();
        const auto started = box->send_async(body, [&, t0](herald::Status status) {
            std::lock_guard lock(mutex);
            --in_flight;
            if (status) {
                ++sent;
                latencies.push_back(since_ns(t0));
            } else {
                ++failed;
            }
            freed.notify_one();
        });
        if (!started) {
            std::lock_guard lock(mutex);
            --in_flight, ++failed;
        }
    }
    std::unique_lock lock(mutex);
    freed.wait(lock, [&] { return in_flight == 0; });
    const double seconds = static_cast<double>(since_ns(start)) / 1e9;
    *sent_total += sent;
    Row row{pipelined_name,
            size,
            window,
            static_cast<double>(sent) / seconds,
            percentile_ms(latencies, 0.5),
            percentile_ms(latencies, 0.99),
            ""};
    note_store(before, node.stats(), row);
    if (failed > 0) add_note(row, fmt::format("{} sends failed", failed));
    return row;
}

// The direct stream beside the transient mailbox: `senders` processes each pipeline messages
// (nonblocking sends, flow control blocks when the receiver's window is full) to their own
// receiving process; the figure is messages received per second.
Row direct_row(herald::Node& node, const Config& c, std::size_t size, int senders) {
    std::vector<herald::Process> from, to;
    for (int i = 0; i < senders; ++i) {
        auto s = node.spawn();
        auto r = node.spawn();
        if (!s || !r) throw std::runtime_error("spawn");
        from.push_back(std::move(*s));
        to.push_back(std::move(*r));
    }
    std::atomic<std::uint64_t> received{0};
    std::atomic<bool> stop{false};
    const std::string body(size, 'x');
    herald::SendOptions options;
    options.mode = herald::SendMode::nonblocking;
    options.timeout = 1s;
    std::vector<std::thread> threads;
    const auto start = Clock::now();
    for (int i = 0; i < senders; ++i) {
        const auto at = static_cast<std::size_t>(i);
        threads.emplace_back([&, at] {
            while (!stop) (void)from[at].send(to[at].pid(), body, options);
        });
        threads.emplace_back([&, at] {
            while (!stop) {
                if (to[at].receive(100ms)) ++received;
            }
        });
    }
    std::this_thread::sleep_for(c.duration);
    const double seconds = static_cast<double>(since_ns(start)) / 1e9;
    const std::uint64_t count = received;
    stop = true;
    for (auto& t : threads) t.join();
    return {"herald direct stream", size, senders, static_cast<double>(count) / seconds, 0, 0, ""};
}

// `receivers` processes take and acknowledge until `count` messages are gone.
Row receive_row(herald::Node& node, const std::string& name, std::size_t size, int receivers,
                std::uint64_t count) {
    std::atomic<std::uint64_t> taken{0}, refused{0};
    std::vector<std::thread> threads;
    const auto before = node.stats();
    const auto start = Clock::now();
    for (int i = 0; i < receivers; ++i) {
        threads.emplace_back([&] {
            auto p = node.spawn();
            if (!p) return;
            auto box = p->open_mailbox(node.id(), name);
            if (!box) return;
            while (taken < count) {
                auto m = box->receive(200ms);
                if (!m) {
                    if (m.error().code == herald::Errc::timeout) break;
                    ++refused;
                    continue;
                }
                (void)box->ack(*m);
                ++taken;
            }
        });
    }
    for (auto& t : threads) t.join();
    const double seconds = static_cast<double>(since_ns(start)) / 1e9;
    Row row{"herald dequeue (receive+ack)",
            size,
            receivers,
            static_cast<double>(taken) / seconds,
            0,
            0,
            ""};
    note_store(before, node.stats(), row);
    if (refused > 0) add_note(row, fmt::format("{} receives refused", refused.load()));
    return row;
}

void print(const Row& r) {
    fmt::print("{:<34} {:>6} {:>6} {:>12.0f} {:>9.3f} {:>9.3f}  {}\n", r.what, size_name(r.size),
               r.batch, r.rate, r.p50_ms, r.p99_ms, r.note);
}

// The rate of the row named exactly `what`, or 0 when it did not run (a prefix match took the
// "herald persistent pipelined" row for the 256-sender ratio when only the pipelined row ran).
double rate_of(const std::vector<Row>& rows, const std::string& what, std::size_t size, int batch) {
    for (const auto& r : rows) {
        if (r.what == what && r.size == size && r.batch == batch) return r.rate;
    }
    return 0;
}

// The Herald rows of one body size, on a node of their own (data_dir under c.dir).
void herald_rows(const Config& c, std::size_t size, const std::vector<int>& batches,
                 std::vector<Row>& rows) {
    const auto data = c.dir / fmt::format("herald-{}", size);
    std::filesystem::remove_all(data);
    herald::NodeOptions options;
    options.data_dir = data.string();
    options.faults_from_env = false;
    if (c.durable_poll) options.durable_poll = *c.durable_poll;
    auto node = herald::Node::start(options);
    if (!node) throw std::runtime_error(node.error().to_string());
    herald::MailboxOptions durable;
    durable.durability = herald::Durability::persistent;
    durable.capacity_messages = 50'000'000;
    durable.capacity_bytes = std::uint64_t{1} << 40;
    herald::MailboxOptions transient = durable;
    transient.durability = herald::Durability::transient;
    transient.capacity_messages = 200'000;  // Drained after each row.
    for (const int senders : batches) {
        const bool dequeue = (senders == 1 || senders == 16) &&
                             wanted(c, "herald dequeue (receive+ack)", size, senders);
        if (!dequeue && !wanted(c, enqueue_name, size, senders)) continue;
        const auto name = fmt::format("p{}", senders);
        if (auto made = (*node)->create_mailbox(name, durable); !made) {
            throw std::runtime_error(made.error().to_string());
        }
        std::uint64_t sent = 0;
        rows.push_back(send_row(**node, c, name, size, senders, enqueue_name, &sent));
        print(rows.back());
        if (dequeue) {
            rows.push_back(receive_row(**node, name, size, senders, sent));
            print(rows.back());
        }
        (void)(*node)->destroy_mailbox(name);
    }
    for (const int window : batches) {
        // The 1-sender row above is a window of one.
        if (window == 1 || !wanted(c, pipelined_name, size, window)) continue;
        const auto name = fmt::format("w{}", window);
        (void)(*node)->create_mailbox(name, durable);
        std::uint64_t sent = 0;
        rows.push_back(pipelined_row(**node, c, name, size, window, &sent));
        print(rows.back());
        (void)(*node)->destroy_mailbox(name);
    }
    for (const int senders : {1, 16}) {
        if (wanted(c, "herald transient enqueue", size, senders)) {
            const auto name = fmt::format("t{}", senders);
            (void)(*node)->create_mailbox(name, transient);
            std::uint64_t sent = 0;
            rows.push_back(
                send_row(**node, c, name, size, senders, "herald transient enqueue", &sent));
            print(rows.back());
            (void)(*node)->destroy_mailbox(name);
        }
        if (wanted(c, "herald direct stream", size, senders)) {
            rows.push_back(direct_row(**node, c, size, senders));
            print(rows.back());
        }
    }
    node->reset();
    std::filesystem::remove_all(data);
}

int run(const Config& c) {
    std::filesystem::create_directories(c.dir);
    std::vector<Row> rows;
    fmt::print("{:<34} {:>6} {:>6} {:>12} {:>9} {:>9}\n", "what", "size", "batch", "msgs/s",
               "p50 ms", "p99 ms");
    const std::vector<std::size_t> sizes =
        c.smoke ? std::vector<std::size_t>{128} : std::vector<std::size_t>{128, 4096};
    const std::vector<int> batches =
        c.smoke ? std::vector<int>{1, 16} : std::vector<int>{1, 16, 256};
    for (const auto size : sizes) {
        for (const int b : batches) {
            if (!wanted(c, floor_name, size, b)) continue;
            rows.push_back(floor_row(c, size, b)), print(rows.back());
        }
        for (const int b : batches) {
            if (!wanted(c, "sqlite (INSERT per txn)", size, b)) continue;
            rows.push_back(sqlite_row(c, size, b)), print(rows.back());
        }
        herald_rows(c, size, batches, rows);
    }
    fmt::print("\nratios (targets: >= 0.8 at one message per commit, >= 0.5 at batch 256):\n");
    // A ratio is printed only when both of its rows ran (--filter).
    auto ratio = [&](const char* name, const char* what, std::size_t size, int batch) {
        const double herald = rate_of(rows, what, size, batch);
        const double floor = rate_of(rows, floor_name, size, batch);
        if (herald > 0 && floor > 0) fmt::print("; {} = {:.2f}", name, herald / floor);
    };
    for (const auto size : sizes) {
        fmt::print("  {:>4} B", size);
        ratio("herald 1 sender / floor batch 1", enqueue_name, size, 1);
        if (!c.smoke) {
            ratio("herald 256 senders / floor batch 256", enqueue_name, size, 256);
            ratio("herald window 256 / floor batch 256", pipelined_name, size, 256);
        }
        fmt::print("\n");
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Config c;
    c.dir = std::filesystem::current_path() / "bench-mailbox.tmp";
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--quick") {
            c.duration = 500ms;
        } else if (arg == "--smoke") {
            c.duration = 100ms;
            c.smoke = true;
        } else if (arg == "--dir" && i + 1 < argc) {
            c.dir = argv[++i];
        } else if (arg == "--durable-poll-us" && i + 1 < argc) {
            const auto us = herald::bench::parse_number("durable-poll-us", argv[++i], 100'000);
            if (!us) {
                fmt::print(stderr, "bench-mailbox: {} (0 to 100000)\n", us.error().detail);
                return 2;
            }
            c.durable_poll = std::chrono::microseconds(*us);
        } else if (arg == "--filter" && i + 1 < argc) {
            try {
                c.filter.emplace(argv[++i]);
            } catch (const std::regex_error& e) {
                fmt::print(stderr, "bench-mailbox: --filter {}: {}\n", argv[i], e.what());
                return 2;
            }
        } else {
            fmt::print(stderr,
                       "usage: bench-mailbox [--quick | --smoke] [--dir PATH] [--filter REGEX]"
                       " [--durable-poll-us N]  (unknown: {})\n",
                       arg);
            return 2;
        }
    }
    try {
        const int rc = run(c);
        std::filesystem::remove_all(c.dir);
        return rc;
    } catch (const std::exception& e) {
        fmt::print(stderr, "bench-mailbox: {}\n", e.what());
        return 1;
    }
}
