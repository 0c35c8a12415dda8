// InprocTransport: a registry of hubs (name -> receiver) and batched cross-loop posts.
// Layer: runtime. Senders run on their own loop thread; each hub is touched by its receiver's
// loop thread except for the atomics below, which any sender updates.
#include "runtime/inproc_transport.h"

#include <algorithm>
#include <asio/post.hpp>
#include <atomic>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/assert.h"
#include "runtime/transport_support.h"

namespace herald::runtime {
namespace {

// The receiving side of one transport, shared with the senders that post to it.
struct Hub {
    Hub(asio::io_context& io_in, Endpoint endpoint_in, const TransportOptions& options)
        : io(io_in),
          endpoint(std::move(endpoint_in)),
          in_flight_max(options.send_queue_max),
          in_flight_bytes_max(options.send_queue_bytes_max) {}

    // Reserves room for one datagram; false when the receiver is too far behind.
    bool reserve(std::size_t bytes) {
        if (in_flight.fetch_add(1, std::memory_order_relaxed) >= in_flight_max ||
            in_flight_bytes.fetch_add(bytes, std::memory_order_relaxed) + bytes >
                in_flight_bytes_max) {
            release(bytes);
            return false;
        }
        return true;
    }
    void release(std::size_t bytes) {
        in_flight.fetch_sub(1, std::memory_order_relaxed);
        in_flight_bytes.fetch_sub(bytes, std::memory_order_relaxed);
    }

    asio::io_context& io;
    const Endpoint endpoint;
    const std::size_t in_flight_max, in_flight_bytes_max;
    std::atomic<std::size_t> in_flight{0}, in_flight_bytes{0};
    std::atomic<bool> closed{false};
    // Held while posting to `io` and while closing: once close() returns no sender posts, so
    // the receiver's io_context may be destroyed.
    std::mutex post_mutex;
    AtomicCounters counters;  // Written by the owning transport's loop thread only.

    // Receiver's loop thread only.
    Transport::ReceiveHandler handler;
    struct Pending {
        std::shared_ptr<const Hub> from;
        Bytes data;
    };
    std::deque<Pending> before_start;  // Bounded by the in-flight reservation.
};

// Process-wide: name -> hub. A function-local static, so it exists before any transport.
struct Registry {
    std::mutex mutex;
    std::unordered_map<std::string, std::weak_ptr<Hub>> hubs;

    static Registry& instance() {
        static Registry registry;
        return registry;
    }
    std::shared_ptr<Hub> find(const std::string& name) {
        const std::lock_guard lock(mutex);
        auto found = hubs.find(name);
        return found == hubs.end() ? nullptr : found->second.lock();
    }
};

void deliver(Hub& hub, const std::shared_ptr<const Hub>& from, Bytes& data) {
    if (hub.closed.load(std::memory_order_relaxed)) {
        hub.release(data.size());
        return;
    }
    if (!hub.handler) {  // Not started yet: hold it, still counted as in flight.
        hub.before_start.push_back(Hub::Pending{from, std::move(data)});
        return;
    }
    hub.release(data.size());
    hub.counters.datagrams_received.add();
    hub.handler(from->endpoint, data);
}

class InprocTransport final : public Transport {
public:
    InprocTransport(asio::io_context& io, std::shared_ptr<Hub> hub, std::size_t datagram_max)
        : io_(io), hub_(std::move(hub)), datagram_bytes_max_(datagram_max) {}
    ~InprocTransport() override { close(); }
    InprocTransport(const InprocTransport&) = delete;
    InprocTransport& operator=(const InprocTransport&) = delete;

    void start(ReceiveHandler handler) override;
    void send(const Endpoint& to, ByteView datagram) override;
    void flush() override;
    [[nodiscard]] Endpoint local_endpoint() const override { return hub_->endpoint; }
    [[nodiscard]] std::size_t datagram_bytes_max() const override { return datagram_bytes_max_; }
    void close() override;
    [[nodiscard]] Counters counters() const override { return hub_->counters.snapshot(); }

private:
    struct Outbox {
        std::shared_ptr<Hub> target;
        std::vector<Bytes> datagrams;
    };

    std::shared_ptr<Hub> find_target(const std::string& name);
    void schedule_flush();

    asio::io_context& io_;
    std::shared_ptr<Hub> hub_;
    std::size_t datagram_bytes_max_;
    std::vector<Outbox> outboxes_;  // One per target with datagrams waiting for flush().
    std::shared_ptr<Hub> last_target_;
    bool closed_ = false, flush_posted_ = false;
    LifeToken life_;
};

void InprocTransport::start(ReceiveHandler handler) {
    HERALD_ASSERT(handler);
    HERALD_ASSERT(!hub_->handler);
    hub_->handler = std::move(handler);
    if (hub_->before_start.empty()) return;
    asio::post(io_, [this, alive = life_.watch()] {
        while (!alive.expired() && !closed_ && !hub_->before_start.empty()) {
            Hub::Pending pending = std::move(hub_->before_start.front());
            hub_->before_start.pop_front();
            deliver(*hub_, pending.from, pending.data);
        }
    });
}

std::shared_ptr<Hub> InprocTransport::find_target(const std::string& name) {
    if (last_target_ && !last_target_->closed.load(std::memory_order_relaxed) &&
        last_target_->endpoint.host == name) {
        return last_target_;
    }
    last_target_ = Registry::instance().find(name);
    return last_target_;
}

void InprocTransport::send(const Endpoint& to, ByteView datagram) {
    if (closed_ || to.scheme != Endpoint::Scheme::inproc || datagram.size() > datagram_bytes_max_) {
        hub_->counters.send_errors.add();
        return;
    }
    std::shared_ptr<Hub> target = find_target(to.host);
    if (!target || target->closed.load(std::memory_order_relaxed)) {
        hub_->counters.send_errors.add();  // No such node: unreachable.
        return;
    }
    if (!target->reserve(datagram.size())) {
        hub_->counters.send_dropped.add();
        return;
    }
    auto box = std::find_if(outboxes_.begin(), outboxes_.end(),
                            [&](const Outbox& each) { return each.target == target; });
    if (box == outboxes_.end()) box = outboxes_.insert(outboxes_.end(), Outbox{target, {}});
    box->datagrams.emplace_back(datagram.begin(), datagram.end());
    schedule_flush();
}

void InprocTransport::schedule_flush() {
    if (flush_posted_) return;
    flush_posted_ = true;
    asio::post(io_, [this, alive = life_.watch()] {
        if (alive.expired()) return;
        flush_posted_ = false;
        flush();
    });
}

// One post per target per flush: the receiver's loop handles the whole batch in one turn.
void InprocTransport::flush() {
    for (Outbox& box : outboxes_) {
        Hub& target = *box.target;
        const std::lock_guard lock(target.post_mutex);
        if (target.closed.load(std::memory_order_relaxed)) {
            for (const Bytes& data : box.datagrams) target.release(data.size());
            hub_->counters.send_errors.add(box.datagrams.size());
            continue;
        }
        hub_->counters.datagrams_sent.add(box.datagrams.size());
        std::shared_ptr<const Hub> from = hub_;
        asio::post(target.io, [target = std::move(box.target), from = std::move(from),
                               batch = std::move(box.datagrams)]() mutable {
            for (Bytes& data : batch) deliver(*target, from, data);
        });
    }
    outboxes_.clear();
}

void InprocTransport::close() {
    if (closed_) return;
    closed_ = true;
    for (Outbox& box : outboxes_) {
        for (const Bytes& data : box.datagrams) box.target->release(data.size());
        hub_->counters.send_dropped.add(box.datagrams.size());
    }
    outboxes_.clear();
    last_target_.reset();
    {
        const std::lock_guard lock(hub_->post_mutex);
        hub_->closed.store(true, std::memory_order_relaxed);
    }
    for (const Hub::Pending& pending : hub_->before_start) hub_->release(pending.data.size());
    hub_->before_start.clear();
    hub_->handler = nullptr;  // Drops what it captured; late posts see `closed` first.
    Registry& registry = Registry::instance();
    const std::lock_guard lock(registry.mutex);
    auto found = registry.hubs.find(hub_->endpoint.host);
    if (found != registry.hubs.end() && found->second.lock() == hub_) registry.hubs.erase(found);
}

}  // namespace

Result<std::unique_ptr<Transport>> open_inproc_transport(asio::io_context& io,
                                                         const Endpoint& listen,
                                                         const TransportOptions& options) {
    if (listen.scheme != Endpoint::Scheme::inproc || listen.host.empty()) {
        return fail(Errc::invalid_argument, "not an inproc endpoint: " + to_string(listen));
    }
    Endpoint local;
    local.scheme = Endpoint::Scheme::inproc;
    local.host = listen.host;
    auto hub = std::make_shared<Hub>(io, local, options);
    Registry& registry = Registry::instance();
    {
        const std::lock_guard lock(registry.mutex);
        std::weak_ptr<Hub>& slot = registry.hubs[listen.host];
        const std::shared_ptr<Hub> holder = slot.lock();
        if (holder && !holder->closed.load(std::memory_order_relaxed)) {
            return fail(Errc::already_exists, "inproc name in use: " + to_string(listen));
        }
        slot = hub;
    }
    const std::size_t datagram_max =
        options.datagram_bytes_max == 0
            ? inproc_datagram_bytes_default
            : std::min(options.datagram_bytes_max, inproc_datagram_bytes_default);
    return std::unique_ptr<Transport>(std::make_unique<InprocTransport>(io, hub, datagram_max));
}

}  // namespace herald::runtime
