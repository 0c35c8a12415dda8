// Process address text "<pid>@<url>". Layer: api.
#include "herald/address.h"

#include "core/result.h"  // HERALD_TRY

namespace herald {

Result<ProcessAddress> parse_process_address(std::string_view text) {
    const auto at = text.find('@');
    ProcessAddress address;
    HERALD_TRY(address.pid, parse_pid(text.substr(0, at)));
    if (at != std::string_view::npos) {
        address.url = std::string(text.substr(at + 1));
        if (address.url.empty()) {
            return fail(Errc::invalid_argument,
                        "empty node URL after '@' in '" + std::string(text) + "'");
        }
    }
    return address;
}

std::string to_string(const ProcessAddress& address) {
    std::string text = to_string(address.pid);
    if (!address.url.empty()) text += "@" + address.url;
    return text;
}

}  // namespace herald
