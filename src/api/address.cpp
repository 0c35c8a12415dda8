// Process address text "<pid>@<url>". Layer: api.
#include "herald/address.h"

#include "core/result.h"  // HERALD_TRY
#include "herald/naming.h"

namespace herald {

namespace {

bool name_char(char c, bool first) {
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (first) return letter;
    return letter || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '/';
}

}  // namespace

Status check_name(std::string_view text) {
    const auto bad = [&](std::string_view why) {
        return fail(Errc::invalid_argument,
                    "bad name '" + std::string(text.substr(0, 300)) + "': " + std::string(why) +
                        " (1-255 bytes, a letter first, then letters, digits, '.', '_', '-', "
                        "'/'; not a pid)");
    };
    if (text.empty() || text.size() > 255) return bad("empty or longer than 255 bytes");
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (!name_char(text[i], i == 0)) return bad("character " + std::to_string(i + 1));
    }
    if (parse_pid(text)) return bad("it reads as a pid");
    return {};
}

Result<ProcessAddress> parse_process_address(std::string_view text) {
    const auto at = text.find('@');
    ProcessAddress address;
    if (at == std::string_view::npos && !parse_pid(text)) {
        if (auto named = check_name(text); !named) {
            return fail(Errc::invalid_argument,
                        "'" + std::string(text.substr(0, 300)) +
                            "' is neither a pid (<node hex>.<local decimal>), nor <pid>@<url>, "
                            "nor a name: " +
                            named.error().detail);
        }
        address.name = std::string(text);
        return address;
    }
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
    if (!address.name.empty()) return address.name;
    std::string text = to_string(address.pid);
    if (!address.url.empty()) text += "@" + address.url;
    return text;
}

}  // namespace herald
