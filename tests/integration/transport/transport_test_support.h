// Helpers for the transport integration tests: an io_context run in the test thread until a
// condition holds or a deadline passes (never a fixed sleep), and a receiving peer.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/transport.h"

namespace herald::runtime::testing {

using namespace std::chrono_literals;

// Runs `io` in this thread until `done()` or the deadline. Returns done().
inline bool run_until(asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds deadline = 10s) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (!done()) {
        if (std::chrono::steady_clock::now() > end) return false;
        io.restart();
        io.run_for(1ms);
    }
    return true;
}

// Runs every handler that is ready now (and those they post), without waiting.
inline void run_ready(asio::io_context& io) {
    io.restart();
    io.poll();
}

struct Received {
    Endpoint from;
    Bytes data;
};

// A transport plus everything it received. Held by unique_ptr: the handler points at it.
struct Peer {
    std::unique_ptr<Transport> transport;
    std::vector<Received> received;

    void start() {
        transport->start([this](const Endpoint& from, ByteView datagram) {
            received.push_back(Received{from, Bytes(datagram.begin(), datagram.end())});
        });
    }
    [[nodiscard]] Endpoint address() const { return transport->local_endpoint(); }
};

inline Endpoint endpoint(std::string_view url) {
    auto parsed = parse_endpoint(url);
    EXPECT_TRUE(parsed) << parsed.error().to_string();
    return *parsed;
}

using PeerPtr = std::unique_ptr<Peer>;

// Opens and starts a transport; on failure the test fails and the Peer has no transport.
inline PeerPtr open_peer(asio::io_context& io, std::string_view url,
                         const TransportOptions& options = {}) {
    auto peer = std::make_unique<Peer>();
    auto transport = open_transport(io, endpoint(url), options);
    EXPECT_TRUE(transport) << url << ": " << transport.error().to_string();
    if (!transport) return peer;
    peer->transport = std::move(*transport);
    peer->start();
    return peer;
}

// A fresh directory under the system temp dir, removed with its contents at scope exit.
class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "herald-XXXXXX").string();
        const char* made = ::mkdtemp(pattern.data());
        EXPECT_NE(made, nullptr);
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    [[nodiscard]] std::string file(std::string_view name) const {
        return (std::filesystem::path(path_) / name).string();
    }

private:
    std::string path_;
};

// Datagram i of a batch: its index in the first 4 bytes, then a pattern, `size` bytes in all.
inline Bytes numbered(std::uint32_t index, std::size_t size) {
    Bytes data(size);
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<std::uint8_t>(i * 31 + index);
    for (std::size_t i = 0; i < 4 && i < size; ++i) {
        data[i] = static_cast<std::uint8_t>(index >> (8 * i));
    }
    return data;
}

inline std::uint32_t index_of(const Bytes& data) {
    std::uint32_t index = 0;
    for (std::size_t i = 0; i < 4 && i < data.size(); ++i) {
        index |= std::uint32_t{data[i]} << (8 * i);
    }
    return index;
}

}  // namespace herald::runtime::testing
