// with_faults / parse_fault_options: seeded loss, duplication, reordering and delay of
// outgoing datagrams. Layer: runtime. Each datagram draws the same four random numbers
// whatever happens to it, so a seed replays the same decisions for the same send sequence.
#include "runtime/fault_transport.h"

#include <algorithm>
#include <asio/steady_timer.hpp>
#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include "core/random.h"
#include "runtime/transport_support.h"

namespace herald::runtime {
namespace {

using Clock = std::chrono::steady_clock;

double probability(double value) {
    return std::isnan(value) ? 0.0 : std::clamp(value, 0.0, 1.0);
}

class FaultTransport final : public Transport {
public:
    FaultTransport(asio::io_context& io, std::unique_ptr<Transport> inner,
                   const FaultOptions& faults)
        : inner_(std::move(inner)), faults_(faults), random_(faults.seed), timer_(io) {
        faults_.loss = probability(faults.loss);
        faults_.duplicate = probability(faults.duplicate);
        faults_.reorder = probability(faults.reorder);
    }
    ~FaultTransport() override { close(); }
    FaultTransport(const FaultTransport&) = delete;
    FaultTransport& operator=(const FaultTransport&) = delete;

    void start(ReceiveHandler handler) override { inner_->start(std::move(handler)); }
    void send(const Endpoint& to, ByteView datagram) override;
    void flush() override { inner_->flush(); }
    [[nodiscard]] Endpoint local_endpoint() const override { return inner_->local_endpoint(); }
    [[nodiscard]] std::size_t datagram_bytes_max() const override {
        return inner_->datagram_bytes_max();
    }
    void close() override;
    [[nodiscard]] Counters counters() const override;
    // Groups are the inner transport's; datagrams to them pass through the faults like any.
    [[nodiscard]] Capabilities capabilities() const override { return inner_->capabilities(); }
    [[nodiscard]] Result<GroupHandle> add_group(const Endpoint& group, GroupRole role) override {
        return inner_->add_group(group, role);
    }
    [[nodiscard]] Status remove_group(GroupHandle group) override {
        return inner_->remove_group(group);
    }
    [[nodiscard]] const Endpoint* group_endpoint(GroupHandle group) const override {
        return inner_->group_endpoint(group);
    }
    [[nodiscard]] const Endpoint* broadcast_endpoint() const override {
        return inner_->broadcast_endpoint();
    }

private:
    struct Held {
        Clock::time_point due;
        std::uint64_t order = 0;  // Ties keep send order.
        Endpoint to;
        Bytes data;
        bool operator>(const Held& other) const {
            return due != other.due ? due > other.due : order > other.order;
        }
    };

    void route(const Endpoint& to, ByteView datagram, bool hold, std::uint32_t delay_us);
    void release_reordered();
    void arm_timer();
    void on_timer();

    std::unique_ptr<Transport> inner_;
    FaultOptions faults_;
    Random random_;
    asio::steady_timer timer_;
    std::vector<Held> delayed_;    // A min-heap on (due, order).
    std::vector<Held> reordered_;  // In send order; `due` is when the hold ends at the latest.
    std::size_t held_bytes_ = 0;
    std::uint64_t order_next_ = 0, timer_generation_ = 0;
    Clock::time_point timer_due_;
    bool timer_armed_ = false, closed_ = false;
    Counter dropped_, duplicated_, reordered_count_, delayed_count_, held_overflow_;
    LifeToken life_;
};

void FaultTransport::send(const Endpoint& to, ByteView datagram) {
    const bool lose = random_.chance(faults_.loss);
    const bool duplicate = random_.chance(faults_.duplicate);
    const bool hold = random_.chance(faults_.reorder);
    const std::uint64_t delay_draw = random_.below(std::uint64_t{faults_.delay_us_max} + 1);
    if (closed_) {
        inner_->send(to, datagram);  // Counted as an error by the closed inner transport.
        return;
    }
    if (lose) {
        dropped_.add();
        return;
    }
    const auto delay_us = static_cast<std::uint32_t>(delay_draw);
    route(to, datagram, hold, delay_us);
    if (duplicate) {
        duplicated_.add();
        route(to, datagram, hold, delay_us);
    }
}

void FaultTransport::route(const Endpoint& to, ByteView datagram, bool hold,
                           std::uint32_t delay_us) {
    if (delay_us == 0 && !hold) {
        inner_->send(to, datagram);
        release_reordered();  // Held datagrams now go out after a later one.
        return;
    }
    if (delayed_.size() + reordered_.size() >= fault_held_max ||
        held_bytes_ + datagram.size() > fault_held_bytes_max) {
        held_overflow_.add();
        return;
    }
    const Clock::time_point now = Clock::now();
    Held held{now, order_next_++, to, Bytes(datagram.begin(), datagram.end())};
    held_bytes_ += datagram.size();
    if (delay_us > 0) {
        delayed_count_.add();
        held.due = now + std::chrono::microseconds(delay_us);
        delayed_.push_back(std::move(held));
        std::push_heap(delayed_.begin(), delayed_.end(), std::greater<>());
    } else {
        reordered_count_.add();
        held.due = now + fault_reorder_hold;
        reordered_.push_back(std::move(held));
    }
    arm_timer();
}

void FaultTransport::release_reordered() {
    for (const Held& held : reordered_) {
        held_bytes_ -= held.data.size();
        inner_->send(held.to, held.data);
    }
    reordered_.clear();
}

void FaultTransport::arm_timer() {
    Clock::time_point due = Clock::time_point::max();
    if (!delayed_.empty()) due = delayed_.front().due;
    if (!reordered_.empty()) due = std::min(due, reordered_.front().due);
    if (due == Clock::time_point::max() || (timer_armed_ && timer_due_ <= due)) return;
    timer_armed_ = true;
    timer_due_ = due;
    const std::uint64_t generation = ++timer_generation_;
    timer_.expires_at(due);  // Cancels an earlier wait; its handler sees an old generation.
    timer_.async_wait([this, alive = life_.watch(), generation](const asio::error_code& ec) {
        if (alive.expired() || generation != timer_generation_) return;
        timer_armed_ = false;
        if (!ec && !closed_) on_timer();
    });
}

void FaultTransport::on_timer() {
    const Clock::time_point now = Clock::now();
    while (!delayed_.empty() && delayed_.front().due <= now) {
        std::pop_heap(delayed_.begin(), delayed_.end(), std::greater<>());
        held_bytes_ -= delayed_.back().data.size();
        inner_->send(delayed_.back().to, delayed_.back().data);
        delayed_.pop_back();
    }
    if (!reordered_.empty() && reordered_.front().due <= now) release_reordered();
    inner_->flush();
    arm_timer();
}

void FaultTransport::close() {
    if (closed_) return;
    closed_ = true;
    held_overflow_.add(delayed_.size() + reordered_.size());
    delayed_.clear();
    reordered_.clear();
    held_bytes_ = 0;
    timer_.cancel();
    inner_->close();
}

Transport::Counters FaultTransport::counters() const {
    Counters counters = inner_->counters();
    counters.send_dropped += held_overflow_.get();
    counters.faults_dropped = dropped_.get();
    counters.faults_duplicated = duplicated_.get();
    counters.faults_reordered = reordered_count_.get();
    counters.faults_delayed = delayed_count_.get();
    return counters;
}

}  // namespace

std::unique_ptr<Transport> with_faults(asio::io_context& io, std::unique_ptr<Transport> inner,
                                       const FaultOptions& faults) {
    return std::make_unique<FaultTransport>(io, std::move(inner), faults);
}

}  // namespace herald::runtime
