// The many-to-one collection of a request multicast's answers (docs/groups.md G24): which
// members are awaited, which answered, which left the view, and when the call is complete.
// Pure state, fed by Process::multicast_request (group_collect.cpp). Layer: api.
#pragma once

#include <cstdint>
#include <vector>

#include "core/result.h"
#include "herald/group.h"
#include "herald/ids.h"

namespace herald {

namespace runtime {
class Node;
class NodeGroupService;
}  // namespace runtime

namespace api {

// The node's group service (group.cpp): Errc::unreachable without one.
[[nodiscard]] Result<runtime::NodeGroupService*> group_service(runtime::Node& node);

class AnswerCollection {
public:
    // `view_members`: the members of the view the request is addressed with; `requester` is
    // never addressed (it waits in the call: it cannot answer). Errc::invalid_argument: no
    // member but the requester, count 0, collect.from naming a pid twice, the requester or one
    // not in the view, count above the members addressed.
    [[nodiscard]] static Result<AnswerCollection> start(const Collect& collect, Pid requester,
                                                        std::uint64_t view_id,
                                                        const std::vector<Pid>& view_members);

    // An answer from `member`: false (dropped, counted late by the caller) when it is not
    // awaited: not addressed, answered already, or the collection is complete.
    bool on_answer(Pid member, Bytes body);
    // The group's current view: addressed members not in it are no longer awaited.
    void on_view(const std::vector<Pid>& members);
    // Enough answers, or no addressed member left that has not answered.
    [[nodiscard]] bool complete() const;
    // The addressed members (selective: collect.from), for a selective receive.
    [[nodiscard]] const std::vector<Pid>& addressed() const { return result_.addressed; }
    [[nodiscard]] bool selective() const { return selective_; }
    // The result; `timed_out` as given.
    [[nodiscard]] CollectResult finish(bool timed_out) &&;

private:
    [[nodiscard]] bool answered(Pid member) const;
    [[nodiscard]] bool departed(Pid member) const;

    CollectResult result_;
    std::uint32_t needed_ = 0;  // Answers that complete it (all: every addressed member).
    bool selective_ = false;
};

}  // namespace api
}  // namespace herald
