#include "seedcast/http/detail/connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>

#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <charconv>
#include <spdlog/spdlog.h>

#include "seedcast/core/text.hpp"
#include "seedcast/http/detail/request_reader.hpp"
#include "seedcast/http/detail/websocket_session.hpp"

namespace seedcast::http::detail {
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::redirect_error;
using asio::use_awaitable;

namespace {

constexpr uint64_t kCorkThreshold = 256 * 1024;
constexpr std::chrono::seconds kMaxBodyWait{300};

// "Date: …\r\n", formatted once a second per thread.
std::string_view date_field() {
  thread_local time_t cached_sec = 0;
  thread_local std::string cached;
  time_t now = ::time(nullptr);
  if (now != cached_sec) {
    cached_sec = now;
    cached = "Date: " + text::http_date(now) + "\r\n";
  }
  return cached;
}

void append_number(std::string& s, uint64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  s.append(buf, p);
}

// Writes all of `data`; with `more`, tells the kernel more bytes follow (MSG_MORE), so a
// header and the file after it leave in full segments.
asio::awaitable<error_code> send_all(Connection& c, std::string_view data, bool more) {
  error_code ec;
  while (!data.empty()) {
    ssize_t n = ::send(c.socket.native_handle(), data.data(), data.size(),
                       MSG_NOSIGNAL | (more ? MSG_MORE : 0));
    if (n >= 0) {
      data.remove_prefix(static_cast<size_t>(n));
      c.live.sent(static_cast<size_t>(n));
      c.progress();
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) co_return error_code(errno, boost::system::system_category());
    co_await c.socket.async_wait(asio::ip::tcp::socket::wait_write, redirect_error(use_awaitable, ec));
    if (ec) co_return ec;
  }
  co_return ec;
}

asio::awaitable<error_code> send_file(Connection& c, int fd, uint64_t offset, uint64_t length) {
  error_code ec;
  off_t off = static_cast<off_t>(offset);
  while (length > 0) {
    size_t chunk = length > (1u << 30) ? (1u << 30) : static_cast<size_t>(length);
    ssize_t n = ::sendfile(c.socket.native_handle(), fd, &off, chunk);
    if (n > 0) {
      length -= static_cast<uint64_t>(n);
      c.live.sent(static_cast<size_t>(n));
      c.progress();
      continue;
    }
    // The file is shorter than when the response was planned: the body cannot be completed,
    // so the connection is dropped (the client sees a short body, never wrong bytes).
    if (n == 0) co_return error_code(EIO, boost::system::system_category());
    if (errno == EINTR) continue;
    if (errno != EAGAIN) co_return error_code(errno, boost::system::system_category());
    co_await c.socket.async_wait(asio::ip::tcp::socket::wait_write, redirect_error(use_awaitable, ec));
    if (ec) co_return ec;
  }
  co_return ec;
}

asio::awaitable<error_code> write_response(Connection& c, const Response& res, bool head_only,
                                           bool keep_alive, unsigned version) {
  std::string head;
  head.reserve(512 + res.fields.size());
  head.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  append_number(head, static_cast<uint64_t>(res.status));
  head.push_back(' ');
  head.append(reason_phrase(res.status));
  head.append("\r\nServer: seedcast\r\n");
  head.append(date_field());
  head.append(res.fields);
  bool no_body = res.status == 204 || res.status == 304 || res.status < 200;
  if (!no_body) {
    head.append("Content-Length: ");
    append_number(head, res.content_length());
    head.append("\r\n");
  }
  if (!keep_alive)
    head.append("Connection: close\r\n");
  else if (version == 10)
    head.append("Connection: keep-alive\r\n");
  head.append("\r\n");
  if (head_only || no_body) co_return co_await send_all(c, head, false);
  if (res.parts.empty()) {
    head.append(res.body);
    co_return co_await send_all(c, head, false);
  }
  // Large bodies go out corked (as nginx's tcp_nopush): full segments only, pushed at the end.
  const bool cork = res.content_length() >= kCorkThreshold;
  int on = 1, off = 0;
  if (cork) ::setsockopt(c.socket.native_handle(), IPPROTO_TCP, TCP_CORK, &on, sizeof on);
  std::string pending = std::move(head);
  error_code ec;
  for (size_t i = 0; i < res.parts.size() && !ec; ++i) {
    const BodyPart& part = res.parts[i];
    pending.append(part.bytes);
    std::shared_ptr<const FileHandle> file = part.file;
    if (part.wait && part.length > 0) {
      ec = co_await send_all(c, pending, false);  // what is ready goes out while we wait
      pending.clear();
      if (ec) break;
      c.expire_in(kMaxBodyWait);  // the wait has its own, shorter deadline
      file = co_await part.wait();
      c.progress();
      if (!file) {
        ec = error_code(EIO, boost::system::system_category());
        break;
      }
    }
    if (!file || part.length == 0) continue;
    ec = co_await send_all(c, pending, true);
    pending.clear();
    if (!ec) ec = co_await send_file(c, file->fd(), part.offset, part.length);
  }
  if (!ec) ec = co_await send_all(c, pending, false);
  if (cork && !ec) ::setsockopt(c.socket.native_handle(), IPPROTO_TCP, TCP_CORK, &off, sizeof off);
  co_return ec;
}

bool is_disconnect(const error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
         ec == asio::error::bad_descriptor || ec == bhttp::error::partial_message;
}

}  // namespace

void Live::add(Connection& c) {
  c.prev = nullptr;
  c.next = head;
  if (head) head->prev = &c;
  head = &c;
  count.fetch_add(1, std::memory_order_relaxed);
}

void Live::remove(Connection& c) {
  (c.prev ? c.prev->next : head) = c.next;
  if (c.next) c.next->prev = c.prev;
  c.prev = c.next = nullptr;
  if (count.fetch_sub(1, std::memory_order_relaxed) == 1 && draining && on_drained) {
    auto done = std::move(on_drained);
    on_drained = nullptr;
    done();
  }
}

void Live::drain(std::function<void()> drained) {
  draining = true;
  // Closing a socket or queueing a close frame only posts completions: nothing leaves the
  // list while it is walked.
  for (Connection* c = head; c; c = c->next) {
    if (c->go_away) {
      c->go_away();
    } else if (c->idle) {
      error_code ec;
      c->socket.close(ec);
    }
  }
  if (size() == 0)
    drained();
  else
    on_drained = std::move(drained);
}

asio::awaitable<void> watchdog(std::shared_ptr<Connection> c) {
  error_code ec;
  while (c->socket.is_open()) {
    c->armed = c->deadline;
    c->timer.expires_at(c->armed);
    co_await c->timer.async_wait(redirect_error(use_awaitable, ec));
    if (c->socket.is_open() && c->deadline <= clock::now()) {
      spdlog::debug("{}: timed out, closing", c->remote);
      c->socket.close(ec);
    }
  }
}

asio::awaitable<void> serve(std::shared_ptr<Connection> c, std::shared_ptr<const Shared> shared) {
  // In the live list for as long as this coroutine (or its frame) exists.
  struct Listed {
    Connection& c;
    explicit Listed(Connection& x) : c(x) { c.live.add(c); }
    ~Listed() { c.live.remove(c); }
  } listed(*c);
  const ServerOptions& opt = shared->options;
  error_code ec;
  c->write_timeout = opt.write_timeout;
  c->socket.native_non_blocking(true, ec);
  c->socket.set_option(asio::ip::tcp::no_delay(true), ec);
  beast::flat_buffer buffer;
  for (;;) {
    if (buffer.size() == 0) {
      if (c->live.draining) break;
      c->expire_in(opt.idle_timeout);
      c->idle = true;
      size_t n = co_await c->socket.async_read_some(buffer.prepare(16 * 1024),
                                                    redirect_error(use_awaitable, ec));
      c->idle = false;
      if (ec) break;
      buffer.commit(n);
    }
    c->expire_in(opt.header_timeout);
    RequestParser parser;  // a fresh parser per message
    limit(parser, opt);
    co_await bhttp::async_read(c->socket, buffer, parser, redirect_error(use_awaitable, ec));
    if (ec) {
      if (is_disconnect(ec)) break;
      Response r = parse_refusal(ec, opt);
      spdlog::debug("{}: {} ({})", c->remote, r.status, ec.message());
      c->expire_in(opt.write_timeout);
      co_await write_response(*c, r, false, false, 11);
      break;
    }
    Request req;
    req.remote = c->remote;
    req.local = c->local;
    bool keep_alive = parser.keep_alive();
    Response res;
    if (auto refused = read_request(parser.get(), req, opt)) {
      res = std::move(*refused);
    } else {
      // The request is in; handlers bound their own waits (a swarm's metadata, an origin fetch
      // that may take minutes).
      c->deadline = clock::time_point::max();
      try {
        res = co_await shared->handler(req);
      } catch (const std::exception& e) {
        spdlog::error("{} {} {}: handler failed: {}", c->remote, req.method_text, req.path, e.what());
        res = Response::error(500, "internal error");
      }
    }
    if (req.websocket && res.upgrade) {
      // The socket leaves this loop for the WebSocket session; the watchdog sees it closed.
      c->timer.cancel();
      spdlog::debug("{} \"{} {}\" websocket", c->remote, req.method_text, req.path);
      co_await run_websocket(*c, parser.release(), std::move(res.upgrade));
      co_return;
    }
    // Shutting down: this response is the connection's last.
    keep_alive = keep_alive && !res.close && !c->live.draining;
    // The path, never the query or the raw target: either may carry a token.
    if (spdlog::should_log(spdlog::level::debug))
      spdlog::debug("{} \"{} {}{}\" {} {}", c->remote, req.method_text, req.path, req.query.empty() ? "" : "?…",
                    res.status, res.content_length());
    c->expire_in(opt.write_timeout);
    ec = co_await write_response(*c, res, req.method == Method::head, keep_alive, req.version);
    if (ec || !keep_alive || c->live.draining) break;
  }
  if (c->socket.is_open()) {
    c->socket.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    c->socket.close(ec);
  }
  c->timer.cancel();
}

}  // namespace seedcast::http::detail
