// Text forms of NodeId and Pid. Layer: core.
#include "core/ids.h"

#include <charconv>

#include "core/result.h"

namespace herald {

std::string to_string(NodeId node) {
    char buffer[17];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, node.value, 16);
    return std::string(buffer, end);
}

Result<NodeId> parse_node_id(std::string_view text) {
    std::uint64_t value = 0;
    if (text.empty() || text.size() > 16) {
        return fail(Errc::invalid_argument,
                    "node id must be 1-16 hex digits: '" + std::string(text) + "'");
    }
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
    if (ec != std::errc() || end != text.data() + text.size() || value == 0) {
        return fail(Errc::invalid_argument, "not a node id: '" + std::string(text) + "'");
    }
    return NodeId{value};
}

std::string to_string(Pid pid) {
    return to_string(pid.node) + "." + std::to_string(pid.local);
}

Result<Pid> parse_pid(std::string_view text) {
    const auto dot = text.find('.');
    if (dot == std::string_view::npos) {
        return fail(Errc::invalid_argument,
                    "pid must look like <node hex>.<local id>: '" + std::string(text) + "'");
    }
    HERALD_TRY(NodeId node, parse_node_id(text.substr(0, dot)));
    const auto local_text = text.substr(dot + 1);
    std::uint64_t local = 0;
    auto [end, ec] =
        std::from_chars(local_text.data(), local_text.data() + local_text.size(), local, 10);
    if (local_text.empty() || ec != std::errc() || end != local_text.data() + local_text.size() ||
        local == 0) {
        return fail(Errc::invalid_argument, "bad local id in pid: '" + std::string(text) + "'");
    }
    return Pid{node, local};
}

}  // namespace herald
