// Integration-test support for heraldd and herald: run real binaries (paths from the HERALDD
// and HERALD environment variables, set by CMake), read their output with deadlines (never
// fixed sleeps), and start a daemon on port 0 in a temporary data folder.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace herald::apps_test {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

inline std::string binary(const char* variable) {
    const char* path = std::getenv(variable);
    if (path == nullptr || *path == '\0') {
        throw std::runtime_error(std::string("environment variable ") + variable + " not set");
    }
    return path;
}
inline std::string heraldd_bin() {
    return binary("HERALDD");
}
inline std::string herald_bin() {
    return binary("HERALD");
}

// A fresh folder under the system temp dir, removed on destruction.
class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "herald-it-XXXXXX");
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] std::string path() const { return path_.string(); }
    [[nodiscard]] std::string file(const std::string& name) const {
        return (path_ / name).string();
    }

private:
    std::filesystem::path path_;
};

// One line-buffered pipe end.
class LineReader {
public:
    explicit LineReader(int fd) : fd_(fd) {}
    ~LineReader() {
        if (fd_ >= 0) ::close(fd_);
    }
    LineReader(const LineReader&) = delete;
    LineReader& operator=(const LineReader&) = delete;

    // The next line (without '\n') before `deadline`; nullopt on timeout or end of file.
    std::optional<std::string> line(Clock::time_point deadline) {
        for (;;) {
            if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
                std::string out = buffer_.substr(0, nl);
                buffer_.erase(0, nl + 1);
                return out;
            }
            if (eof_ || !fill(deadline)) return std::nullopt;
        }
    }
    // Everything until end of file or `deadline`.
    std::string rest(Clock::time_point deadline) {
        while (!eof_ && fill(deadline)) {
        }
        return std::exchange(buffer_, {});
    }
    // Reads both pipes until both end or `deadline` (a child may fill either pipe first).
    static void drain_both(LineReader& a, LineReader& b, Clock::time_point deadline) {
        while (!a.eof_ || !b.eof_) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) return;
            pollfd p[2] = {{a.eof_ ? -1 : a.fd_, POLLIN, 0}, {b.eof_ ? -1 : b.fd_, POLLIN, 0}};
            if (::poll(p, 2, static_cast<int>(left.count())) <= 0) return;
            if (p[0].revents != 0) a.read_once();
            if (p[1].revents != 0) b.read_once();
        }
    }
    std::string take() { return std::exchange(buffer_, {}); }

private:
    bool fill(Clock::time_point deadline) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        return read_once();
    }
    bool read_once() {
        char chunk[4096];
        const ssize_t n = ::read(fd_, chunk, sizeof chunk);
        if (n <= 0) {
            eof_ = true;
            return false;
        }
        buffer_.append(chunk, static_cast<std::size_t>(n));
        return true;
    }

    int fd_;
    std::string buffer_;
    bool eof_ = false;
};

// A child process with its stdout and stderr piped to us. The destructor kills it (SIGKILL)
// if it is still running, so a failing test leaves nothing behind.
class Child {
public:
    explicit Child(const std::vector<std::string>& argv) {
        int out[2], err[2];
        if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
            throw std::runtime_error("pipe failed");
        }
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, out[1], 1);
        posix_spawn_file_actions_adddup2(&actions, err[1], 2);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        const int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(out[1]);
        ::close(err[1]);
        out_ = std::make_unique<LineReader>(out[0]);
        err_ = std::make_unique<LineReader>(err[0]);
        if (rc != 0) throw std::runtime_error("posix_spawn " + argv[0] + " failed");
    }
    ~Child() {
        if (!exited_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    LineReader& out() { return *out_; }
    LineReader& err() { return *err_; }
    void signal(int number) { ::kill(pid_, number); }

    // The exit code (128 + signal when killed by one), or nullopt if still running at deadline.
    std::optional<int> wait(Clock::time_point deadline) {
        while (!exited_) {
            int status = 0;
            const pid_t r = ::waitpid(pid_, &status, WNOHANG);
            if (r == pid_) {
                exited_ = true;
                code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                break;
            }
            if (Clock::now() >= deadline) return std::nullopt;
            // Polling waitpid: there is no portable "wait with timeout" for a child.
            ::usleep(2000);
        }
        return code_;
    }

private:
    pid_t pid_ = -1;
    std::unique_ptr<LineReader> out_, err_;
    bool exited_ = false;
    int code_ = -1;
};

struct RunResult {
    int code = -1;  // -1: did not finish in time (then it was killed).
    std::string out, err;
    std::chrono::milliseconds elapsed{0};
};

// Runs a command to completion (killing it at `timeout`) and collects its output.
inline RunResult run(const std::vector<std::string>& argv,
                     std::chrono::milliseconds timeout = 20s) {
    const auto start = Clock::now();
    const auto deadline = start + timeout;
    Child child(argv);
    RunResult result;
    LineReader::drain_both(child.out(), child.err(), deadline);
    result.out = child.out().take();
    result.err = child.err().take();
    result.code = child.wait(deadline).value_or(-1);
    result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    return result;
}

// Lines of `text` without the trailing newline.
inline std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        auto nl = text.find('\n', start);
        if (nl == std::string::npos) nl = text.size();
        out.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    return out;
}

// A heraldd on `listen` (udp://127.0.0.1:0 by default) with its own data folder, or with
// `data_dir` when given (a later Daemon on the same folder is a restart); ready once it
// printed its line.
class Daemon {
public:
    explicit Daemon(std::vector<std::string> extra = {},
                    const std::string& listen = "udp://127.0.0.1:0",
                    const std::string& data_dir = "") {
        std::vector<std::string> argv = {heraldd_bin(), "--listen", listen, "--data-dir",
                                         data_dir.empty() ? dir_.file("data") : data_dir};
        argv.insert(argv.end(), extra.begin(), extra.end());
        child_ = std::make_unique<Child>(argv);
        const auto ready = child_->out().line(Clock::now() + 10s);
        if (!ready) throw std::runtime_error("heraldd printed no ready line within 10 s");
        static const std::regex pattern(R"(node ([0-9a-f]+) listening on (\S+))");
        std::smatch match;
        if (!std::regex_search(*ready, match, pattern)) {
            throw std::runtime_error("unexpected ready line: " + *ready);
        }
        node_ = match[1];
        url_ = match[2];
    }
    [[nodiscard]] const std::string& url() const { return url_; }
    [[nodiscard]] const std::string& node() const { return node_; }
    [[nodiscard]] std::string echo() const { return node_ + ".2@" + url_; }
    Child& child() { return *child_; }

private:
    TempDir dir_;
    std::unique_ptr<Child> child_;
    std::string node_, url_;
};

}  // namespace herald::apps_test
