#include "seedcast/http/detail/websocket_session.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <spdlog/spdlog.h>

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

// A write Beast started (the 101 response, a pong, the close frame): its handler runs once the
// bytes have gone to the socket, so Beast's own sequencing (close frame, then teardown) holds.
class BeastWrite {
 public:
  virtual ~BeastWrite() = default;
  virtual void complete(error_code ec) = 0;
};

template <class Handler>
class BeastWriteImpl final : public BeastWrite {
 public:
  BeastWriteImpl(Handler h, size_t n) : handler_(std::move(h)), n_(n) {}
  void complete(error_code ec) override {
    auto ex = asio::get_associated_executor(handler_);
    asio::dispatch(ex, beast::bind_front_handler(std::move(handler_), ec, ec ? 0 : n_));
  }

 private:
  Handler handler_;
  size_t n_;
};

// Everything written to one socket, in order. Text frames are built here directly (server
// frames are unmasked: a 2-10 byte header and the payload) and whatever Beast writes goes
// through the same queue (WriteQueueStream), so frames never interleave. All frames queued
// while a write is in progress, or before the posted flush runs, leave in one write call:
// one syscall for many messages. Lives on the socket's thread, except send(), the counters
// and closed_.
class Outbox final : public std::enable_shared_from_this<Outbox> {
 public:
  explicit Outbox(tcp::socket socket) : socket_(std::move(socket)) {
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

  // Beast's bytes; `handler` completes when they are written (or the socket failed).
  template <class ConstBuffers, class Handler>
  void add_beast(const ConstBuffers& buffers, Handler handler) {
    const size_t n = asio::buffer_size(buffers);
    if (failed_) {
      asio::post(socket_.get_executor(),
                 beast::bind_front_handler(std::move(handler), error_code(asio::error::broken_pipe), size_t{0}));
      return;
    }
    const size_t at = pending_.size();
    pending_.resize(at + n);
    asio::buffer_copy(asio::buffer(pending_.data() + at, n), buffers);
    if (n > 0 && static_cast<uint8_t>(pending_[at]) == 0x88) mark_closed();  // a close frame: nothing after it
    pending_beast_.push_back(std::make_unique<BeastWriteImpl<Handler>>(std::move(handler), n));
    schedule();
  }

  // No more messages of ours (already queued ones still leave). Any thread.
  void mark_closed() { closed_.store(true, std::memory_order_relaxed); }
  // Closes the socket: pending writes fail. The socket's thread.
  void close_socket() {
    mark_closed();
    error_code ec;
    socket_.close(ec);
  }
  size_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  void add_frame(std::string_view text) {
    if (closed_.load(std::memory_order_relaxed) || failed_) {
      queued_.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
    const size_t n = text.size();
    char h[10];
    size_t k = 2;
    h[0] = static_cast<char>(0x81);  // FIN, text
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
    pending_.append(text);
    ++pending_msgs_;
    schedule();
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
    writing_beast_.swap(pending_beast_);
    asio::async_write(socket_, asio::buffer(writing_),
                      [self = shared_from_this()](error_code ec, size_t) { self->written(ec); });
  }

  void written(error_code ec) {
    busy_ = false;
    queued_.fetch_sub(writing_msgs_, std::memory_order_relaxed);
    writing_msgs_ = 0;
    writing_.clear();
    if (writing_.capacity() > kKeepBuffer) std::string().swap(writing_);
    auto beast_writes = std::move(writing_beast_);
    writing_beast_.clear();
    for (auto& w : beast_writes) w->complete(ec);
    if (ec) {
      failed_ = true;
      mark_closed();
      queued_.fetch_sub(pending_msgs_, std::memory_order_relaxed);
      pending_msgs_ = 0;
      std::string().swap(pending_);
      auto rest = std::move(pending_beast_);
      pending_beast_.clear();
      for (auto& w : rest) w->complete(ec);
      return;
    }
    flush();  // what was queued meanwhile
  }

  tcp::socket socket_;
  std::optional<asio::io_context::executor_type> own_;
  std::string pending_;  // frames not yet handed to the socket
  std::string writing_;  // frames of the write in progress
  size_t pending_msgs_ = 0, writing_msgs_ = 0;
  std::vector<std::unique_ptr<BeastWrite>> pending_beast_, writing_beast_;
  bool busy_ = false;       // a write is in progress
  bool scheduled_ = false;  // a flush is posted
  bool failed_ = false;     // a write failed: nothing more is written
  std::atomic<size_t> queued_{0};  // our messages accepted and not yet written
  std::atomic<size_t> dropped_{0};
  std::atomic<bool> closed_{false};
};

// The next layer of Beast's websocket::stream: reads go to the socket, writes to the Outbox.
class WriteQueueStream {
 public:
  using executor_type = tcp::socket::executor_type;
  using next_layer_type = tcp::socket;
  using lowest_layer_type = tcp::socket;

  explicit WriteQueueStream(std::shared_ptr<Outbox> out) : out_(std::move(out)) {}
  executor_type get_executor() noexcept { return out_->socket().get_executor(); }
  tcp::socket& next_layer() { return out_->socket(); }
  tcp::socket& lowest_layer() { return out_->socket(); }

  template <class MutableBuffers, class Handler>
  auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    return out_->socket().async_read_some(buffers, std::forward<Handler>(handler));
  }

  template <class ConstBuffers, class Handler>
  auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    return asio::async_initiate<Handler, void(error_code, size_t)>(
        [](auto h, Outbox* out, const ConstBuffers& b) { out->add_beast(b, std::move(h)); }, handler, out_.get(),
        buffers);
  }

 private:
  std::shared_ptr<Outbox> out_;
};

// Beast tears the connection down through the socket itself (found by argument lookup).
template <class Handler>
void async_teardown(beast::role_type role, WriteQueueStream& s, Handler&& handler) {
  websocket::async_teardown(role, s.next_layer(), std::forward<Handler>(handler));
}
[[maybe_unused]] void teardown(beast::role_type role, WriteQueueStream& s, error_code& ec) {
  websocket::teardown(role, s.next_layer(), ec);
}

class Session final : public WebSocket, public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::string remote)
      : out_(std::make_shared<Outbox>(std::move(socket))), ws_(out_), remote_(std::move(remote)) {}

  websocket::stream<WriteQueueStream>& stream() { return ws_; }

  asio::awaitable<std::optional<std::string_view>> read() override {
    error_code ec;
    buffer_.clear();
    co_await ws_.async_read(buffer_, redirect_error(use_awaitable, ec));
    if (ec) {
      out_->mark_closed();
      co_return std::nullopt;
    }
    if (!ws_.got_text()) co_return std::string_view();  // binary frames are not part of the protocol
    auto data = buffer_.data();
    co_return std::string_view(static_cast<const char*>(data.data()), data.size());
  }

  bool send(std::string_view text) override { return out_->send(text); }

  void close() override {
    asio::post(ws_.get_executor(), [out = out_] { out->close_socket(); });
  }

  std::string_view remote() const override { return remote_; }
  size_t dropped() const override { return out_->dropped(); }
  void mark_closed() { out_->mark_closed(); }

 private:
  std::shared_ptr<Outbox> out_;
  websocket::stream<WriteQueueStream> ws_;
  beast::flat_buffer buffer_;
  std::string remote_;
};

}  // namespace

asio::awaitable<void> run_websocket(tcp::socket socket,
                                    boost::beast::http::request<boost::beast::http::string_body> request,
                                    std::string remote, WebSocketHandler handler) {
  auto s = std::make_shared<Session>(std::move(socket), std::move(remote));
  auto& ws = s->stream();
  ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(boost::beast::http::field::server, "seedcast"); }));
  ws.read_message_max(kMaxMessage);
  error_code ec;
  co_await ws.async_accept(request, redirect_error(use_awaitable, ec));
  if (ec) co_return;
  try {
    co_await handler(s);
  } catch (const std::exception& e) {
    spdlog::error("{}: websocket handler failed: {}", s->remote(), e.what());
  }
  s->mark_closed();
  if (ws.is_open()) {
    co_await ws.async_close(websocket::close_code::normal, redirect_error(use_awaitable, ec));
  }
}

}  // namespace seedcast::http::detail
