#include "seedcast/http/server.hpp"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <spdlog/spdlog.h>

#include <signal.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include "seedcast/http/detail/connection.hpp"

namespace seedcast::http {
using asio::ip::tcp;

struct Server::Impl {
  ServerOptions options;
  std::vector<Middleware> middleware;
  Router router;
  // Declared before the contexts, so that they outlive the coroutines the contexts destroy
  // (which leave lives[i] then).
  std::atomic<bool> stopped{false};
  std::atomic<bool> shutting_down{false};
  std::atomic<size_t> draining{0};  // contexts that still have connections
  std::vector<std::unique_ptr<detail::Live>> lives;  // lives[i]: the connections of contexts[i]
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::vector<tcp::endpoint> endpoints;
  std::shared_ptr<detail::Shared> shared;
  std::unique_ptr<asio::steady_timer> grace;  // on contexts[0], during shutdown()

  uint64_t sent_bytes() const {
    uint64_t n = 0;
    for (const auto& l : lives) n += l->sent_bytes.load(std::memory_order_relaxed);
    return n;
  }
  size_t connections() const {
    size_t n = 0;
    for (const auto& l : lives) n += l->size();
    return n;
  }
  void stop() {
    stopped = true;
    for (auto& ctx : contexts) ctx->stop();
  }
  // Context i's thread: stop accepting, then drain its connections.
  void drain(size_t i) {
    error_code ec;
    for (auto& a : acceptors) {
      if (&a->get_executor().context() == contexts[i].get()) a->close(ec);
    }
    lives[i]->drain([this] {
      // Not while the contexts are being destroyed (their coroutines leave the list then).
      if (draining.fetch_sub(1) == 1 && !stopped) {
        spdlog::info("every connection has ended: stopping");
        stop();
      }
    });
  }
};

namespace {
void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("connection task failed: {}", ex.what());
  }
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, detail::Live& live,
                                  std::shared_ptr<const detail::Shared> shared) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer backoff(executor);
  for (;;) {
    error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      // Out of descriptors or memory: wait a little instead of spinning.
      spdlog::warn("accept failed: {}", ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (live.draining) continue;  // accepted just before the acceptor closed: closed at once
    auto c = std::make_shared<detail::Connection>(std::move(socket), live);
    error_code ep_ec;
    auto ep = c->socket.remote_endpoint(ep_ec);
    c->remote = ep_ec ? "?" : ep.address().to_string();
    auto local = c->socket.local_endpoint(ep_ec);
    if (!ep_ec) {
      auto a = local.address();
      c->local = (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(local.port());
    }
    asio::co_spawn(executor, detail::serve(c, shared), log_exception);
    asio::co_spawn(executor, detail::watchdog(c), log_exception);
  }
}
}  // namespace

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>()) {
  if (options.threads < 1) options.threads = 1;
  ::signal(SIGPIPE, SIG_IGN);  // a peer closing mid-sendfile must not kill the process
  impl_->options = std::move(options);
  for (int i = 0; i < impl_->options.threads; ++i) {
    impl_->contexts.push_back(std::make_unique<asio::io_context>(1));
    impl_->lives.push_back(std::make_unique<detail::Live>());
  }
}

Server::~Server() { stop(); }

void Server::use(Middleware middleware) { impl_->middleware.push_back(std::move(middleware)); }
Router& Server::router() { return impl_->router; }

uint16_t Server::listen() {
  auto& opt = impl_->options;
  tcp::resolver resolver(*impl_->contexts[0]);
  error_code ec;
  auto results = resolver.resolve(opt.host, std::to_string(opt.port), tcp::resolver::passive, ec);
  if (ec) throw std::runtime_error("cannot resolve HOST '" + opt.host + "': " + ec.message());
  std::vector<tcp::endpoint> wanted;
  for (const auto& r : results) {
    if (std::find(wanted.begin(), wanted.end(), r.endpoint()) == wanted.end())
      wanted.push_back(r.endpoint());
  }
  uint16_t port = opt.port;
  std::string errors;
  for (auto ep : wanted) {
    ep.port(port);
    std::vector<std::unique_ptr<tcp::acceptor>> group;
    try {
      for (auto& ctx : impl_->contexts) {
        auto a = std::make_unique<tcp::acceptor>(*ctx);
        a->open(ep.protocol());
        a->set_option(asio::socket_base::reuse_address(true));
        int one = 1;
        ::setsockopt(a->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        if (ep.address().is_v6() && wanted.size() > 1) a->set_option(asio::ip::v6_only(true));
        a->bind(ep);
        a->listen(1024);
        if (port == 0) port = a->local_endpoint().port();
        ep.port(port);
        group.push_back(std::move(a));
      }
    } catch (const std::exception& e) {
      errors += " " + ep.address().to_string() + ": " + e.what() + ";";
      continue;
    }
    impl_->endpoints.push_back(ep);
    for (auto& a : group) impl_->acceptors.push_back(std::move(a));
  }
  if (impl_->endpoints.empty())
    throw std::runtime_error("cannot listen on " + opt.host + ":" + std::to_string(opt.port) + ":" + errors);
  if (!errors.empty()) spdlog::warn("some addresses of {} could not be bound:{}", opt.host, errors);

  impl_->shared = std::make_shared<detail::Shared>(detail::Shared{opt, chain()});
  for (auto& a : impl_->acceptors) {
    size_t i = 0;
    while (impl_->contexts[i].get() != &a->get_executor().context()) ++i;
    asio::co_spawn(a->get_executor(), accept_loop(*a, *impl_->lives[i], impl_->shared), log_exception);
  }
  return port;
}

Handler Server::chain() const {
  // middleware[0](middleware[1](…(router)))
  Handler h = impl_->router.as_handler();
  for (auto it = impl_->middleware.rbegin(); it != impl_->middleware.rend(); ++it) {
    h = [mw = *it, next = std::move(h)](Request& r) { return mw(r, next); };
  }
  return h;
}

uint64_t Server::sent_bytes() const { return impl_->sent_bytes(); }

std::vector<std::string> Server::urls() const {
  std::vector<std::string> out;
  for (const auto& ep : impl_->endpoints) {
    auto a = ep.address();
    out.push_back("http://" + (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" +
                  std::to_string(ep.port()));
  }
  return out;
}

void Server::run() {
  std::vector<std::thread> threads;
  for (size_t i = 1; i < impl_->contexts.size(); ++i) {
    threads.emplace_back([ctx = impl_->contexts[i].get()] { ctx->run(); });
  }
  impl_->contexts[0]->run();
  for (auto& t : threads) t.join();
}

void Server::stop() { impl_->stop(); }

void Server::shutdown(std::chrono::seconds grace) {
  auto& m = *impl_;
  if (m.shutting_down.exchange(true) || m.stopped) return;
  spdlog::info("shutting down: no new connections; {} open, waiting up to {} s for the responses in flight",
               m.connections(), grace.count());
  m.draining = m.contexts.size();
  asio::post(*m.contexts[0], [impl = &m, grace] {
    impl->grace = std::make_unique<asio::steady_timer>(*impl->contexts[0], grace);
    impl->grace->async_wait([impl, grace](error_code ec) {
      if (ec || impl->stopped) return;
      spdlog::warn("shutting down: {} s passed with {} connections open: closing them", grace.count(),
                   impl->connections());
      impl->stop();
    });
  });
  for (size_t i = 0; i < m.contexts.size(); ++i) asio::post(*m.contexts[i], [impl = &m, i] { impl->drain(i); });
}

}  // namespace seedcast::http
