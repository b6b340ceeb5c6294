#include "seedcast/app/app.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "seedcast/catalog/blacklist.hpp"
#include "seedcast/catalog/catalog.hpp"
#include "seedcast/http/cors.hpp"
#include "seedcast/http/server.hpp"
#include "seedcast/library/library.hpp"
#include "seedcast/web/web.hpp"
#include "seedcast/webseed/webseed.hpp"

namespace seedcast {
namespace fs = std::filesystem;

namespace {
int cores() { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }

http::ServerOptions server_options(const Config& c) {
  http::ServerOptions o;
  o.host = c.host;
  o.port = c.port;
  o.threads = c.threads > 0 ? c.threads : cores();
  o.idle_timeout = std::chrono::seconds(c.idle_timeout);
  o.header_timeout = std::chrono::seconds(c.header_timeout);
  // CORS middleware never sees what the parser refuses; those answers carry the same origin rule.
  o.own_error_fields = "Access-Control-Allow-Origin: *\r\n";
  return o;
}

std::string prepare_dir(const std::string& dir, const char* what) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(std::string("cannot create ") + what + " " + dir + ": " + ec.message());
  return fs::canonical(dir).string();
}
}  // namespace

struct App::Impl {
  Config config;
  std::string library_dir;
  std::unique_ptr<catalog::Catalog> catalog;
  std::unique_ptr<catalog::Blacklist> blacklist;
  std::unique_ptr<library::Library> library;
  std::unique_ptr<http::Server> server;
  std::unique_ptr<webseed::Webseed> webseed;
};

App::App(Config config) : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.config = std::move(config);
  m.config.data_dir = prepare_dir(m.config.data_dir, "DATA_DIR");
  m.library_dir = prepare_dir(m.config.library, "LIBRARY");
  m.catalog = std::make_unique<catalog::Catalog>(m.config.data_dir + "/catalog.db");
  m.blacklist = std::make_unique<catalog::Blacklist>(m.config.blacklist_path());
  m.library = std::make_unique<library::Library>(
      library::LibraryOptions{m.library_dir, m.config.hash_threads, m.config.piece_size, m.config.rescan_interval},
      *m.catalog, m.blacklist.get());
  m.server = std::make_unique<http::Server>(server_options(m.config));
  m.server->use(http::cors({}));

  webseed::Options wo;
  wo.public_url = m.config.public_url;
  wo.max_ranges = static_cast<size_t>(m.config.max_ranges);
  wo.on_stale = [lib = m.library.get()] { lib->rescan(); };
  m.webseed = std::make_unique<webseed::Webseed>(std::move(wo), *m.catalog, *m.blacklist);
  m.webseed->add_routes(m.server->router());
  web::add_routes(m.server->router(), *m.catalog, {m.config.public_url});
  m.server->router().add({http::Method::get}, "/healthz", [this](http::Request&) -> asio::awaitable<http::Response> {
    auto s = impl_->library->stats();
    nlohmann::json j = {{"status", "ok"},        {"torrents", impl_->catalog->size()},
                        {"indexing", s.indexing}, {"hashed", s.hashed},
                        {"reused", s.reused},     {"failed", s.failed}};
    http::Response r = http::Response::json(200, j.dump());
    r.set("Cache-Control", "no-store");
    co_return r;
  });
}

App::~App() {
  stop();
  if (impl_->library) impl_->library->stop();
}

void App::use(http::Middleware middleware) { impl_->server->use(std::move(middleware)); }

void App::add_routes(const std::function<void(http::Router&)>& add) { add(impl_->server->router()); }

uint16_t App::listen() {
  auto& m = *impl_;
  uint16_t port = m.server->listen();
  for (const auto& u : m.server->urls()) spdlog::info("seedcast listening on {}", u);
  spdlog::info("library {} · data {} · {} torrents in the catalog", m.library_dir, m.config.data_dir,
               m.catalog->size());
  m.library->start();
  if (!m.config.port_file.empty()) {
    std::string tmp = m.config.port_file + ".tmp";
    std::ofstream(tmp) << port << "\n";
    fs::rename(tmp, m.config.port_file);
  }
  return port;
}

std::vector<std::string> App::urls() const { return impl_->server->urls(); }
void App::run() { impl_->server->run(); }
void App::stop() {
  if (impl_->server) impl_->server->stop();
}

}  // namespace seedcast
