// Child processes and temporary directories for herald-bench (see spawn.h). Layer: bench.
#include "bench/herald-bench/spawn.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>

#include "bench/common/peer.h"

namespace herald::bench {
namespace {

constexpr std::int64_t poll_slice_ms = 20;  // How often stop() checks whether a child exited.

[[noreturn]] void exec_child(const std::string& path, const std::vector<std::string>& args,
                             int stdin_read, int stdout_write, int stderr_write) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;  // The driver blocks the signals its cleanup thread waits for.
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);  // The driver ignores it (a peer that died reads no command).
    ::dup2(stdin_read, STDIN_FILENO);
    ::dup2(stdout_write, STDOUT_FILENO);
    ::dup2(stderr_write, STDERR_FILENO);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(path.c_str()));
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    ::execv(path.c_str(), argv.data());
    ::_exit(127);
}

}  // namespace

Result<Child> Child::spawn(const std::string& path, const std::vector<std::string>& args,
                           const std::string& stderr_path) {
    Fd err(::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (err.get() < 0) return fail(errno_error("open " + stderr_path));
    std::array<int, 2> in{}, out{};
    if (::pipe2(in.data(), O_CLOEXEC) != 0) return fail(errno_error("pipe"));
    Fd in_read(in[0]), in_write(in[1]);
    if (::pipe2(out.data(), O_CLOEXEC) != 0) return fail(errno_error("pipe"));
    Fd out_read(out[0]), out_write(out[1]);
    pid_t pid = ::fork();
    if (pid < 0) return fail(errno_error("fork"));
    if (pid == 0) exec_child(path, args, in_read.get(), out_write.get(), err.get());
    return Child(pid, std::move(in_write), std::move(out_read));
}

Child::Child(Child&& other) noexcept
    : pid_(other.pid_),
      status_(other.status_),
      stdin_(std::move(other.stdin_)),
      stdout_(std::move(other.stdout_)),
      pending_(std::move(other.pending_)) {
    other.pid_ = -1;
}

Child::~Child() {
    if (pid_ > 0) stop(now_ns(), false);
}

Result<std::string> Child::read_line(std::string_view prefix, std::int64_t deadline_ns) {
    for (;;) {
        for (auto end = pending_.find('\n'); end != std::string::npos; end = pending_.find('\n')) {
            std::string line = pending_.substr(0, end);
            pending_.erase(0, end + 1);
            if (line.starts_with(prefix)) return line.substr(prefix.size());
        }
        std::int64_t left_ms = (deadline_ns - now_ns()) / 1'000'000;
        if (left_ms <= 0 || stdout_.get() < 0) {
            return fail(stdout_.get() < 0 ? Errc::closed : Errc::timeout,
                        "no '" + std::string(prefix) + "' line from pid " + std::to_string(pid_));
        }
        pollfd fd{stdout_.get(), POLLIN, 0};
        int ready = ::poll(&fd, 1, static_cast<int>(left_ms));
        if (ready < 0 && errno != EINTR) return fail(errno_error("poll"));
        if (ready <= 0) continue;
        std::array<char, 4096> chunk{};
        ssize_t n = ::read(stdout_.get(), chunk.data(), chunk.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) stdout_ = Fd();  // Exited (or broken): report after the buffered lines.
        if (n > 0) pending_.append(chunk.data(), static_cast<std::size_t>(n));
    }
}

Status Child::write_line(std::string_view line) {
    std::string text = std::string(line) + "\n";
    std::string_view left = text;
    while (!left.empty() && stdin_.get() >= 0) {
        ssize_t n = ::write(stdin_.get(), left.data(), left.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        left.remove_prefix(static_cast<std::size_t>(n));
    }
    if (!left.empty()) return fail(Errc::closed, "pid " + std::to_string(pid_) + " stdin closed");
    return {};
}

bool Child::running() {
    if (pid_ <= 0) return false;
    if (::waitpid(pid_, &status_, WNOHANG) != pid_) return true;
    pid_ = -1;
    return false;
}

void Child::close_stdin() {
    stdin_ = Fd();
}

int Child::stop(std::int64_t deadline_ns, bool terminate) {
    if (pid_ <= 0) return status_;
    if (terminate) ::kill(pid_, SIGTERM);
    for (;;) {
        pid_t done = ::waitpid(pid_, &status_, WNOHANG);
        if (done == pid_ || (done < 0 && errno != EINTR)) break;
        if (now_ns() >= deadline_ns) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status_, 0);
            break;
        }
        ::poll(nullptr, 0, static_cast<int>(poll_slice_ms));
    }
    pid_ = -1;
    return status_;
}

Result<TempDir> TempDir::create() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/herald-bench-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) return fail(errno_error("mkdtemp"));
    return TempDir(pattern);
}

TempDir::~TempDir() {
    if (path_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

}  // namespace herald::bench
