#pragma once
// AUTH_WEBHOOK: for sites not written in C++, seedcast asks the site whether a token is good.
//   GET <url> with "Authorization: Bearer <token>"
//   2xx → good; the body may be JSON {"userId": "…"} (else the user is unnamed)
//   401/403 → refused; anything else (or no answer within the timeout) → refused as unavailable
// Answers are cached (good ones for `ttl`, refusals for `negative_ttl`) so a viewer's many
// range requests cost one round trip. libcurl runs on the webhook's own threads.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "seedcast/auth/jwt.hpp"
#include "seedcast/http/asio.hpp"

namespace seedcast::auth {

struct WebhookOptions {
  std::string url;
  std::chrono::seconds ttl{60};
  std::chrono::seconds negative_ttl{5};
  std::chrono::milliseconds timeout{5000};
  int threads = 4;
};

// What the site's answer means: its HTTP status and body, read as described above.
VerifyResult webhook_answer(long status, std::string_view body);

class Webhook {
 public:
  explicit Webhook(WebhookOptions options);
  ~Webhook();
  // Completes on the caller's executor.
  asio::awaitable<VerifyResult> verify(std::string token);
  size_t requests_made() const;  // round trips to the site so far

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace seedcast::auth
