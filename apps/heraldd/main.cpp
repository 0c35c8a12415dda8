// heraldd: the Herald daemon. Reads its config (embedded defaults, TOML file, options), starts
// a node with the built-in services, prints where it listens, and shuts down cleanly on SIGINT
// or SIGTERM. Layer: apps. Exit codes: 0 clean shutdown, 1 start-up failed, 2 bad config or
// option, 3 internal error (docs/config.md).
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>

#include "config.h"
#include "daemon.h"
#include "log.h"

#ifndef HERALD_VERSION
#define HERALD_VERSION "unknown"
#endif

namespace herald::daemon {
namespace {

constexpr int exit_ok = 0, exit_failed = 1, exit_usage = 2, exit_internal = 3;

struct Options {
    std::string config_path;
    ConfigOverrides overrides;
    bool print_default_config = false;
};

void add_override(CLI::App& app, const char* name, std::optional<std::string>& target,
                  const char* help) {
    app.add_option_function<std::string>(
           name, [&target](const std::string& value) { target = value; }, help)
        ->type_name("VALUE");
}

void describe(CLI::App& app, Options& options) {
    app.description(
        "heraldd: a Herald node that hosts the built-in services `node` (admin: status,\n"
        "whereis) and `echo`. With no options it listens on udp://127.0.0.1:7400.");
    app.add_option("--config", options.config_path, "TOML config file (docs/config.md)")
        ->type_name("FILE");
    add_override(app, "--listen", options.overrides.listen,
                 "Listen URL, e.g. udp://127.0.0.1:7400 (port 0: any)");
    add_override(app, "--node-id", options.overrides.node_id, "Node id, 1-16 hex digits");
    add_override(app, "--data-dir", options.overrides.data_dir, "Folder for durable state");
    add_override(app, "--key-file", options.overrides.key_file,
                 "Cluster key file (herald keygen); every packet is authenticated");
    add_override(app, "--log-level", options.overrides.log_level,
                 "trace, debug, info, warn, error or off");
    add_override(app, "--faults", options.overrides.faults,
                 "Fault injection, e.g. loss=0.2,dup=0.05,reorder=0.1,delay_us=500,seed=7");
    app.add_flag("--print-default-config", options.print_default_config,
                 "Print the embedded default config (TOML) and exit");
    app.set_version_flag("--version", std::string("heraldd ") + HERALD_VERSION);
    app.footer(
        "Exit codes: 0 clean shutdown (SIGINT/SIGTERM), 1 start-up failed (address in use,\n"
        "data folder locked or not writable), 2 bad config or option, 3 internal error.\n");
}

// The signals that end the daemon are blocked in every thread (set before any thread starts)
// and taken synchronously by sigwait on the main thread.
sigset_t shutdown_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}

int exit_code_for(Errc code) {
    return code == Errc::invalid_argument ? exit_usage : exit_failed;
}

int serve(const DaemonConfig& config) {
    const sigset_t signals = shutdown_signals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    auto daemon = Daemon::start(config);
    if (!daemon) {
        // One line, like a config error: the log would repeat it.
        std::fprintf(stderr, "heraldd: %s\n", daemon.error().to_string().c_str());
        return exit_code_for(daemon.error().code);
    }
    const std::string url = (*daemon)->listen_url();
    std::printf("heraldd: node %s listening on %s (try: herald ping %s)\n",
                to_string((*daemon)->id()).c_str(), url.c_str(), url.c_str());
    std::fflush(stdout);
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    log_event(spdlog::level::info, "signal_received",
              {{"signal", signal_number == SIGINT ? "SIGINT" : "SIGTERM"}});
    // A second signal during the drain means "now": exit without waiting any longer.
    std::thread([signals] {
        int again = 0;
        sigwait(&signals, &again);
        std::fprintf(stderr, "heraldd: second signal, exiting without finishing the drain\n");
        std::_Exit(exit_failed);
    }).detach();
    (*daemon)->shutdown();
    return exit_ok;
}

int run(int argc, char** argv) {
    CLI::App app{"heraldd", "heraldd"};
    Options options;
    describe(app, options);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "heraldd: %s (see heraldd --help)\n", e.what());
        return exit_usage;
    }
    if (options.print_default_config) {
        std::fwrite(default_config_text().data(), 1, default_config_text().size(), stdout);
        return exit_ok;
    }
    auto config = load_config(options.config_path, options.overrides);
    if (!config) {
        std::fprintf(stderr, "heraldd: bad config: %s\n", config.error().detail.c_str());
        return exit_usage;
    }
    setup_logging(config->log_level, config->log_format);
    return serve(*config);
}

}  // namespace
}  // namespace herald::daemon

int main(int argc, char** argv) {
    try {
        return herald::daemon::run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "heraldd: internal error: %s\n", e.what());
        return herald::daemon::exit_internal;
    }
}
