#include "seedcast/auth/webhook.hpp"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>
#include <vector>

namespace seedcast::auth {
namespace {
using clock = std::chrono::steady_clock;

size_t append(char* p, size_t size, size_t n, void* out) {
  auto* s = static_cast<std::string*>(out);
  if (s->size() + size * n > 64 * 1024) return 0;  // an answer this large is not a yes/no
  s->append(p, size * n);
  return size * n;
}

// Cache keys are digests, so the cache holds no usable tokens.
std::string digest(const std::string& token) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(token.data(), token.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

}  // namespace

VerifyResult webhook_answer(long status, std::string_view body) {
  if (status == 401 || status == 403) return {std::nullopt, "token refused by the site"};
  if (status < 200 || status >= 300) return {std::nullopt, "authentication service unavailable"};
  Identity id;
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object()) {
    id.claims_json = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    for (const char* k : {"userId", "sub"}) {
      auto it = j.find(k);
      if (it == j.end()) continue;
      id.user = it->is_string() ? it->get<std::string>() : it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      break;
    }
  }
  return {std::move(id), ""};
}

struct Webhook::Impl {
  WebhookOptions options;
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::pair<std::string, std::function<void(VerifyResult)>>> queue;
  bool stopping = false;
  std::vector<std::thread> threads;
  struct Entry {
    VerifyResult result;
    clock::time_point expires;
  };
  std::unordered_map<std::string, Entry> cache;
  std::atomic<size_t> requests{0};

  VerifyResult ask(const std::string& token) {
    ++requests;
    CURL* curl = curl_easy_init();
    if (!curl) return {std::nullopt, "authentication service unavailable"};
    std::string body;
    std::string header = "Authorization: Bearer " + token;
    curl_slist* headers = curl_slist_append(nullptr, header.c_str());
    curl_easy_setopt(curl, CURLOPT_URL, options.url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) return {std::nullopt, "authentication service unavailable"};
    return webhook_answer(status, body);
  }

  void run() {
    for (;;) {
      std::pair<std::string, std::function<void(VerifyResult)>> job;
      {
        std::unique_lock lock(mutex);
        wake.wait(lock, [this] { return stopping || !queue.empty(); });
        if (queue.empty()) return;
        job = std::move(queue.front());
        queue.pop_front();
      }
      VerifyResult r = ask(job.first);
      bool transient = !r.identity && r.reason == "authentication service unavailable";
      if (!transient) {
        std::lock_guard lock(mutex);
        if (cache.size() > 100000) cache.clear();
        cache[digest(job.first)] = {r, clock::now() + (r.identity ? options.ttl : options.negative_ttl)};
      }
      job.second(std::move(r));
    }
  }

  std::optional<VerifyResult> cached(const std::string& token) {
    std::lock_guard lock(mutex);
    auto it = cache.find(digest(token));
    if (it == cache.end()) return std::nullopt;
    if (it->second.expires < clock::now()) {
      cache.erase(it);
      return std::nullopt;
    }
    return it->second.result;
  }
};

Webhook::Webhook(WebhookOptions options) : impl_(std::make_shared<Impl>()) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  impl_->options = std::move(options);
  for (int i = 0; i < std::max(1, impl_->options.threads); ++i)
    impl_->threads.emplace_back([impl = impl_.get()] { impl->run(); });
}

Webhook::~Webhook() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  for (auto& t : impl_->threads) t.join();
}

size_t Webhook::requests_made() const { return impl_->requests.load(); }

asio::awaitable<VerifyResult> Webhook::verify(std::string token) {
  if (auto hit = impl_->cached(token)) co_return *hit;
  auto executor = co_await asio::this_coro::executor;
  // Built before the co_await: GCC 12 mishandles lambdas created inside a co_await expression
  // (their captures are destroyed twice).
  auto initiation = [impl = impl_, executor, token = std::move(token)](auto handler) mutable {
    // The handler is move-only; the queue holds copyable functions. Its only reference moves
    // to the request's executor: the handler was allocated by that thread's recycling
    // allocator and must be released there, never on a webhook thread.
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    std::lock_guard lock(impl->mutex);
    impl->queue.emplace_back(std::move(token), [h = std::move(h), executor](VerifyResult r) mutable {
      asio::post(executor, [h = std::move(h), r = std::move(r)]() mutable { (*h)(std::move(r)); });
    });
    impl->wake.notify_one();
  };
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(VerifyResult)>(std::move(initiation),
                                                                                            asio::use_awaitable);
}

}  // namespace seedcast::auth
