#pragma once
// seedcast's own small request/response types. A Request's views point into the connection's
// parser and stay valid until the handler's awaitable completes.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "seedcast/core/file.hpp"
#include "seedcast/http/websocket.hpp"

namespace seedcast::http {

enum class Method : uint8_t { get, head, post, put, delete_, options, patch, other };
Method parse_method(std::string_view s);

struct Header {
  std::string_view name;
  std::string_view value;
};

struct Request {
  Method method = Method::other;
  std::string_view method_text;
  std::string_view target;  // as sent
  std::string_view path;    // target before '?', still percent-encoded
  std::string_view query;   // after '?', without it
  std::string_view body;
  unsigned version = 11;  // 10 or 11
  bool websocket = false;  // a WebSocket upgrade request
  std::string_view remote;  // peer address
  std::string_view local;   // address:port the connection arrived on ([v6]:port)
  std::vector<Header> headers;
  std::vector<std::pair<std::string_view, std::string_view>> params;  // route captures

  // Set by authentication middleware: who is asking, and the token they used (to be put
  // into URLs handed back to them). Empty when the server runs open.
  std::string user;
  std::string token;
  // Backing storage when middleware rewrites `path` (e.g. removes a token segment).
  std::string path_storage;

  // Case-insensitive; the first occurrence.
  std::optional<std::string_view> header(std::string_view name) const;
  std::string_view param(std::string_view name) const;
};

// A piece of the body: `bytes` first, then, when `file` is set, `length` bytes of it from
// `offset` (sent with sendfile).
struct BodyPart {
  std::string bytes;
  std::shared_ptr<const FileHandle> file;
  uint64_t offset = 0;
  uint64_t length = 0;
  // For bytes that are not on disk yet: awaited (after `bytes` went out) just before the file
  // part is sent; it returns the file to send from, or nullptr when the bytes cannot be had,
  // which ends the connection (the client sees a short body, never wrong bytes).
  std::function<asio::awaitable<std::shared_ptr<const FileHandle>>()> wait;
};

struct Response {
  int status = 200;
  std::string fields;  // serialized "Name: value\r\n" lines; Date, Server, Content-Length and
                       // Connection are added by the writer
  std::string body;    // used when `parts` is empty
  std::vector<BodyPart> parts;
  bool close = false;  // close the connection after this response
  // For a WebSocket upgrade request: accept it and hand the socket to this handler (the
  // handshake answer replaces this response).
  WebSocketHandler upgrade;

  Response() = default;
  explicit Response(int s) : status(s) {}

  void set(std::string_view name, std::string_view value);
  std::optional<std::string_view> get(std::string_view name) const;
  uint64_t content_length() const;

  static Response text(int status, std::string body, std::string_view content_type);
  static Response json(int status, std::string body);
  // {"error":{"status":N,"message":"…"}}
  static Response error(int status, std::string_view message);
};

std::string_view reason_phrase(int status);

}  // namespace seedcast::http
