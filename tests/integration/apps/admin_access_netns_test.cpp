// Integration: who heraldd's admin service answers (docs/admin.md "Access", docs/config.md
// services.admin_access). Two network namespaces the test creates, joined by a veth pair
// (10.78.0.1 and 10.78.0.2); heraldd runs in the first. `herald status` from the daemon's own
// namespace (its loopback, or its own 10.78.0.1) is answered; from the other namespace it is
// answered access_denied (exit 1) under the default `local`, and answered under `anyone`.
// Needs root and iproute2; skipped with a message otherwise.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <regex>

#include "app_test_support.h"

namespace herald::apps_test {
namespace {

// `ip ...` through env (posix_spawn does not search PATH); output and status.
RunResult ip(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/bin/env", "ip"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
}

// Two namespaces joined by a veth pair; deleted by the destructor whatever happened.
class Pair {
public:
    Pair()
        : a_("herald-adm-" + std::to_string(::getpid()) + "-a"),
          b_("herald-adm-" + std::to_string(::getpid()) + "-b") {}
    ~Pair() {
        for (const auto& ns : created_) (void)ip({"netns", "del", ns});
    }
    Pair(const Pair&) = delete;
    Pair& operator=(const Pair&) = delete;

    // Empty on success, else the failing step and its output.
    std::string setup() {
        for (const auto& ns : {a_, b_}) {
            auto r = ip({"netns", "add", ns});
            if (r.code != 0) return "ip netns add " + ns + ": " + r.err + r.out;
            created_.push_back(ns);
        }
        const std::vector<std::vector<std::string>> steps = {
            {"-n", a_, "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", b_},
            {"-n", a_, "addr", "add", "10.78.0.1/24", "dev", "va"},
            {"-n", b_, "addr", "add", "10.78.0.2/24", "dev", "vb"},
            {"-n", a_, "link", "set", "va", "up"},
            {"-n", b_, "link", "set", "vb", "up"},
            {"-n", a_, "link", "set", "lo", "up"},
            {"-n", b_, "link", "set", "lo", "up"},
        };
        for (const auto& step : steps) {
            auto r = ip(step);
            if (r.code != 0) {
                std::string text = "ip";
                for (const auto& s : step) text += " " + s;
                return text + ": " + r.err + r.out;
            }
        }
        return {};
    }
    [[nodiscard]] const std::string& a() const { return a_; }
    [[nodiscard]] const std::string& b() const { return b_; }

private:
    std::string a_, b_;
    std::vector<std::string> created_;
};

// heraldd in namespace `ns` on udp://10.78.0.1:7400 with `config` as its config file.
class NetnsDaemon {
public:
    NetnsDaemon(const std::string& ns, const std::string& config_text) {
        const std::string config = dir_.file("heraldd.toml");
        std::ofstream(config) << config_text;
        child_ = std::make_unique<Child>(std::vector<std::string>{
            "/usr/bin/env", "ip", "netns", "exec", ns, heraldd_bin(), "--config", config,
            "--listen", "udp://0.0.0.0:7400", "--data-dir", dir_.file("data")});
        const auto ready = child_->out().line(Clock::now() + 10s);
        if (!ready) throw std::runtime_error("heraldd printed no ready line within 10 s");
    }

private:
    TempDir dir_;
    std::unique_ptr<Child> child_;
};

RunResult status_from(const std::string& ns, const std::string& target, const std::string& own) {
    return run({"/usr/bin/env", "ip", "netns", "exec", ns, herald_bin(), "status", target,
                "--listen", own, "--timeout", "3s"});
}

class AdminAccess : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces";
        if (ip({"-V"}).code != 0) GTEST_SKIP() << "needs iproute2 ('ip' not found)";
        const std::string error = pair_.setup();
        if (!error.empty()) GTEST_SKIP() << "cannot build the test network: " << error;
    }
    Pair pair_;
};

TEST_F(AdminAccess, LocalByDefaultRefusesAnotherHostAndAnyoneAdmitsIt) {
    {
        NetnsDaemon daemon(pair_.a(), "");  // The embedded defaults: admin_access = "local".
        auto r = status_from(pair_.a(), "udp://127.0.0.1:7400", "udp://127.0.0.1:0");
        EXPECT_EQ(r.code, 0) << "loopback caller: " << r.err;
        r = status_from(pair_.a(), "udp://10.78.0.1:7400", "udp://10.78.0.1:0");
        EXPECT_EQ(r.code, 0) << "caller on the daemon's own interface address: " << r.err;
        r = status_from(pair_.b(), "udp://10.78.0.1:7400", "udp://10.78.0.2:0");
        EXPECT_EQ(r.code, 1) << r.out << r.err;
        EXPECT_NE(r.err.find("access_denied"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("admin_access"), std::string::npos) << r.err;
    }
    NetnsDaemon daemon(pair_.a(), "[services]\nadmin_access = \"anyone\"\n");
    auto r = status_from(pair_.b(), "udp://10.78.0.1:7400", "udp://10.78.0.2:0");
    EXPECT_EQ(r.code, 0) << "admin_access = anyone: " << r.err;
}

}  // namespace
}  // namespace herald::apps_test
