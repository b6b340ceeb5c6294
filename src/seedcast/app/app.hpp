#pragma once
// seedcast as a library: a C++ program builds an App from a Config, adds its own middleware
// (e.g. an authentication check) and routes, then listens and runs.
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

  // Binds, starts indexing the library, writes PORT_FILE; returns the port.
  uint16_t listen();
  std::vector<std::string> urls() const;
  std::string metrics() const;  // Prometheus text format, as served at /metrics
  void run();   // serves until stop()
  void stop();  // thread-safe

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace seedcast
