// Helpers shared by the node integration tests: starting nodes without environment faults,
// temporary directories, and polling up to a deadline (never fixed sleeps).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "herald/herald.h"

namespace herald::testing {

using namespace std::chrono_literals;

// A node that ignores $HERALD_FAULTS unless `options.faults` asks for faults.
inline std::unique_ptr<Node> start_node(NodeOptions options = {}) {
    options.faults_from_env = false;
    auto node = Node::start(options);
    EXPECT_TRUE(node) << node.error().to_string();
    return node ? std::move(*node) : nullptr;
}

inline Process spawn(Node& node, ProcessOptions options = {}) {
    auto process = node.spawn(options);
    EXPECT_TRUE(process) << process.error().to_string();
    return std::move(*process);
}

// Polls `done` until it holds or `timeout` passes; returns its last value.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds timeout = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return done();
        // A short poll interval, so that waiting leaves the CPU to the nodes being waited on.
        std::this_thread::sleep_for(200us);
    }
    return true;
}

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it at scope exit.
class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "herald-XXXXXX").string();
        path_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : std::string();
        EXPECT_FALSE(path_.empty());
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    [[nodiscard]] const std::string& path() const { return path_; }

private:
    std::string path_;
};

inline std::string error_text(const Status& s) {
    return s ? "ok" : s.error().to_string();
}

template <class T>
std::string error_text(const Result<T>& r) {
    return r ? "ok" : r.error().to_string();
}

inline Errc code(const Status& s) {
    return s ? Errc::ok : s.error().code;
}
template <class T>
Errc code(const Result<T>& r) {
    return r ? Errc::ok : r.error().code;
}

}  // namespace herald::testing
