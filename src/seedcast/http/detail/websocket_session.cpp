#include "seedcast/http/detail/websocket_session.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <spdlog/spdlog.h>

namespace seedcast::http::detail {
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using asio::redirect_error;
using asio::use_awaitable;

namespace {

constexpr size_t kMaxMessage = 64 * 1024;  // as aquatic_ws: enough for 10 offers with full SDPs
constexpr size_t kMaxOutbox = 512;

// Lives on the connection's executor; send() hops there with post().
class Session final : public WebSocket, public std::enable_shared_from_this<Session> {
 public:
  Session(asio::ip::tcp::socket socket, std::string remote)
      : ws_(std::move(socket)), notify_(ws_.get_executor()), remote_(std::move(remote)) {
    notify_.expires_at(asio::steady_timer::time_point::max());
  }

  websocket::stream<asio::ip::tcp::socket>& stream() { return ws_; }

  asio::awaitable<std::optional<std::string>> read() override {
    error_code ec;
    buffer_.clear();
    co_await ws_.async_read(buffer_, redirect_error(use_awaitable, ec));
    if (ec || !ws_.got_text()) {
      if (!ec) {  // binary frames are not part of the protocol
        co_return std::string();
      }
      closed_ = true;
      notify_.cancel();
      co_return std::nullopt;
    }
    co_return beast::buffers_to_string(buffer_.data());
  }

  bool send(std::string text) override {
    if (closed_.load(std::memory_order_relaxed)) return false;
    if (queued_.load(std::memory_order_relaxed) >= kMaxOutbox) {
      ++dropped_;
      return false;
    }
    ++queued_;
    auto executor = ws_.get_executor();  // a copy: target() points into it
    auto* own = executor.target<asio::io_context::executor_type>();
    if (own && own->running_in_this_thread()) {  // the socket's own thread: no hop needed
      outbox_.push_back(std::move(text));
      notify_.cancel_one();
      return true;
    }
    asio::post(ws_.get_executor(), [self = shared_from_this(), t = std::move(text)]() mutable {
      self->outbox_.push_back(std::move(t));
      self->notify_.cancel_one();
    });
    return true;
  }

  void close() override {
    asio::post(ws_.get_executor(), [self = shared_from_this()] {
      self->closed_ = true;
      self->notify_.cancel();
      error_code ec;
      beast::get_lowest_layer(self->ws_).close(ec);
    });
  }

  std::string_view remote() const override { return remote_; }
  size_t dropped() const override { return dropped_.load(); }

  // Drains the outbox until the socket closes. It owns a reference: it may still be waiting
  // on the timer after the handler has finished.
  static asio::awaitable<void> writer(std::shared_ptr<Session> self) {
    error_code ec;
    while (!self->closed_) {
      while (!self->outbox_.empty() && !self->closed_) {
        std::string msg = std::move(self->outbox_.front());
        self->outbox_.pop_front();
        --self->queued_;
        self->ws_.text(true);
        co_await self->ws_.async_write(asio::buffer(msg), redirect_error(use_awaitable, ec));
        if (ec) {
          self->closed_ = true;
          co_return;
        }
      }
      if (self->closed_) break;
      co_await self->notify_.async_wait(redirect_error(use_awaitable, ec));
    }
  }

  void mark_closed() {
    closed_ = true;
    notify_.cancel();
  }

 private:
  websocket::stream<asio::ip::tcp::socket> ws_;
  asio::steady_timer notify_;
  beast::flat_buffer buffer_;
  std::deque<std::string> outbox_;
  std::atomic<size_t> queued_{0};
  std::atomic<size_t> dropped_{0};
  std::atomic<bool> closed_{false};
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

asio::awaitable<void> run_websocket(asio::ip::tcp::socket socket,
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
  asio::co_spawn(ws.get_executor(), Session::writer(s), log_exception);
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
