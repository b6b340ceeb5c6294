#pragma once
// One accepted connection and the code that serves it. Everything here runs on the thread of
// the connection's io_context.
#include <chrono>
#include <memory>
#include <string>

#include "seedcast/http/detail/asio_impl.hpp"
#include "seedcast/http/handler.hpp"
#include "seedcast/http/server.hpp"

namespace seedcast::http::detail {

using clock = std::chrono::steady_clock;

struct Shared {
  ServerOptions options;
  Handler handler;  // middleware chain around the router
};

struct Connection {
  explicit Connection(asio::ip::tcp::socket s)
      : socket(std::move(s)), timer(socket.get_executor()) {}

  // The watchdog closes the socket once `deadline` passes. Moving the deadline earlier than
  // the armed timer wakes the watchdog so that it re-arms.
  void expire_in(std::chrono::seconds d) {
    deadline = clock::now() + d;
    if (deadline < armed) timer.cancel();
  }

  // Bytes went out: the peer reads, so it has another write_timeout for the rest.
  void progress() { deadline = clock::now() + write_timeout; }

  asio::ip::tcp::socket socket;
  std::chrono::seconds write_timeout{60};
  asio::steady_timer timer;
  clock::time_point deadline = clock::now() + std::chrono::seconds(60);
  clock::time_point armed = clock::time_point::max();
  std::string remote;
  std::string local;  // host:port this connection was accepted on
};

asio::awaitable<void> watchdog(std::shared_ptr<Connection> c);
asio::awaitable<void> serve(std::shared_ptr<Connection> c, std::shared_ptr<const Shared> shared);

}  // namespace seedcast::http::detail
