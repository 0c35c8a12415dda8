// Child: runs node_helper (or an example) as a separate OS process for the integration tests:
// fork/exec with stdout on a pipe, line reads and exit waits bounded by deadlines (poll on the
// pipe, never fixed sleeps), kill -9, and cleanup of whatever is still running.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace herald::testing {

class Child {
public:
    // Starts `argv` with extra environment entries "NAME=value" (an entry "NAME=" removes it).
    // Everything the child needs is prepared before fork(): after it, a multithreaded parent's
    // child may only call async-signal-safe functions.
    Child(const std::vector<std::string>& argv, const std::vector<std::string>& env = {}) {
        std::vector<std::string> environment = merged_environment(env);
        std::vector<char*> args, envp;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        for (const auto& e : environment) envp.push_back(const_cast<char*>(e.c_str()));
        envp.push_back(nullptr);
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) return;
        pid_ = ::fork();
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // Never outlive a crashed test.
            ::dup2(fds[1], STDOUT_FILENO);
            ::execve(args[0], args.data(), envp.data());
            ::_exit(127);
        }
        ::close(fds[1]);
        out_ = fds[0];
    }
    ~Child() {
        kill9();
        if (out_ >= 0) ::close(out_);
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    [[nodiscard]] bool started() const { return pid_ > 0 && out_ >= 0; }
    // The child's OS pid (to send it a signal), or -1 once it has been waited for.
    [[nodiscard]] pid_t pid() const { return pid_; }

    // The next line of output, or nothing when `timeout` passes or the output ends first.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            if (auto newline = buffer_.find('\n'); newline != std::string::npos) {
                std::string line = buffer_.substr(0, newline);
                buffer_.erase(0, newline + 1);
                return line;
            }
            if (!fill(deadline)) return std::nullopt;
        }
    }

    // Waits for the output to end and the process to exit; its exit status, or nothing when
    // `timeout` passes first (or it was killed by a signal). Keeps the output for output().
    std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (fill(deadline)) {
        }
        if (!eof_) return std::nullopt;
        int status = 0;
        if (::waitpid(pid_, &status, 0) != pid_) return std::nullopt;
        pid_ = -1;
        if (!WIFEXITED(status)) return std::nullopt;
        return WEXITSTATUS(status);
    }

    [[nodiscard]] const std::string& output() const { return buffer_; }

    // Asks the child to finish (SIGTERM); wait_exit() collects it.
    void terminate() {
        if (pid_ > 0) ::kill(pid_, SIGTERM);
    }

    void kill9() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }

private:
    static std::vector<std::string> merged_environment(const std::vector<std::string>& changes) {
        std::vector<std::string> result;
        auto changed = [&](const std::string& entry) {
            const std::string name = entry.substr(0, entry.find('='));
            for (const auto& c : changes) {
                if (c.substr(0, c.find('=')) == name) return true;
            }
            return false;
        };
        for (char** e = environ; *e != nullptr; ++e) {
            if (!changed(*e)) result.emplace_back(*e);
        }
        for (const auto& c : changes) {
            if (c.find('=') + 1 < c.size()) result.push_back(c);
        }
        return result;
    }

    // Reads what is available before `deadline`; false on timeout or end of output.
    bool fill(std::chrono::steady_clock::time_point deadline) {
        if (eof_) return false;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{out_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        char chunk[4096];
        const auto n = ::read(out_, chunk, sizeof chunk);
        if (n <= 0) {
            eof_ = true;
            return false;
        }
        buffer_.append(chunk, static_cast<std::size_t>(n));
        return true;
    }

    pid_t pid_ = -1;
    int out_ = -1;
    bool eof_ = false;
    std::string buffer_;
};

}  // namespace herald::testing
