// EtcdWatch implementation: libcurl's multi interface (so that stop() can wake a stream that
// waits for events) on the watch thread. Layer: runtime/coord.
#include "runtime/coord/etcd_watch.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <utility>

namespace herald::runtime::coord {

namespace {

// Reconnect pauses: after a stream that got no answer, 100 ms doubling to 2 s; reset by one
// that answered.
constexpr Duration pause_first = Duration::milliseconds(100);
constexpr Duration pause_max = Duration::seconds(2);

struct StreamSink {
    EtcdWatch* watch;
    std::string* buffer;
    std::size_t max;
    bool answered = false;
    bool overflow = false;
};

}  // namespace

Result<std::unique_ptr<EtcdWatch>> EtcdWatch::open(const EtcdOptions& options, std::string prefix,
                                                   Handler handler) {
    HERALD_TRY(check_etcd_options(options));
    if (prefix.empty()) return fail(Errc::invalid_argument, "etcd watch: empty prefix");
    if (!curl_ready()) return fail(Errc::io_error, "libcurl failed to initialize");
    std::unique_ptr<EtcdWatch> watch(new EtcdWatch(options, std::move(prefix), std::move(handler)));
    watch->thread_ = std::thread([w = watch.get()] { w->run(); });
    return watch;
}

EtcdWatch::EtcdWatch(const EtcdOptions& options, std::string prefix, Handler handler)
    : options_(options), prefix_(std::move(prefix)), handler_(std::move(handler)) {}

EtcdWatch::~EtcdWatch() {
    stop();
    if (thread_.joinable()) thread_.join();
}

void EtcdWatch::stop() {
    stopping_.store(true);
    std::lock_guard lock(mutex_);
    if (multi_ != nullptr) curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

void EtcdWatch::run() {
    std::size_t at = 0;
    Duration pause = pause_first;
    while (!stopping_.load()) {
        const bool answered = stream(options_.endpoints[at]);
        at = (at + 1) % options_.endpoints.size();
        if (stopping_.load()) break;
        pause = answered ? pause_first : std::min(pause * 2, pause_max);
        // Interruptible pause before the next member.
        const auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(pause.ns());
        while (!stopping_.load() && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
}

bool EtcdWatch::stream(const std::string& endpoint) {
    Json create{{"key", base64_encode(prefix_)}, {"range_end", base64_encode(prefix_end(prefix_))}};
    if (next_revision_ > 0) create["start_revision"] = std::to_string(next_revision_);
    const std::string body = Json{{"create_request", create}}.dump();
    const std::string url = endpoint + "/v3/watch";
    buffer_.clear();
    canceled_ = false;
    StreamSink sink{this, &buffer_, options_.response_bytes_max};
    CURL* easy = curl_easy_init();
    CURLM* multi = curl_multi_init();
    if (easy == nullptr || multi == nullptr) {
        if (easy != nullptr) curl_easy_cleanup(easy);
        if (multi != nullptr) curl_multi_cleanup(multi);
        return false;
    }
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::max<std::int64_t>(1, options_.timeout.ms())));
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(
        easy, CURLOPT_WRITEFUNCTION,
        +[](char* data, std::size_t size, std::size_t count, void* user) -> std::size_t {
            auto* s = static_cast<StreamSink*>(user);
            const std::size_t n = size * count;
            s->answered = true;
            s->buffer->append(data, n);
            s->watch->take_lines();
            if (s->buffer->size() > s->max) {
                s->overflow = true;  // One response over response_bytes_max: reconnect.
                return 0;
            }
            return n;
        });
    set_tls_options(easy, options_);
    curl_multi_add_handle(multi, easy);
    {
        std::lock_guard lock(mutex_);
        multi_ = multi;
    }
    streams_.fetch_add(1);
    int running = 1;
    while (running != 0 && !stopping_.load() && !canceled_) {
        if (curl_multi_perform(multi, &running) != CURLM_OK) break;
        if (running != 0) curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
    {
        std::lock_guard lock(mutex_);
        multi_ = nullptr;
    }
    curl_multi_remove_handle(multi, easy);
    curl_easy_cleanup(easy);
    curl_multi_cleanup(multi);
    if (sink.overflow) reset_pending_ = true;  // A response was lost: report a reset.
    return sink.answered;
}

void EtcdWatch::take_lines() {
    std::size_t start = 0;
    for (std::size_t nl = buffer_.find('\n'); nl != std::string::npos;
         nl = buffer_.find('\n', start)) {
        const std::string_view line(buffer_.data() + start, nl - start);
        start = nl + 1;
        if (canceled_ || line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
        Json response = Json::parse(line, nullptr, false);
        if (response.is_discarded()) {
            canceled_ = true;  // Not etcd's stream: drop it and reconnect elsewhere.
            continue;
        }
        take_response(response);
    }
    buffer_.erase(0, start);
}

void EtcdWatch::take_response(const Json& response) {
    const Json* result = json_field(response, "result");
    if (result == nullptr) {
        canceled_ = true;  // {"error": ...}: the member refused; try the next.
        return;
    }
    if (json_int(*result, "compact_revision").value_or(0) > 0 || json_true(*result, "canceled")) {
        // The resume revision was compacted away (or etcd canceled the watch): changes may
        // be lost, so start again from now and report a reset.
        next_revision_ = 0;
        reset_pending_ = true;
        canceled_ = true;
        return;
    }
    const Json* header = json_field(*result, "header");
    const std::int64_t now_revision =
        header != nullptr ? json_int(*header, "revision").value_or(0) : 0;
    std::vector<WatchEvent> events;
    if (const Json* list = json_field(*result, "events"); list != nullptr && list->is_array()) {
        for (const Json& e : *list) {
            const Json* kv = json_field(e, "kv");
            const Json* key = kv != nullptr ? json_field(*kv, "key") : nullptr;
            if (key == nullptr || !key->is_string()) continue;
            auto decoded = base64_decode(key->get<std::string>());
            if (!decoded) continue;
            const Json* type = json_field(e, "type");
            WatchEvent event;
            event.key = std::move(*decoded);
            event.deleted =
                type != nullptr && type->is_string() && type->get<std::string>() == "DELETE";
            event.revision = json_int(*kv, "mod_revision").value_or(0);
            event.create_revision = json_int(*kv, "create_revision").value_or(0);
            if (auto value = json_text(*kv, "value"); value && !event.deleted) {
                auto bytes = base64_decode(*value);
                if (!bytes) continue;  // Not etcd's base64: not a change we can read.
                event.value = std::move(*bytes);
            }
            next_revision_ = std::max(next_revision_, event.revision + 1);
            events.push_back(std::move(event));
        }
    }
    const bool created = json_true(*result, "created");
    if (created && next_revision_ == 0 && now_revision > 0) next_revision_ = now_revision + 1;
    const bool reset = created && reset_pending_;
    if (reset) {
        reset_pending_ = false;
        resets_.fetch_add(1);
    }
    if (events.empty() && !reset) return;
    events_.fetch_add(events.size());
    handler_(events, reset, now_revision);
}

}  // namespace herald::runtime::coord
