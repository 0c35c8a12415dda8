// heraldd's RPC services: the durable exactly-once counter and the `echo` operation.
// Layer: apps.
#include "counter_service.h"

#include <charconv>
#include <string>

#include "core/result.h"  // HERALD_TRY

namespace herald::daemon {
namespace {

constexpr const char* counter_name = "counter";

Bytes decimal(std::uint64_t value) {
    return to_bytes(std::to_string(value));
}

Result<std::uint64_t> parse_decimal(const Bytes& bytes) {
    std::uint64_t value = 0;
    const auto* first = reinterpret_cast<const char*>(bytes.data());
    const auto* last = first + bytes.size();
    const auto [end, error] = std::from_chars(first, last, value);
    if (error != std::errc() || end != last || bytes.empty()) {
        return fail(Errc::malformed, std::string("stored ") + CounterService::value_key +
                                         " is not a decimal number");
    }
    return value;
}

}  // namespace

Result<std::unique_ptr<CounterService>> CounterService::start(Node& node) {
    HERALD_TRY(auto records, node.read_state(value_key));
    std::uint64_t value = 0;
    for (const auto& record : records) {
        if (record.key != value_key) continue;  // A longer key with the same prefix.
        HERALD_TRY(value, parse_decimal(record.value));
    }
    std::unique_ptr<CounterService> service(new CounterService(node, value));
    ProcessOptions options;
    options.local_id = admin::counter_local_id;
    options.name = counter_name;
    HERALD_TRY(Process process, node.spawn(options));
    service->pid_ = process.pid();
    service->process_.emplace(std::move(process));
    HERALD_TRY(service->serve());
    return service;
}

Status CounterService::serve() {
    ServeOptions serial;
    // One add at a time, in arrival order: each sees the previous one's value, and the values
    // reach the store in the order they were handed out.
    serial.concurrency = 1;
    HERALD_TRY(process_->serve_with_state(
        "add",
        [this](const Request&, StateWrites& writes) -> Result<Bytes> {
            handled_.fetch_add(1, std::memory_order_relaxed);
            ++value_;
            writes.put(value_key, decimal(value_));  // Committed with the reply, atomically.
            return decimal(value_);
        },
        serial));
    ServeOptions idempotent;
    idempotent.idempotent = true;
    return process_->serve(
        "get",
        [this](const Request&) -> Result<Bytes> {
            handled_.fetch_add(1, std::memory_order_relaxed);
            // From the store, not from value_: an add whose reply is not on disk yet does not
            // show (a crash now would undo it, and its caller would see server_crashed).
            HERALD_TRY(auto records, node_.read_state(value_key));
            for (const auto& record : records) {
                if (record.key == value_key) return record.value;
            }
            return decimal(0);
        },
        idempotent);
}

CounterService::~CounterService() {
    stop();
}

void CounterService::stop() {
    if (process_) process_->exit();
}

admin::ProcessInfo CounterService::info() const {
    admin::ProcessInfo info;
    info.pid = to_string(pid_);
    info.name = counter_name;
    info.service = "counter";
    info.buffering = "multiple";  // The process's inbox (it receives no messages).
    info.queue_limit = ProcessOptions{}.queue_limit;
    info.handled = handled_.load(std::memory_order_relaxed);
    info.queued = process_ ? process_->queued() : 0;
    return info;
}

Status serve_echo_operation(Service& echo) {
    ServeOptions idempotent;
    idempotent.idempotent = true;
    return echo.serve(
        "echo", [](const Request& request) -> Result<Bytes> { return request.body; }, idempotent);
}

}  // namespace herald::daemon
