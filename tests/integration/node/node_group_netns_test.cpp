// Real IP multicast and broadcast between hosts: the test builds a small network of its own
// out of Linux network namespaces (one holding a bridge, three nodes each on a veth pair into
// it, 10.77.0.1-3/24) and runs one node_group_helper per node namespace (ip netns exec). One
// sender pings the group address (or the broadcast address): each hello is one datagram, and
// both member nodes must answer it, although nobody ever told the sender their addresses.
// And ordered multicast (docs/ordering.md O38) in fifo and sequencer order over a real IP
// multicast group: every member delivers every message, per sender in order (sequencer: in one
// order everywhere), and the first transmissions went to the group as datagrams.
// Needs root and iproute2; skipped with a message otherwise. No traffic leaves the test's own
// namespaces; they are deleted at the end, on failure too, and stale ones of a crashed run
// are removed first. Every wait is bounded.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

extern char** environ;

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* helper_path = HERALD_NODE_GROUP_HELPER;
constexpr const char* prefix = "herald-gt";  // Namespace names: herald-gt<pid>-<role>.
constexpr auto helper_timeout = 10s;         // Each helper gives up after it (exit 1).

struct Command {
    int status = -1;
    std::string output;
};

// Runs a shell command; its stdout and stderr together.
Command run(const std::string& command) {
    Command result;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return result;
    std::array<char, 256> buffer{};
    while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), pipe) != nullptr) {
        result.output += buffer.data();
    }
    result.status = ::pclose(pipe);
    return result;
}

// Deletes namespaces a crashed earlier run left behind (its pid is gone).
void remove_stale_namespaces() {
    const Command list = run("ip netns list");
    std::size_t at = 0;
    while ((at = list.output.find(prefix, at)) != std::string::npos) {
        const std::size_t end = list.output.find_first_of(" \n", at);
        const std::string name = list.output.substr(at, end - at);
        at = end;
        const auto pid = std::atol(name.c_str() + std::string(prefix).size());
        if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0) run("ip netns del " + name);
    }
}

// The test's network: created by setup(), deleted by the destructor whatever happened.
class Network {
public:
    Network() : base_(std::string(prefix) + std::to_string(::getpid()) + "-") {}
    ~Network() {
        for (auto it = created_.rbegin(); it != created_.rend(); ++it) run("ip netns del " + *it);
    }
    Network(const Network&) = delete;
    Network& operator=(const Network&) = delete;

    [[nodiscard]] std::string node(int i) const { return base_ + std::to_string(i); }
    // The listen URL of node i: 10.77.0.<i + 1>, or fd77::<i + 1> for IPv6.
    [[nodiscard]] static std::string listen_url(int i, bool ipv6) {
        const std::string n = std::to_string(i + 1);
        return ipv6 ? "udp://[fd77::" + n + "]:7400" : "udp://10.77.0." + n + ":7400";
    }

    // "" when the network is up, else what failed.
    std::string setup(int nodes) {
        const std::string bridge = base_ + "br";
        if (auto error = add_namespace(bridge); !error.empty()) return error;
        std::vector<std::string> steps = {
            "ip -n " + bridge + " link add br0 type bridge mcast_snooping 0",
            "ip -n " + bridge + " link set br0 up"};
        for (int i = 0; i < nodes; ++i) {
            if (auto error = add_namespace(node(i)); !error.empty()) return error;
            const std::string n = std::to_string(i);
            steps.push_back("ip -n " + bridge + " link add p" + n + " type veth peer name v" + n +
                            " netns " + node(i));
            steps.push_back("ip -n " + bridge + " link set p" + n + " master br0 up");
            steps.push_back("ip -n " + node(i) + " link set lo up");
            steps.push_back("ip -n " + node(i) + " addr add 10.77.0." + std::to_string(i + 1) +
                            "/24 brd + dev v" + n);
            // nodad: usable at once, without waiting for duplicate address detection.
            steps.push_back("ip -n " + node(i) + " addr add fd77::" + std::to_string(i + 1) +
                            "/64 nodad dev v" + n);
            steps.push_back("ip -n " + node(i) + " link set v" + n + " up");
        }
        for (const auto& step : steps) {
            const Command done = run(step);
            if (done.status != 0) return step + ": " + done.output;
        }
        return {};
    }

private:
    std::string add_namespace(const std::string& name) {
        const Command done = run("ip netns add " + name);
        if (done.status != 0) return "ip netns add " + name + ": " + done.output;
        created_.push_back(name);
        return {};
    }

    std::string base_;
    std::vector<std::string> created_;
};

// A helper running in a namespace, its stdout read through a pipe; killed if still running
// when destroyed.
class Helper {
public:
    Helper(const std::string& netns, const std::vector<std::string>& args) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) return;
        std::vector<std::string> all = {"ip", "netns", "exec", netns, helper_path};
        all.insert(all.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& arg : all) argv.push_back(arg.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
        if (::posix_spawnp(&pid_, "ip", &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
        posix_spawn_file_actions_destroy(&actions);
        ::close(fds[1]);
        out_ = fds[0];
    }
    ~Helper() {
        if (pid_ > 0 && !exited_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (out_ >= 0) ::close(out_);
    }
    Helper(const Helper&) = delete;
    Helper& operator=(const Helper&) = delete;

    // Reads until the output holds `text` or the deadline passes.
    bool wait_for_output(const std::string& text, Clock::time_point deadline) {
        while (output_.find(text) == std::string::npos) {
            if (Clock::now() >= deadline || !read_some(deadline)) {
                return output_.find(text) != std::string::npos;
            }
        }
        return true;
    }
    // The exit status, or -1 when it does not exit before the deadline.
    int wait_exit(Clock::time_point deadline) {
        while (pid_ > 0 && !exited_) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                exited_ = true;
                status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                break;
            }
            if (Clock::now() >= deadline) return -1;
            if (!read_some(std::min(deadline, Clock::now() + 10ms))) {
                ::usleep(1000);  // The pipe is closed: the helper is exiting.
            }
        }
        while (read_some(Clock::now())) {
        }
        return status_;
    }
    [[nodiscard]] const std::string& output() const { return output_; }

private:
    // Appends what the helper wrote before `until`; false once its output is closed.
    bool read_some(Clock::time_point until) {
        if (out_ < 0) return false;
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
        pollfd entry{out_, POLLIN, 0};
        const int ready = ::poll(&entry, 1, static_cast<int>(std::max<long>(left.count(), 0)));
        if (ready <= 0) return ready == 0;
        char buffer[256];
        const ssize_t got = ::read(out_, buffer, sizeof buffer);
        if (got <= 0) return false;
        output_.append(buffer, static_cast<std::size_t>(got));
        return true;
    }

    pid_t pid_ = -1;
    int out_ = -1;
    bool exited_ = false;
    int status_ = -1;
    std::string output_;
};

class NodeGroupNetns : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces";
        if (run("ip -V").status != 0) GTEST_SKIP() << "needs iproute2 ('ip' not found)";
        remove_stale_namespaces();
        const std::string error = network_.setup(3);
        if (!error.empty()) GTEST_SKIP() << "cannot build the test network: " << error;
    }

    // Members 1 and 2 wait on `address`; node 0 pings it and must hear from both.
    void expect_both_members_answer(const std::string& kind, const std::string& address,
                                    bool ipv6 = false) {
        const auto deadline = Clock::now() + helper_timeout + 5s;
        std::vector<std::unique_ptr<Helper>> members;
        for (int i = 1; i <= 2; ++i) {
            members.push_back(std::make_unique<Helper>(
                network_.node(i),
                std::vector<std::string>{"member", kind, Network::listen_url(i, ipv6), address, "0",
                                         std::to_string(helper_timeout.count() * 1000)}));
        }
        for (auto& member : members) {
            ASSERT_TRUE(member->wait_for_output("ready", deadline)) << member->output();
        }
        Helper sender(network_.node(0), {"sender", kind, Network::listen_url(0, ipv6), address, "2",
                                         std::to_string(helper_timeout.count() * 1000)});
        EXPECT_EQ(sender.wait_exit(deadline), 0) << sender.output();
        EXPECT_NE(sender.output().find("peers 2"), std::string::npos) << sender.output();
        for (auto& member : members) {
            EXPECT_EQ(member->wait_exit(deadline), 0) << member->output();
            EXPECT_NE(member->output().find("answered"), std::string::npos) << member->output();
        }
    }

    // O38: every node joins one member of a group with an IP multicast address and makes
    // ordered_messages ordered multicasts; every member delivers all of them, FIFO per sender
    // (and, for `total`, in one order: the same hash), and the first transmissions went to
    // the group's address as datagrams.
    void expect_ordered_over_ip_multicast(const std::string& order, bool total) {
        const auto deadline = Clock::now() + helper_timeout + 10s;
        const std::string release = ::testing::TempDir() + "herald-netns-release-" +
                                    std::to_string(::getpid()) + "-" + order;
        std::remove(release.c_str());
        const std::string urls = Network::listen_url(0, false) + "," +
                                 Network::listen_url(1, false) + "," +
                                 Network::listen_url(2, false);
        std::vector<std::unique_ptr<Helper>> nodes;
        for (int i = 0; i < 3; ++i) {
            nodes.push_back(std::make_unique<Helper>(
                network_.node(i),
                std::vector<std::string>{"ordered", order, Network::listen_url(i, false),
                                         "udp://239.77.0.2:7510", urls,
                                         std::to_string(helper_timeout.count() * 1000), release}));
        }
        std::vector<std::string> hashes;
        for (auto& node : nodes) {
            ASSERT_TRUE(node->wait_for_output("datagrams", deadline)) << node->output();
            EXPECT_NE(node->output().find("delivered 600 fifo ok"), std::string::npos)
                << node->output();
            const auto at = node->output().find("order ");
            hashes.push_back(node->output().substr(at + 6, 16));
            // At least one datagram to the group per message multicast (plus sequencer orders).
            const auto sends = std::strtoull(
                node->output().c_str() + node->output().find("address_sends ") + 14, nullptr, 10);
            const auto datagrams = std::strtoull(
                node->output().c_str() + node->output().find("datagrams ") + 10, nullptr, 10);
            EXPECT_GE(sends, 200u) << node->output();
            EXPECT_GE(datagrams, sends) << node->output();
        }
        if (total) {
            EXPECT_EQ(hashes[0], hashes[1]);
            EXPECT_EQ(hashes[0], hashes[2]);
        }
        if (FILE* f = std::fopen(release.c_str(), "w")) std::fclose(f);
        for (auto& node : nodes) EXPECT_EQ(node->wait_exit(deadline), 0) << node->output();
        std::remove(release.c_str());
    }

    Network network_;
};

TEST_F(NodeGroupNetns, OneDatagramToAnIpMulticastGroupReachesBothMemberHosts) {
    expect_both_members_answer("multicast", "udp://239.77.0.1:7500");
}

TEST_F(NodeGroupNetns, OneDatagramToAnIpv6MulticastGroupReachesBothMemberHosts) {
    // A link-local scope group: the interface comes from the listen address (getifaddrs).
    expect_both_members_answer("multicast", "udp://[ff12::77]:7500", true);
}

TEST_F(NodeGroupNetns, OneDatagramToTheBroadcastAddressReachesEveryOtherHost) {
    expect_both_members_answer("broadcast", "udp://10.77.0.255:7600");
}

TEST_F(NodeGroupNetns, FifoOrderedMulticastOverAnIpMulticastGroupReachesEveryMember) {
    expect_ordered_over_ip_multicast("fifo", false);
}

TEST_F(NodeGroupNetns, SequencerOrderedMulticastOverAnIpMulticastGroupAgreesEverywhere) {
    expect_ordered_over_ip_multicast("sequencer", true);
}

}  // namespace
