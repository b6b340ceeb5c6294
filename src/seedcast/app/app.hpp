#pragma once
// seedcast as a library: a C++ program builds an App from a Config, adds its own middleware
// (e.g. an authentication check) and routes, then listens and runs.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "seedcast/core/config.hpp"
#include "seedcast/http/handler.hpp"

namespace seedcast::http {
class Router;
}

namespace seedcast {

class App {
 public:
  // Opens the catalog in config.data_dir (creating folders as needed) and starts threads
  // (BitTorrent engine, hashing): block the signals you want to sigwait() for before this.
  // Throws on failure.
  explicit App(Config config);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Middleware added here runs after CORS and before the routes, in the order added.
  void use(http::Middleware middleware);
  void add_routes(const std::function<void(http::Router&)>& add);

  // Answers one request in-process through the whole chain (CORS, authentication, the
  // program's middleware, the routes), as a connection does once it has read it: for tests and
  // fuzzing. Runs on the caller's executor; add middleware and routes first.
  http::Handler handler() const;

  // Binds, starts indexing the library, writes PORT_FILE; returns the port.
  uint16_t listen();
  std::vector<std::string> urls() const;
  std::string metrics() const;  // Prometheus text format, as served at /metrics
  void run();   // serves until stop(), or until shutdown() has finished
  void stop();  // at once, cutting requests in flight; thread-safe
  // Graceful: no new connections, the responses in flight finish (for up to `grace`), then
  // run() returns. Thread-safe (a signal thread), returns at once.
  void shutdown(std::chrono::seconds grace);
  // SIGHUP: applies what can change while running — LOG_LEVEL, the blacklist (read again now,
  // also when BLACKLIST did not change), ALLOWED_DOMAINS / ALLOWED_DOMAINS_FILE (read again),
  // ACCESS_TOKEN — and starts a library scan; logs every other setting that changed as taking
  // effect at the next restart. SHUTDOWN_TIMEOUT is the caller's to pass to shutdown().
  // Throws std::exception when `fresh` cannot be applied (an unknown LOG_LEVEL, an
  // unreadable ALLOWED_DOMAINS_FILE), and then changes nothing. One caller at a time.
  void reload(Config fresh);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace seedcast
