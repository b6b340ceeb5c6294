#pragma once
#include <functional>

#include "seedcast/http/asio.hpp"
#include "seedcast/http/message.hpp"

namespace seedcast::http {

// A handler answers a request. It may suspend (awaiting I/O) and runs on the connection's
// thread; it must not keep references to the Request after its awaitable completes.
using Handler = std::function<asio::awaitable<Response>(Request&)>;

// Middleware wraps everything after it: call `next(request)` to continue, or answer directly.
using Middleware = std::function<asio::awaitable<Response>(Request&, const Handler& next)>;

}  // namespace seedcast::http
