// EtcdClient implementation: libcurl's easy interface on the worker thread, one reused handle
// (so calls to the same member share a kept-alive connection). Layer: runtime/coord.
#include "runtime/coord/etcd_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <fstream>
#include <mutex>
#include <utility>

namespace herald::runtime::coord {

namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// A round over every endpoint that found none able to answer waits this long before the next:
// long enough for a member's election (tens of ms on loopback) not to be hammered.
constexpr Duration round_pause = Duration::milliseconds(50);

struct Sink {
    std::string* text;
    std::size_t max;
    bool overflow = false;
};

std::size_t collect(char* data, std::size_t size, std::size_t count, void* user) {
    auto* sink = static_cast<Sink*>(user);
    const std::size_t n = size * count;
    if (sink->text->size() + n > sink->max) {
        sink->overflow = true;
        return 0;  // Makes libcurl stop with CURLE_WRITE_ERROR.
    }
    sink->text->append(data, n);
    return n;
}

bool readable(const std::string& path) {
    return std::ifstream(path).good();
}

// etcd's errors through the gateway: {"error": text, "code": gRPC status, "message": text}, or
// on a streamed call {"error": {"grpc_code": n, "message": text, ...}}. Read without throwing:
// a field of another type counts as absent.

std::string error_message(const Json& answer) {
    const Json* error = json_field(answer, "error");
    const Json* nested = error != nullptr ? json_field(*error, "message") : nullptr;
    for (const Json* m : {json_field(answer, "message"), error, nested}) {
        if (m != nullptr && m->is_string()) return m->get<std::string>();
    }
    return "?";
}

int error_code(const Json& answer) {
    const Json* error = json_field(answer, "error");
    for (const Json* c :
         {json_field(answer, "code"), error ? json_field(*error, "grpc_code") : nullptr}) {
        if (c != nullptr && c->is_number_integer()) return c->get<int>();
    }
    return 0;
}

// Unavailable (14) and the leader's absence are worth trying at another member.
bool retryable(int code, const std::string& message) {
    return code == 14 || message.find("leader") != std::string::npos ||
           message.find("timed out") != std::string::npos;
}

}  // namespace

const Json* json_field(const Json& j, std::string_view name) {
    if (!j.is_object()) return nullptr;
    auto it = j.find(name);
    return it == j.end() ? nullptr : &*it;
}

bool json_true(const Json& j, std::string_view name) {
    const Json* c = json_field(j, name);
    return c != nullptr && c->is_boolean() && c->get<bool>();
}

std::optional<std::int64_t> json_int(const Json& j, std::string_view name) {
    const Json* c = json_field(j, name);
    if (c == nullptr) return std::nullopt;
    if (c->is_number_integer()) return c->get<std::int64_t>();
    if (!c->is_string()) return std::nullopt;
    const auto& s = c->get_ref<const std::string&>();
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

Json json_kvs(const Json& range) {
    const Json* kvs = json_field(range, "kvs");
    return kvs != nullptr && kvs->is_array() ? *kvs : Json::array();
}

std::optional<std::string> json_text(const Json& j, std::string_view name) {
    const Json* c = json_field(j, name);
    if (c == nullptr || !c->is_string()) return std::nullopt;
    return c->get<std::string>();
}

void set_tls_options(void* handle, const EtcdOptions& options) {
    auto* curl = static_cast<CURL*>(handle);
    if (!options.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options.ca_file.c_str());
    if (!options.cert_file.empty()) {
        curl_easy_setopt(curl, CURLOPT_SSLCERT, options.cert_file.c_str());
        curl_easy_setopt(curl, CURLOPT_SSLKEY, options.key_file.c_str());
    }
}

bool curl_ready() {
    static std::once_flag once;
    static bool ready = false;
    std::call_once(once, [] { ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; });
    return ready;
}

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        const auto v = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]) << 16 |
                                                  static_cast<unsigned char>(bytes[i + 1]) << 8 |
                                                  static_cast<unsigned char>(bytes[i + 2]));
        for (int s = 18; s >= 0; s -= 6) out += alphabet[(v >> s) & 63];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest > 0) {
        std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]) << 16);
        if (rest == 2)
            v |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1]) << 8);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += rest == 2 ? alphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

Result<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return fail(Errc::malformed, "base64 length not a multiple of 4");
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        std::uint32_t v = 0;
        int pad = 0;
        for (std::size_t j = 0; j < 4; ++j) {
            const char c = text[i + j];
            std::uint32_t d = 0;
            if (c == '=' && i + 4 == text.size() && j >= 2) {
                ++pad;
            } else if (pad > 0) {
                return fail(Errc::malformed, "base64 data after padding");
            } else if (auto at = alphabet.find(c); at != std::string_view::npos) {
                d = static_cast<std::uint32_t>(at);
            } else {
                return fail(Errc::malformed, "character outside base64");
            }
            v = v << 6 | d;
        }
        out += static_cast<char>((v >> 16) & 0xff);
        if (pad < 2) out += static_cast<char>((v >> 8) & 0xff);
        if (pad < 1) out += static_cast<char>(v & 0xff);
    }
    return out;
}

std::string prefix_end(std::string_view prefix) {
    std::string end(prefix);
    while (!end.empty()) {
        auto& last = reinterpret_cast<unsigned char&>(end.back());
        if (last < 0xff) {
            ++last;
            return end;
        }
        end.pop_back();
    }
    return std::string(1, '\0');
}

Status check_etcd_options(const EtcdOptions& options) {
    if (options.endpoints.empty()) {
        return fail(Errc::invalid_argument, "etcd_endpoints: at least one endpoint is needed");
    }
    for (const auto& e : options.endpoints) {
        const bool scheme = e.starts_with("http://") || e.starts_with("https://");
        const auto host = e.substr(e.find("//") == std::string::npos ? 0 : e.find("//") + 2);
        const auto colon = host.rfind(':');
        if (!scheme || colon == std::string::npos || colon == 0 || colon + 1 == host.size() ||
            host.find('/') != std::string::npos ||
            host.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
            return fail(Errc::invalid_argument,
                        "etcd_endpoints: '" + e + "' is not http://HOST:PORT or https://HOST:PORT");
        }
    }
    if (options.timeout < Duration::milliseconds(100) || options.timeout > Duration::seconds(60)) {
        return fail(Errc::invalid_argument, "etcd_timeout: must be within 100 ms - 60 s");
    }
    if (options.lease_ttl < Duration::seconds(2) || options.lease_ttl > Duration::seconds(3600)) {
        return fail(Errc::invalid_argument, "etcd_lease_ttl: must be within 2 - 3600 s");
    }
    if (options.prefix.empty() || options.prefix.front() != '/') {
        return fail(Errc::invalid_argument, "etcd_prefix: must start with '/'");
    }
    for (const auto* file : {&options.ca_file, &options.cert_file, &options.key_file}) {
        if (!file->empty() && !readable(*file)) {
            return fail(Errc::invalid_argument, "etcd TLS file '" + *file + "' is not readable");
        }
    }
    if (options.cert_file.empty() != options.key_file.empty()) {
        return fail(Errc::invalid_argument, "etcd_cert_file and etcd_key_file go together");
    }
    if (options.queue_max == 0 || options.response_bytes_max == 0) {
        return fail(Errc::invalid_argument, "etcd queue_max and response_bytes_max must be > 0");
    }
    return {};
}

EtcdClient::EtcdClient(const EtcdOptions& options) : options_(options) {}

Result<std::unique_ptr<EtcdClient>> EtcdClient::open(const EtcdOptions& options) {
    HERALD_TRY(check_etcd_options(options));
    if (!curl_ready()) return fail(Errc::io_error, "libcurl failed to initialize");
    std::unique_ptr<EtcdClient> client(new EtcdClient(options));
    client->curl_ = curl_easy_init();
    if (client->curl_ == nullptr) return fail(Errc::io_error, "libcurl: no easy handle");
    client->worker_ = std::thread([c = client.get()] { c->run(); });
    return client;
}

EtcdClient::~EtcdClient() {
    stop();
    join();
    if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

Status EtcdClient::submit(Work work) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return fail(Errc::closed, "etcd client stopped");
        if (queue_.size() >= options_.queue_max) {
            return fail(Errc::queue_full, "too many etcd calls waiting");
        }
        queue_.push_back(std::move(work));
    }
    wake_.notify_one();
    return {};
}

void EtcdClient::set_tick(Duration every, std::function<void(EtcdClient&)> tick) {
    {
        std::lock_guard lock(mutex_);
        tick_every_ = every;
        tick_ = std::move(tick);
    }
    wake_.notify_one();
}

void EtcdClient::stop(Work last) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        stopping_ = true;
        last_ = std::move(last);
    }
    refusing_.store(true, std::memory_order_relaxed);
    wake_.notify_one();
}

void EtcdClient::join() {
    if (worker_.joinable() && worker_.get_id() != std::this_thread::get_id()) worker_.join();
}

void EtcdClient::run() {
    using Clock = std::chrono::steady_clock;
    auto next_tick = Clock::time_point::max();
    std::unique_lock lock(mutex_);
    for (;;) {
        if (tick_ && next_tick == Clock::time_point::max()) {
            next_tick = Clock::now() + std::chrono::nanoseconds(tick_every_.ns());
        }
        auto ready = [&] {
            return stopping_ || !queue_.empty() || (tick_ && next_tick == Clock::time_point::max());
        };
        if (next_tick == Clock::time_point::max()) {
            wake_.wait(lock, ready);
        } else {
            wake_.wait_until(lock, next_tick, ready);
        }
        if (!queue_.empty()) {
            Work work = std::move(queue_.front());
            queue_.pop_front();
            lock.unlock();
            work(*this);
            lock.lock();
        } else if (stopping_) {
            if (last_) {
                auto last = std::move(last_);
                last_ = nullptr;
                lock.unlock();
                refusing_.store(false, std::memory_order_relaxed);  // Its calls may run.
                last(*this);
            }
            return;
        } else if (tick_ && Clock::now() >= next_tick) {
            auto tick = tick_;
            next_tick = Clock::time_point::max();
            lock.unlock();
            tick(*this);
            lock.lock();
        }
    }
}

struct EtcdClient::Attempt {
    bool answered = false;  // A member answered (result holds its outcome).
    Result<Json> result;
    std::string why;  // Not answered: why, for the unreachable detail.
};

EtcdClient::Attempt EtcdClient::attempt(const std::string& endpoint, std::string_view path,
                                        const std::string& body, Duration limit) {
    auto* curl = static_cast<CURL*>(curl_);
    curl_easy_reset(curl);
    const std::string url = endpoint + std::string(path);
    std::string text;
    Sink sink{&text, options_.response_bytes_max};
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(std::max<std::int64_t>(1, limit.ms())));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    set_tls_options(curl, options_);
    const CURLcode code = curl_easy_perform(curl);
    if (sink.overflow) {
        return {true, fail(Errc::malformed, "etcd answer over response_bytes_max"), {}};
    }
    if (code != CURLE_OK) return {false, Json(), endpoint + ": " + curl_easy_strerror(code)};
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    Json answer = Json::parse(text, nullptr, false);
    if (answer.is_discarded() || !answer.is_object()) {
        if (status >= 500) return {false, Json(), endpoint + ": HTTP " + std::to_string(status)};
        return {true, fail(Errc::malformed, "etcd answer from " + endpoint + " is not JSON"), {}};
    }
    if (status == 200 && !answer.contains("error")) return {true, std::move(answer), {}};
    const std::string message = error_message(answer);
    const int grpc = error_code(answer);
    if (retryable(grpc, message)) return {false, Json(), endpoint + ": " + message};
    const Errc errc = grpc == 5 ? Errc::not_found : Errc::io_error;
    return {true, fail(errc, "etcd at " + endpoint + ": " + message), {}};
}

Result<Json> EtcdClient::call(std::string_view path, const Json& body) {
    if (refusing_.load(std::memory_order_relaxed)) {
        return fail(Errc::closed, "the node is stopping");  // Keeps a stop bounded.
    }
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::nanoseconds(options_.timeout.ns());
    const std::string text = body.dump();
    const std::size_t n = options_.endpoints.size();
    std::string why;
    for (std::size_t tried = 0;; ++tried) {
        const auto left = deadline - Clock::now();
        if (left <= Clock::duration::zero()) break;
        const auto& endpoint = options_.endpoints[current_];
        // One member gets a third of the timeout (at least 500 ms) when there are others to
        // try: a follower without a leader holds a write until etcd's own request timeout
        // (seconds), so the next member must get its turn. A write sent again elsewhere after
        // its first try committed late: register finds the name its own and succeeds (C3);
        // unregister finds it gone and reports not_found (docs/coordination.md C10).
        Duration limit = Duration::nanoseconds(
            std::chrono::duration_cast<std::chrono::nanoseconds>(left).count());
        if (n > 1) {
            limit = std::min(limit, std::max(options_.timeout / 3, Duration::milliseconds(500)));
        }
        Attempt a = attempt(endpoint, path, text, limit);
        if (a.answered) return std::move(a.result);
        why = a.why;
        current_ = (current_ + 1) % n;
        if ((tried + 1) % n == 0)
            std::this_thread::sleep_for(std::chrono::nanoseconds(round_pause.ns()));
    }
    std::string detail =
        "etcd unreachable within " + std::to_string(options_.timeout.ms()) + " ms at";
    for (const auto& e : options_.endpoints) detail += " " + e;
    if (!why.empty()) detail += " (last: " + why + ")";
    return fail(Errc::unreachable, std::move(detail));
}

Result<std::int64_t> grant_lease(EtcdClient& etcd, Duration ttl) {
    const std::int64_t seconds = std::max<std::int64_t>(1, (ttl.ms() + 999) / 1000);
    HERALD_TRY(Json answer, etcd.call("/v3/lease/grant", Json{{"TTL", std::to_string(seconds)}}));
    auto id = json_int(answer, "ID");
    if (!id || *id == 0) return fail(Errc::malformed, "etcd lease grant without an ID");
    return *id;
}

void revoke_lease(EtcdClient& etcd, std::int64_t& lease) {
    if (lease == 0) return;
    (void)etcd.call("/v3/lease/revoke", Json{{"ID", std::to_string(lease)}});
    lease = 0;
}

}  // namespace herald::runtime::coord
