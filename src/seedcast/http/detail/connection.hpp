#pragma once
// One accepted connection and the code that serves it. Everything here runs on the thread of
// the connection's io_context.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
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

struct Connection;

// The live connections of one io_context, for a graceful shutdown: an intrusive list (no
// allocation per connection) that only that context's thread touches, and its length, which
// other threads may read.
struct Live {
  void add(Connection& c);
  void remove(Connection& c);  // calls `drained` when the last one leaves while draining
  // Starts draining: idle keep-alive connections close now, WebSocket sessions are told to go
  // away, the others close once their response is out. `drained` is called once, when no
  // connection is left (maybe before drain() returns).
  void drain(std::function<void()> drained);
  size_t size() const { return count.load(std::memory_order_relaxed); }
  // Bytes of HTTP responses (head and body) this context wrote to sockets. Its thread is the
  // only writer, so a relaxed load and store do (no locked add per send).
  void sent(size_t n) { sent_bytes.store(sent_bytes.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }

  Connection* head = nullptr;
  std::atomic<size_t> count{0};
  std::atomic<uint64_t> sent_bytes{0};
  bool draining = false;
  std::function<void()> on_drained;
};

struct Connection {
  Connection(asio::ip::tcp::socket s, Live& l)
      : socket(std::move(s)), timer(socket.get_executor()), live(l) {}

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
  Live& live;
  Connection* prev = nullptr;  // in live's list while serve() runs
  Connection* next = nullptr;
  bool idle = false;  // waiting for the first byte of a request: closed at once when draining
  // While a WebSocket session runs on this connection: sends it a going-away close.
  std::function<void()> go_away;
};

asio::awaitable<void> watchdog(std::shared_ptr<Connection> c);
asio::awaitable<void> serve(std::shared_ptr<Connection> c, std::shared_ptr<const Shared> shared);

}  // namespace seedcast::http::detail
