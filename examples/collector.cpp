// collector: many-to-one communication. Sensors on one node send typed readings to one
// collector process on another node. The collector first receives only from a chosen set of
// sensors (receive_any_of: the lecture's receiver that names a set of senders) — messages
// from the others stay queued — and then takes the rest from anyone (receive()).
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "herald/herald.h"
#include "herald/typed.h"  // MessagePack bodies: send_value / body_as.

using namespace std::chrono_literals;

namespace {

struct Reading {
    std::string sensor;
    int seq = 0;
    double celsius = 0;
    MSGPACK_DEFINE_MAP(sensor, seq, celsius)
};

constexpr int sensors = 3;
constexpr int readings_each = 5;

int fail(const char* what, const herald::Error& error) {
    std::fprintf(stderr, "%s: %s\n", what, error.to_string().c_str());
    return 1;
}

void sense(herald::Process self, herald::Pid collector, int index) {
    const std::string name = std::string("s").append(std::to_string(index));
    for (int i = 1; i <= readings_each; ++i) {
        const Reading reading{name, i, 20.0 + index + i / 10.0};
        herald::SendOptions options;
        options.mode = herald::SendMode::delivered;  // Returns once it is in the inbox.
        auto sent = herald::send_value(self, collector, reading, options);
        if (!sent) std::fprintf(stderr, "send: %s\n", sent.error().to_string().c_str());
    }
}

}  // namespace

int main() {
    auto hub = herald::Node::start();
    auto field = herald::Node::start();
    if (!hub || !field) return fail("start", (hub ? field : hub).error());
    auto connected = (*field)->connect((*hub)->listen_url());
    if (!connected) return fail("connect", connected.error());
    herald::ProcessOptions options;
    options.name = "collector";
    auto collector = (*hub)->spawn(options);
    if (!collector) return fail("spawn", collector.error());

    std::vector<herald::Pid> pids;
    std::vector<std::thread> threads;
    for (int s = 0; s < sensors; ++s) {
        auto sensor = (*field)->spawn();
        if (!sensor) return fail("spawn", sensor.error());
        pids.push_back(sensor->pid());
        threads.emplace_back(sense, std::move(*sensor), collector->pid(), s);
    }
    for (auto& t : threads) t.join();  // Every reading is now queued at the collector.

    std::map<std::string, int> per_sensor;
    auto take = [&](herald::Result<herald::Envelope> envelope) {
        if (!envelope) return fail("receive", envelope.error());
        auto reading = herald::body_as<Reading>(*envelope);
        if (!reading) return fail("decode", reading.error());
        ++per_sensor[reading->sensor];
        return 0;
    };
    const herald::Pid chosen[] = {pids[0], pids[1]};  // s0 and s1 first.
    for (int n = 0; n < 2 * readings_each; ++n) {
        if (take(collector->receive_any_of(chosen, 2s)) != 0) return 1;
    }
    std::printf("from the set {s0, s1}: s0=%d s1=%d s2=%d\n", per_sensor["s0"], per_sensor["s1"],
                per_sensor["s2"]);
    for (int n = 0; n < readings_each; ++n) {
        if (take(collector->receive(2s)) != 0) return 1;  // s2's readings were kept queued.
    }
    std::printf("then from anyone: s0=%d s1=%d s2=%d\n", per_sensor["s0"], per_sensor["s1"],
                per_sensor["s2"]);
    auto extra = collector->try_receive();
    std::printf("collected %d readings from %d sensors; inbox now %s\n", sensors * readings_each,
                sensors, extra ? "not empty" : "empty");
    return extra ? 1 : 0;
}
