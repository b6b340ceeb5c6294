#pragma once
#include <memory>
#include <string>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "seedcast/http/detail/asio_impl.hpp"
#include "seedcast/http/websocket.hpp"

namespace seedcast::http::detail {

// Accepts the upgrade on `socket` (the handshake answers `request`) and runs `handler`.
asio::awaitable<void> run_websocket(asio::ip::tcp::socket socket,
                                    boost::beast::http::request<boost::beast::http::string_body> request,
                                    std::string remote, WebSocketHandler handler);

}  // namespace seedcast::http::detail
