// Child processes for herald-bench: starts a peer with pipes on stdin and stdout, reads its
// protocol lines with deadlines, and stops it. Layer: bench (driver only).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/common/socket_util.h"
#include "core/result.h"

namespace herald::bench {

// One running peer. The destructor kills it (SIGKILL) and reaps it if still running.
class Child {
public:
    // Starts `path` with `args`; stdin and stdout are pipes to us, stderr goes to the file
    // `stderr_path` (created). The child dies with the driver (PR_SET_PDEATHSIG).
    // Errc::io_error when the file, a pipe or fork fails.
    static Result<Child> spawn(const std::string& path, const std::vector<std::string>& args,
                               const std::string& stderr_path);

    Child(Child&& other) noexcept;
    Child& operator=(Child&&) = delete;
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child();

    // The rest of the first stdout line that starts with `prefix` ("ready ", "result "),
    // skipping other lines. Errc::timeout at `deadline_ns` (monotonic, see now_ns());
    // Errc::closed when the child closed stdout (exited) first.
    Result<std::string> read_line(std::string_view prefix, std::int64_t deadline_ns);

    // Writes `line` and a newline to the child's stdin (a command to a group peer).
    // Errc::closed when it no longer reads.
    Status write_line(std::string_view line);

    // The child has not exited yet (reaps it when it has).
    [[nodiscard]] bool running();

    // Tells a lingering peer that the run is over (it sees end of file on stdin).
    void close_stdin();

    // Waits for the child to exit by itself until `deadline_ns`; then SIGKILL. With
    // `terminate`, sends SIGTERM first (for servers that serve until stopped). Returns the
    // exit status as from waitpid; idempotent.
    int stop(std::int64_t deadline_ns, bool terminate);

    [[nodiscard]] pid_t pid() const { return pid_; }

private:
    Child(pid_t pid, Fd stdin_write, Fd stdout_read)
        : pid_(pid), stdin_(std::move(stdin_write)), stdout_(std::move(stdout_read)) {}

    pid_t pid_ = -1;
    int status_ = 0;
    Fd stdin_;
    Fd stdout_;
    std::string pending_;  // Bytes read from stdout that do not yet end a line.
};

// A fresh private directory under $TMPDIR (or /tmp) for socket files; removed with its
// contents on destruction.
class TempDir {
public:
    static Result<TempDir> create();
    TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
    TempDir& operator=(TempDir&&) = delete;
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();
    [[nodiscard]] const std::string& path() const { return path_; }

private:
    explicit TempDir(std::string path) : path_(std::move(path)) {}
    std::string path_;
};

}  // namespace herald::bench
