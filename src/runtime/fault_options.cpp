// parse_fault_options: "loss=0.2,dup=0.05,reorder=0.1,delay_us=500,seed=7" -> FaultOptions.
// Layer: runtime. Used for HERALD_FAULTS and --faults, so every error names the bad part.
#include <charconv>
#include <cmath>
#include <string>

#include "runtime/fault_transport.h"

namespace herald::runtime {
namespace {

constexpr std::string_view known_keys = "loss, dup, reorder, delay_us, seed";

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

tl::unexpected<Error> invalid_faults(std::string_view text, std::string_view what) {
    std::string detail = "faults '";
    detail.append(text).append("': ").append(what);
    return fail(Errc::invalid_argument, std::move(detail));
}

Result<double> parse_probability(std::string_view text, std::string_view key,
                                 std::string_view value) {
    double parsed = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
    if (ec != std::errc() || end != value.data() + value.size() || std::isnan(parsed) ||
        parsed < 0.0 || parsed > 1.0) {
        return invalid_faults(
            text, std::string(key) + "=" + std::string(value) + " is not a probability in [0, 1]");
    }
    return parsed;
}

template <class Integer>
Result<Integer> parse_integer(std::string_view text, std::string_view key, std::string_view value,
                              Integer limit) {
    Integer parsed = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
    if (ec != std::errc() || end != value.data() + value.size() || parsed > limit) {
        return invalid_faults(text, std::string(key) + "=" + std::string(value) +
                                        " is not an integer in [0, " + std::to_string(limit) + "]");
    }
    return parsed;
}

// Applies one "key=value"; `seen` (one bit per key) refuses a key given twice.
Status apply(std::string_view text, std::string_view item, unsigned& seen, FaultOptions& out) {
    const std::size_t equals = item.find('=');
    if (equals == std::string_view::npos) {
        return invalid_faults(text, "'" + std::string(item) + "' is not key=value");
    }
    const std::string_view key = trim(item.substr(0, equals));
    const std::string_view value = trim(item.substr(equals + 1));
    const unsigned bit = key == "loss"                        ? 1u
                         : key == "dup" || key == "duplicate" ? 2u
                         : key == "reorder"                   ? 4u
                         : key == "delay_us"                  ? 8u
                         : key == "seed"                      ? 16u
                                                              : 0u;
    if (bit == 0) {
        return invalid_faults(
            text, "unknown key '" + std::string(key) + "' (" + std::string(known_keys) + ")");
    }
    if ((seen & bit) != 0)
        return invalid_faults(text, "key '" + std::string(key) + "' given twice");
    seen |= bit;
    switch (bit) {
        case 1u: {
            HERALD_TRY(out.loss, parse_probability(text, key, value));
            break;
        }
        case 2u: {
            HERALD_TRY(out.duplicate, parse_probability(text, key, value));
            break;
        }
        case 4u: {
            HERALD_TRY(out.reorder, parse_probability(text, key, value));
            break;
        }
        case 8u: {
            HERALD_TRY(out.delay_us_max,
                       parse_integer<std::uint32_t>(text, key, value, fault_delay_us_limit));
            break;
        }
        default: {
            HERALD_TRY(out.seed, parse_integer<std::uint64_t>(text, key, value, UINT64_MAX));
            break;
        }
    }
    return {};
}

}  // namespace

Result<FaultOptions> parse_fault_options(std::string_view text) {
    FaultOptions out;
    unsigned seen = 0;
    std::string_view rest = trim(text);
    while (!rest.empty()) {
        const std::size_t comma = rest.find(',');
        const std::string_view item = trim(rest.substr(0, comma));
        if (item.empty()) return invalid_faults(text, "empty entry between commas");
        HERALD_TRY(apply(text, item, seen, out));
        if (comma == std::string_view::npos) break;
        rest = rest.substr(comma + 1);
        if (trim(rest).empty()) return invalid_faults(text, "trailing comma");
    }
    return out;
}

}  // namespace herald::runtime
