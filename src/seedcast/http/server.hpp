#pragma once
// The HTTP/1.1 front: one single-threaded io_context per thread, each with its own acceptor on
// the same port (SO_REUSEPORT), so connections never cross threads.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "seedcast/http/handler.hpp"
#include "seedcast/http/router.hpp"

namespace seedcast::http {

struct ServerOptions {
  std::string host = "localhost";
  uint16_t port = 8002;
  int threads = 1;
  size_t header_limit = 8 * 1024;  // request line + header fields
  size_t body_limit = 1024 * 1024;
  std::chrono::seconds idle_timeout{60};    // keep-alive connection with no request
  std::chrono::seconds header_timeout{10};  // first byte of a request to its whole header/body
  std::chrono::seconds write_timeout{60};   // one response, while the peer does not read
  // Header fields ("Name: value\r\n" lines) for the answers the server makes itself, before
  // any middleware runs (malformed request → 400, header too large → 431, body → 413).
  std::string own_error_fields;
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Middleware runs in the order added, around the router. Add before listen().
  void use(Middleware middleware);
  Router& router();
  // The middleware chain around the router, as every connection runs it: answers a request
  // in-process, with no socket (tests, fuzzing). Call after the middleware has been added.
  Handler chain() const;

  // Binds every address `host` resolves to and returns the port (the chosen one when the
  // port is 0). Throws std::runtime_error when no address can be bound.
  uint16_t listen();
  std::vector<std::string> urls() const;  // e.g. http://127.0.0.1:8002
  // Bytes of HTTP responses (heads and bodies, files included) written to sockets since start;
  // WebSocket frames are not counted. Cheap, thread-safe.
  uint64_t sent_bytes() const;

  // Runs the I/O threads and returns once stop() was called, or shutdown() finished, and they
  // have ended.
  void run();
  // Ends the I/O threads now: requests in flight are cut. Thread-safe; may be called from a
  // signal thread, also during a shutdown().
  void stop();
  // A graceful stop: the listening sockets close at once (new connections are refused), idle
  // keep-alive connections close, WebSocket sessions get a close frame 1001 (going away), and
  // every other connection closes once the response it is writing is out (it carries
  // `Connection: close` when not started yet). The I/O threads end when no connection is left,
  // or when `grace` has passed, whichever comes first. Thread-safe, returns at once; a second
  // call does nothing.
  void shutdown(std::chrono::seconds grace);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace seedcast::http
