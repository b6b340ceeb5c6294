#pragma once
// A server-side WebSocket after an upgrade: text messages in, text messages out. send() may be
// called from any thread; messages leave in order through a bounded outbox, and when the
// outbox is full new messages are dropped, so one slow socket cannot hold the others back.
// Messages queued close together leave in one write (one syscall for many frames).
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "seedcast/http/asio.hpp"

namespace seedcast::http {

class WebSocket {
 public:
  virtual ~WebSocket() = default;
  // The next message, or nullopt once the socket is closed or broken; the text stays valid
  // until the next read(). A binary message reads as empty. One reader at a time.
  virtual asio::awaitable<std::optional<std::string_view>> read() = 0;
  // Queues a copy of a text message; false when it was dropped (outbox full or socket closed).
  virtual bool send(std::string_view text) = 0;
  virtual void close() = 0;
  virtual std::string_view remote() const = 0;
  virtual size_t dropped() const = 0;
};

using WebSocketHandler = std::function<asio::awaitable<void>(std::shared_ptr<WebSocket>)>;

}  // namespace seedcast::http
