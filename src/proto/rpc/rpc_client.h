// RpcClient: the client half of the RPC engine. It numbers calls, sends and resends Req,
// acknowledges Resp and tells the failure kinds apart (README.md rules 1-3, 9-12).
// Layer: proto/rpc. Owned by RpcEngine; loop thread only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "proto/rpc/rpc_messages.h"
#include "proto/rpc/rpc_state.h"

namespace herald::proto::rpc {

class RpcClient {
public:
    // Cookie nacks one call takes (each answered by resending at once with the cookie) before
    // it fails with access_denied: a server that keeps refusing its own fresh cookies is not
    // seeing our address as the one we receive at (rule 19).
    static constexpr std::uint32_t cookie_nacks_max = 4;

    explicit RpcClient(Context& context) : ctx_(context) {}

    void on_call(OperationId op, Pid client, Pid server, std::string operation, Bytes request,
                 const CallOptions& options, Time now, Effects& out);
    // An rpc_ack, rpc_response or rpc_nack for one of this node's calls.
    void on_reply(const Reply& reply, Time now, Effects& out);
    void on_timer(std::uint64_t seq, Time now, Effects& out);

    [[nodiscard]] std::size_t outstanding() const { return calls_.size(); }
    // Every call with a lower seq is finished (sent on each Req and Ack(Resp) as header ack).
    [[nodiscard]] std::uint64_t floor() const {
        return calls_.empty() ? next_seq_ : calls_.begin()->first;
    }

private:
    enum class Heard : std::uint8_t { nothing, alive, busy };
    struct Call {
        OperationId op = 0;
        Route route;
        std::string operation;
        Bytes request;
        CallOptions options;
        bool acked = false;                    // The server acked Req: only probes from now on.
        std::uint32_t server_incarnation = 0;  // From the first packet of the server; 0: none.
        std::uint32_t unanswered = 0;          // Transmissions in a row with no answer.
        Heard heard = Heard::nothing;          // The last kind of answer the server gave.
        Duration wait;                         // Current retransmission wait.
        Time next_send;
        Time started;  // First transmission: the Req carries the call's age.
        // The server's address proof (rule 19), sent on every Req once given, and how many
        // cookie nacks the call got (bounded by cookie_nacks_max).
        std::optional<std::uint64_t> cookie;
        std::uint32_t cookie_nacks = 0;
        std::uint32_t cookie_attempt = 0;  // The last attempt sent without the current cookie.
    };
    using Calls = std::map<std::uint64_t, Call>;

    [[nodiscard]] Status check(Pid client, Pid server, const std::string& operation,
                               const Bytes& request, const CallOptions& options) const;
    void transmit(Call& call, Time now, Effects& out);
    void arm(const Call& call, Effects& out);
    void resend(Call& call, Time now, Effects& out);
    void give_up(Calls::iterator it, Time now, Effects& out);
    void finish(Calls::iterator it, Result<Bytes> result, Time now, Effects& out);
    void acknowledge(const Reply& reply, Effects& out);
    void on_cookie(Calls::iterator it, const Reply& reply, Time now, Effects& out);

    Context& ctx_;
    Calls calls_;
    // Map nodes of finished calls, reused by the next calls (a window of calls then costs no
    // allocation for its entries). At most spare_calls_max (a window's worth; a few hundred bytes
    // each); a node beyond it is freed.
    static constexpr std::size_t spare_calls_max = 256;
    std::vector<Calls::node_type> spare_;
    std::uint64_t next_seq_ = 1;
};

}  // namespace herald::proto::rpc
