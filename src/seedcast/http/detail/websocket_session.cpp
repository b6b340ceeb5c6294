#include "seedcast/http/detail/websocket_session.hpp"

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstring>
#include <optional>
#include <spdlog/spdlog.h>
#include <vector>

#include "seedcast/http/detail/ws_frame_reader.hpp"

namespace seedcast::http::detail {
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using asio::redirect_error;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kMaxMessage = 64 * 1024;  // as aquatic_ws: enough for 10 offers with full SDPs
constexpr size_t kMaxOutbox = 512;         // messages queued per socket before new ones are dropped
constexpr size_t kKeepBuffer = 256 * 1024;  // a write buffer larger than this is freed once written

// Everything written to one socket after the handshake, in order. Frames are built here
// (server frames are unmasked: a 2-10 byte header and the payload). All frames queued while a
// write is in progress, or before the posted flush runs, leave in one write call: one syscall
// for many messages. Lives on the socket's thread, except send(), the counters and closed_.
class Outbox final : public std::enable_shared_from_this<Outbox> {
 public:
  explicit Outbox(tcp::socket socket) : socket_(std::move(socket)), finished_timer_(socket_.get_executor()) {
    auto ex = socket_.get_executor();  // a copy: target() points into it
    if (auto* own = ex.target<asio::io_context::executor_type>()) own_.emplace(*own);
  }

  tcp::socket& socket() { return socket_; }

  // Any thread. Copies `text`; false when dropped (socket closed, or outbox full).
  bool send(std::string_view text) {
    if (closed_.load(std::memory_order_relaxed)) return false;
    if (queued_.load(std::memory_order_relaxed) >= kMaxOutbox) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    queued_.fetch_add(1, std::memory_order_relaxed);
    if (own_ && own_->running_in_this_thread()) {
      add_frame(text);
    } else {
      asio::post(socket_.get_executor(),
                 [self = shared_from_this(), t = std::string(text)] { self->add_frame(t); });
    }
    return true;
  }

  // A control frame (ping/pong payload, or a close frame's status and reason); after a close
  // frame nothing more is queued, and the socket closes once it is written. The socket's thread.
  void send_control(uint8_t opcode, std::string_view payload) {
    if (failed_ || closing_) return;
    // A client that pings without reading gets no more pongs (RFC 6455 5.5.3 allows answering
    // only the latest ping), so its pongs cannot pile up here.
    if (opcode == 0xa && pending_.size() > kMaxPongBacklog) return;
    add_header(0x80 | opcode, payload.size());
    pending_.append(payload);
    if (opcode == 0x8) {
      closing_ = true;
      mark_closed();
    }
    schedule();
  }
  void send_close(uint16_t code) {
    const char status[2] = {static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
    send_control(0x8, code == 1005 ? std::string_view() : std::string_view(status, 2));
  }

  // No more messages of ours (already queued ones still leave). Any thread.
  void mark_closed() { closed_.store(true, std::memory_order_relaxed); }
  bool closed() const { return closed_.load(std::memory_order_relaxed); }
  // Closes the socket: pending writes fail. The socket's thread.
  void close_socket() {
    mark_closed();
    error_code ec;
    socket_.close(ec);
    set_finished();
  }

  // Completes once the socket is closed or a write failed (nothing more will go out), or
  // after `limit`. The socket's thread.
  static asio::awaitable<void> finished(std::shared_ptr<Outbox> self, std::chrono::seconds limit) {
    if (self->finished_) co_return;
    self->finished_timer_.expires_after(limit);
    error_code ec;
    co_await self->finished_timer_.async_wait(redirect_error(use_awaitable, ec));
  }
  size_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  void add_frame(std::string_view text) {
    if (closed_.load(std::memory_order_relaxed) || failed_) {
      queued_.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
    add_header(0x81, text.size());  // FIN, text
    pending_.append(text);
    ++pending_msgs_;
    schedule();
  }

  // A server frame's header: unmasked, the shortest length encoding.
  void add_header(uint8_t first, size_t n) {
    char h[10];
    size_t k = 2;
    h[0] = static_cast<char>(first);
    if (n < 126) {
      h[1] = static_cast<char>(n);
    } else if (n <= 0xffff) {
      h[1] = 126;
      h[2] = static_cast<char>(n >> 8);
      h[3] = static_cast<char>(n);
      k = 4;
    } else {
      h[1] = 127;
      for (int i = 0; i < 8; ++i) h[2 + i] = static_cast<char>(static_cast<uint64_t>(n) >> (56 - 8 * i));
      k = 10;
    }
    pending_.append(h, k);
  }

  // A flush after the handlers that are ready now have run, so their messages share it.
  void schedule() {
    if (scheduled_ || busy_) return;
    scheduled_ = true;
    auto flush = [self = shared_from_this()] {
      self->scheduled_ = false;
      self->flush();
    };
    if (own_)
      asio::post(*own_, std::move(flush));
    else
      asio::post(socket_.get_executor(), std::move(flush));
  }

  void flush() {
    if (busy_ || failed_ || pending_.empty()) return;
    busy_ = true;
    writing_.swap(pending_);
    writing_msgs_ = pending_msgs_;
    pending_msgs_ = 0;
    asio::async_write(socket_, asio::buffer(writing_),
                      [self = shared_from_this()](error_code ec, size_t) { self->written(ec); });
  }

  void written(error_code ec) {
    busy_ = false;
    queued_.fetch_sub(writing_msgs_, std::memory_order_relaxed);
    writing_msgs_ = 0;
    writing_.clear();
    if (writing_.capacity() > kKeepBuffer) std::string().swap(writing_);
    if (ec) {
      failed_ = true;
      mark_closed();
      queued_.fetch_sub(pending_msgs_, std::memory_order_relaxed);
      pending_msgs_ = 0;
      std::string().swap(pending_);
      set_finished();
      return;
    }
    if (closing_ && pending_.empty()) return teardown();  // our close frame is out
    flush();  // what was queued meanwhile
  }

  // As Beast's teardown: half-close, read and discard until the client closes too (or
  // kTeardown passes), then close. Closing with unread bytes would reset the connection,
  // and the client might lose our close frame.
  void teardown() {
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) {
      socket_.close(ec);
      set_finished();
      return;
    }
    drain_timer_ = std::make_unique<asio::steady_timer>(socket_.get_executor(), kTeardown);
    drain_timer_->async_wait([self = shared_from_this()](error_code ec) {
      if (ec) return;
      self->socket_.close(ec);
      self->set_finished();
    });
    drain_buffer_ = std::make_unique<char[]>(kDrainBuffer);
    drain();
  }
  void drain() {
    socket_.async_read_some(asio::buffer(drain_buffer_.get(), kDrainBuffer),
                            [self = shared_from_this()](error_code ec, size_t) {
                              if (!ec) return self->drain();
                              self->socket_.close(ec);
                              self->drain_timer_->cancel();
                              self->set_finished();
                            });
  }

  void set_finished() {
    finished_ = true;
    finished_timer_.cancel();
  }

  static constexpr auto kTeardown = std::chrono::seconds(5);
  static constexpr size_t kMaxPongBacklog = 64 * 1024;
  static constexpr size_t kDrainBuffer = 4096;

  tcp::socket socket_;
  std::optional<asio::io_context::executor_type> own_;
  std::unique_ptr<asio::steady_timer> drain_timer_;  // during teardown()
  std::unique_ptr<char[]> drain_buffer_;
  asio::steady_timer finished_timer_;  // wakes finished()
  bool finished_ = false;
  std::string pending_;  // frames not yet handed to the socket
  std::string writing_;  // frames of the write in progress
  size_t pending_msgs_ = 0, writing_msgs_ = 0;
  bool busy_ = false;       // a write is in progress
  bool scheduled_ = false;  // a flush is posted
  bool failed_ = false;     // a write failed: nothing more is written
  bool closing_ = false;    // a close frame is queued
  std::atomic<size_t> queued_{0};  // our messages accepted and not yet written
  std::atomic<size_t> dropped_{0};
  std::atomic<bool> closed_{false};
};

// Lives on the connection's executor; send() hops there with post(). Beast has answered the
// handshake; frames are read with FrameReader straight from the socket and written through the
// Outbox.
class Session final : public WebSocket, public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::string remote)
      : out_(std::make_shared<Outbox>(std::move(socket))),
        idle_(out_->socket().get_executor()),
        remote_(std::move(remote)) {}

  asio::awaitable<std::optional<std::string_view>> read() override {
    tcp::socket& socket = out_->socket();
    for (;;) {
      if (!closed_) {
        size_t used = 0;
        auto ev = reader_.next(buf_.data() + pos_, end_ - pos_, used);
        pos_ += used;
        switch (ev.kind) {
          case FrameReader::Kind::text:
            co_return ev.payload;  // stays valid: bytes are only discarded by the next read()
          case FrameReader::Kind::binary:
            co_return std::string_view();  // binary messages are not part of the protocol
          case FrameReader::Kind::ping:
            out_->send_control(0xa, ev.payload);
            continue;
          case FrameReader::Kind::pong:
            continue;
          case FrameReader::Kind::close:  // answer it (then the socket closes)
            out_->send_close(ev.code);
            finish();
            co_return std::nullopt;
          case FrameReader::Kind::error:
            out_->send_close(ev.code);
            finish();
            co_return std::nullopt;
          case FrameReader::Kind::need_more:
            break;
        }
        // Keep the unread tail, at the front of a buffer large enough for the next frame.
        if (pos_ > 0) {
          std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
          end_ -= pos_;
          pos_ = 0;
        }
        size_t want = std::max<size_t>(ev.need, end_ + kMinRead);
        if (buf_.size() < want) {
          buf_.resize(std::max(want, std::min(buf_.size() * 2, kMaxFrame)));
        } else if (end_ == 0 && buf_.size() > 4 * kMinRead) {
          std::vector<char>(kMinRead).swap(buf_);  // a large message is done: free its room
        }
      }
      if (closed_) co_return std::nullopt;
      error_code ec;
      size_t n = co_await socket.async_read_some(asio::buffer(buf_.data() + end_, buf_.size() - end_),
                                                 redirect_error(use_awaitable, ec));
      if (ec) {
        finish();
        out_->close_socket();
        co_return std::nullopt;
      }
      end_ += n;
      ++reads_;
    }
  }

  bool send(std::string_view text) override { return out_->send(text); }

  void close() override {
    asio::post(out_->socket().get_executor(), [self = shared_from_this()] {
      self->finish();
      self->out_->close_socket();
    });
  }

  std::string_view remote() const override { return remote_; }
  size_t dropped() const override { return out_->dropped(); }
  asio::any_io_executor executor() { return out_->socket().get_executor(); }
  // After end(): the close handshake is over (or the socket broke), or kFinish passed.
  asio::awaitable<void> finished() { return Outbox::finished(out_, kFinish); }

  // The server is shutting down: a close with 1001 (going away). The handler's read() ends
  // once the client answers it or the teardown gives up on the client.
  void go_away() {
    if (closed_) return;
    out_->send_close(1001);
    finish();
  }

  // The handler has returned: a normal close, unless the socket is closing already.
  void end() {
    if (!closed_) out_->send_close(1000);
    finish();
  }

  // Closes the socket after kIdle/2 .. kIdle without a byte from the client.
  static asio::awaitable<void> watchdog(std::shared_ptr<Session> self) {
    uint64_t seen = self->reads_;
    while (!self->closed_) {
      error_code ec;
      self->idle_.expires_after(kIdle / 2);
      co_await self->idle_.async_wait(redirect_error(use_awaitable, ec));
      if (self->closed_) co_return;
      if (self->reads_ == seen && !ec) {
        self->finish();
        self->out_->close_socket();
        co_return;
      }
      seen = self->reads_;
    }
  }

 private:
  static constexpr size_t kMinRead = 4096;
  static constexpr size_t kMaxFrame = kMaxMessage + 14;
  static constexpr std::chrono::seconds kIdle{600};
  static constexpr std::chrono::seconds kFinish{10};  // more than the outbox's teardown

  void finish() {
    closed_ = true;
    out_->mark_closed();
    idle_.cancel();
  }

  std::shared_ptr<Outbox> out_;
  asio::steady_timer idle_;
  FrameReader reader_{kMaxMessage};
  std::vector<char> buf_ = std::vector<char>(kMinRead);
  size_t pos_ = 0, end_ = 0;  // unread bytes: buf_[pos_, end_)
  uint64_t reads_ = 0;
  bool closed_ = false;
  std::string remote_;
};

void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("websocket task failed: {}", ex.what());
  }
}

}  // namespace

asio::awaitable<void> run_websocket(Connection& c,
                                    boost::beast::http::request<boost::beast::http::string_body> request,
                                    WebSocketHandler handler) {
  // Beast answers the upgrade (101 with Sec-WebSocket-Accept, within the handshake timeout),
  // then the session takes the socket over: Beast's stream is not used after this.
  websocket::stream<tcp::socket> ws(std::move(c.socket));
  ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(boost::beast::http::field::server, "seedcast"); }));
  error_code ec;
  co_await ws.async_accept(request, redirect_error(use_awaitable, ec));
  if (ec) co_return;
  auto s = std::make_shared<Session>(std::move(ws.next_layer()), c.remote);
  asio::co_spawn(s->executor(), Session::watchdog(s), log_exception);
  c.go_away = [s] { s->go_away(); };
  if (c.live.draining) s->go_away();
  try {
    co_await handler(s);
  } catch (const std::exception& e) {
    spdlog::error("{}: websocket handler failed: {}", s->remote(), e.what());
  }
  c.go_away = nullptr;
  s->end();
  // The connection stays live (a draining server waits for it) until our close frame is out
  // and the close handshake is over.
  co_await s->finished();
}

}  // namespace seedcast::http::detail
