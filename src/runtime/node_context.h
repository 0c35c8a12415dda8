// NodeContext: what a runtime service (the RPC service now; mailboxes, groups, naming next)
// may ask of the Node that hosts it — the loop, the clock, the engines and their effects, the
// one operation-id map, the command bound and the node's processes and peers. A narrow
// interface instead of friendship: services never touch the Node's members. Layer: runtime.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "core/time.h"
#include "proto/effects.h"
#include "proto/engine_set.h"
#include "runtime/store_writer.h"
#include "store/store.h"

namespace herald::runtime {

// How long past its deadline a blocking call waits for the loop's completion before it fails:
// a guard against a lost completion, not a protocol timeout.
inline constexpr Duration completion_grace = Duration::seconds(2);

// Runs once on the loop thread with an operation's outcome (a response body, or empty).
using Completion = std::function<void(Result<Bytes>)>;

// Everything a node-hosted service needs at run time, also of the services to come.
class Service {
public:
    virtual ~Service() = default;
    // A local process exited (after the engines were told). Loop thread.
    virtual void on_process_exited(Pid pid, Time now) { (void)pid, (void)now; }
    // Runs an ExecuteEffect of this service's engine. Loop thread.
    virtual void execute(proto::ExecuteEffect& execution);
    // Nothing in flight that a drain should wait for (besides the node's operations).
    [[nodiscard]] virtual bool drained() const { return true; }
    // The node shuts down: drop queued work (loop thread); join() then waits for threads.
    virtual void shutdown() {}
    virtual void join() {}
};

class NodeContext {
public:
    // Runs `input(engine, out)` on the engine in `slot` (concrete type E) and carries out all
    // it caused. Loop thread.
    template <class E, class F>
    void run(proto::EngineSlot slot, F&& input) {
        run<E>(slot, now(), std::forward<F>(input));
    }
    // The same at time `t`, read once by a caller that handles a batch (one clock read).
    template <class E, class F>
    void run(proto::EngineSlot slot, Time t, F&& input) {
        engines().template run<E>(slot, t, effects(), std::forward<F>(input));
        carry_out(t);
    }

    // The one blocking round trip of every command: runs `task()` (returning R, a Status or a
    // Result) on the loop thread and waits for its value. Errc::invalid_argument when called
    // on the loop thread (it would wait for itself); Errc::closed when the loop is closed
    // before the task ran. Any other thread.
    template <class R, class F>
    [[nodiscard]] R on_loop(std::string_view what, F&& task) {
        if (in_loop_thread()) {
            return fail(Errc::invalid_argument, std::string(what) + " on the node's loop thread");
        }
        auto reply = std::make_shared<Reply<R>>();
        auto future = reply->promise.get_future();
        if (!post([reply, task = std::forward<F>(task)]() mutable { reply->set(task()); })) {
            return fail(Errc::closed, "node stopped");
        }
        return future.get();
    }

    // The blocking round trip of every engine command: runs `start(engine, op, now, out)` on
    // the engine in `slot` (concrete type E) on the loop thread, with a fresh operation id, and
    // waits for the engine to complete that operation. Errc::invalid_argument when called on
    // the loop thread; queue_full (commands_max queued); closed when the node stopped before
    // the command ran or before the engine completed it. Any other thread.
    template <class E, class F>
    [[nodiscard]] Result<Bytes> run_blocking(proto::EngineSlot slot, F&& start) {
        if (in_loop_thread()) return fail(Errc::invalid_argument, "on the node's loop thread");
        HERALD_TRY(reserve_command());
        auto answer = std::make_shared<Reply<Result<Bytes>>>();
        auto future = answer->promise.get_future();
        const bool posted = post([this, slot, answer, start = std::forward<F>(start)]() mutable {
            release_command();
            if (!accepting()) return answer->set(fail(Errc::closed, "node stopped"));
            const auto op =
                begin_operation([answer](Result<Bytes> result) { answer->set(std::move(result)); });
            const Time at = now();
            run<E>(slot, [&](E& engine, proto::Effects& out) { start(engine, op, at, out); });
        });
        if (!posted) {
            release_command();
            return fail(Errc::closed, "node stopped");
        }
        answer.reset();  // The loop's copy answers, or drops it unrun: closed.
        return future.get();
    }

    [[nodiscard]] virtual NodeId id() const = 0;
    [[nodiscard]] virtual Time now() const = 0;
    // The wall clock (ns since the Unix epoch), synchronized across hosts by NTP or PTP.
    [[nodiscard]] virtual std::int64_t unix_ns() const = 0;
    [[nodiscard]] virtual bool in_loop_thread() const = 0;
    // Queues `task` for the loop thread; false once the loop is closed (task dropped).
    [[nodiscard]] virtual bool post(std::function<void()> task) = 0;
    // Runs `task` after the effects being carried out now (an input produced while applying).
    virtual void defer(std::function<void()> task) = 0;
    // False once the node drains or stopped: new work is refused with Errc::closed.
    [[nodiscard]] virtual bool accepting() const = 0;
    [[nodiscard]] virtual bool shut_down() const = 0;
    [[nodiscard]] virtual bool has_process(Pid pid) const = 0;
    [[nodiscard]] virtual bool knows_node(NodeId node) const = 0;
    // Where this node listens, as a URL (docs/cli.md "Names and addresses"). Any thread.
    [[nodiscard]] virtual std::string listen_url() const = 0;
    // A peer's address from a coordination backend (docs/coordination.md C14): learned unless
    // the node knows one for it already (or `url` does not parse). Loop thread.
    virtual void learn_peer(NodeId node, std::string_view url) = 0;

    // The bound on commands queued from application threads to the loop (commands_max):
    // Errc::queue_full when reached; each success needs one release_command.
    [[nodiscard]] virtual Status reserve_command() = 0;
    virtual void release_command() = 0;
    // The node's one operation-id map: `done` runs when an engine completes the returned id.
    [[nodiscard]] virtual proto::OperationId begin_operation(Completion done) = 0;
    // The same for a blocking caller that the store writer may answer itself: when the engine
    // names this operation on a persist (PersistEffect::answers), `durable` goes with that
    // write, and is answered once it is durable; `done` still runs with the engine's completion
    // and must then leave the caller alone (docs/mailboxes.md "Completion of a persistent
    // send"). Loop thread.
    [[nodiscard]] virtual proto::OperationId begin_operation(Completion done,
                                                             DurableAnswer durable) = 0;
    // The same for an operation whose outcome is a Status (a send): `sent` runs with it, the
    // response body dropped (no adapter around `sent`, so no allocation for one). Loop thread.
    [[nodiscard]] virtual proto::OperationId begin_send(std::function<void(Status)> sent) = 0;
    // Runs `done` (an application callback) with `result` on the loop thread; one that throws
    // is counted, never propagated.
    virtual void answer(Completion& done, Result<Bytes> result) = 0;
    // Something a drain waits for changed (a service became drained).
    virtual void check_drained() = 0;
    // The node's durable store (NodeConfig::data_dir): every record under `prefix`, read
    // after the writes queued before the call. Blocks; not on the loop thread.
    // Errc::invalid_argument (no data_dir), storage_error, closed.
    [[nodiscard]] virtual Result<std::vector<store::Record>> read_store(std::string prefix) = 0;

protected:
    ~NodeContext() = default;
    // A task's answer; Errc::closed when the task is dropped unrun (the loop closed).
    template <class R>
    struct Reply {
        std::promise<R> promise;
        bool answered = false;
        void set(R value) {
            answered = true;
            promise.set_value(std::move(value));
        }
        ~Reply() {
            if (!answered) promise.set_value(fail(Errc::closed, "node stopped"));
        }
    };
    [[nodiscard]] virtual proto::EngineSet& engines() = 0;
    [[nodiscard]] virtual proto::Effects& effects() = 0;
    // Carries out the effects recorded, `now` being the time of the input that caused them.
    virtual void carry_out(Time now) = 0;
};

}  // namespace herald::runtime
