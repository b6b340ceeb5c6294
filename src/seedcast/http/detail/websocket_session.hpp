#pragma once
#include <memory>
#include <string>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "seedcast/http/detail/asio_impl.hpp"
#include "seedcast/http/detail/connection.hpp"
#include "seedcast/http/websocket.hpp"

namespace seedcast::http::detail {

// Takes the socket of `c`, accepts the upgrade (the handshake answers `request`) and runs
// `handler`. While it runs, c.go_away closes the session with 1001 (going away), as does a
// server that is draining already when the handshake is done.
asio::awaitable<void> run_websocket(Connection& c,
                                    boost::beast::http::request<boost::beast::http::string_body> request,
                                    WebSocketHandler handler);

}  // namespace seedcast::http::detail
