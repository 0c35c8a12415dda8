// The JSON file of a herald-bench run and the machine description (see report.h).
// Layer: bench (driver).
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bench/herald-bench/report.h"

namespace herald::bench {
namespace {

std::string read_field(const char* path, std::string_view key) {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        if (!line.starts_with(key)) continue;
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        auto start = line.find_first_not_of(" \t", colon + 1);
        return start == std::string::npos ? "" : line.substr(start);
    }
    return "unknown";
}

nlohmann::json to_json(const Measurement& m) {
    nlohmann::json repeats = nlohmann::json::array();
    for (const auto& figures : m.repeats) repeats.push_back(figures);
    return {{"key", m.key},         {"label", m.label},   {"missing", m.missing},
            {"skipped", m.skipped}, {"median", m.median}, {"repeats", repeats},
            {"errors", m.errors}};
}

std::string utc_now() {
    auto seconds = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    ::gmtime_r(&seconds, &tm);
    char text[32] = {};
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

}  // namespace

Machine describe_machine() {
    Machine machine;
    machine.cpu = read_field("/proc/cpuinfo", "model name");
    machine.cores = static_cast<unsigned>(::sysconf(_SC_NPROCESSORS_ONLN));
    std::istringstream mem(read_field("/proc/meminfo", "MemTotal"));
    double kib = 0;
    mem >> kib;
    machine.memory_gib = kib / (1024.0 * 1024.0);
    utsname name{};
    machine.kernel = ::uname(&name) == 0 ? name.release : "unknown";
#if defined(__clang__)
    machine.compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
    machine.compiler = "g++ " __VERSION__;
#endif
#ifdef NDEBUG
    machine.build = "optimized, NDEBUG";
#else
    machine.build = "assertions on: not a release build";
#endif
    return machine;
}

Status write_json(const std::string& path, const Mode& mode, const Machine& machine,
                  const std::vector<CellResult>& results) {
    nlohmann::json cells = nlohmann::json::array();
    for (const auto& result : results) {
        nlohmann::json systems = nlohmann::json::array();
        for (const auto& [key, m] : result.systems) systems.push_back(to_json(m));
        cells.push_back({{"id", result.cell.id()},
                         {"workload", result.cell.workload},
                         {"size_bytes", result.cell.size_bytes},
                         {"transport", result.cell.transport},
                         {"members", result.cell.members},
                         {"systems", systems}});
    }
    nlohmann::json doc = {
        {"tool", "herald-bench"},
        {"written_utc", utc_now()},
        {"mode",
         {{"name", mode.name},
          {"repeats", mode.repeats},
          {"duration_ms", mode.duration_ms},
          {"warmup_ms", mode.warmup_ms}}},
        {"machine",
         {{"cpu", machine.cpu},
          {"cores", machine.cores},
          {"memory_gib", machine.memory_gib},
          {"kernel", machine.kernel},
          {"compiler", machine.compiler},
          {"build", machine.build}}},
        {"cells", cells},
    };
    std::error_code ec;
    auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    std::ofstream out(path);
    out << doc.dump(2) << "\n";
    out.close();
    if (!out) return fail(Errc::io_error, "cannot write " + path);
    return {};
}

}  // namespace herald::bench
