// Names and text of operating errors. Layer: core.
#include "core/result.h"

namespace herald {

std::string_view errc_name(Errc code) noexcept {
    switch (code) {
        case Errc::ok:
            return "ok";
        case Errc::timeout:
            return "timeout";
        case Errc::unreachable:
            return "unreachable";
        case Errc::no_such_process:
            return "no_such_process";
        case Errc::no_such_operation:
            return "no_such_operation";
        case Errc::closed:
            return "closed";
        case Errc::queue_full:
            return "queue_full";
        case Errc::would_block:
            return "would_block";
        case Errc::too_large:
            return "too_large";
        case Errc::invalid_argument:
            return "invalid_argument";
        case Errc::malformed:
            return "malformed";
        case Errc::peer_restarted:
            return "peer_restarted";
        case Errc::request_lost:
            return "request_lost";
        case Errc::response_lost:
            return "response_lost";
        case Errc::server_crashed:
            return "server_crashed";
        case Errc::application_error:
            return "application_error";
        case Errc::access_denied:
            return "access_denied";
        case Errc::io_error:
            return "io_error";
        case Errc::storage_error:
            return "storage_error";
        case Errc::already_exists:
            return "already_exists";
        case Errc::not_found:
            return "not_found";
    }
    return "unknown";
}

std::string Error::to_string() const {
    std::string text(errc_name(code));
    if (!detail.empty()) {
        text += ": ";
        text += detail;
    }
    return text;
}

}  // namespace herald
