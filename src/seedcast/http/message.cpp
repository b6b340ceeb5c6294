#include "seedcast/http/message.hpp"

#include <nlohmann/json.hpp>

#include "seedcast/core/text.hpp"

namespace seedcast::http {

Method parse_method(std::string_view s) {
  if (s == "GET") return Method::get;
  if (s == "HEAD") return Method::head;
  if (s == "POST") return Method::post;
  if (s == "PUT") return Method::put;
  if (s == "DELETE") return Method::delete_;
  if (s == "OPTIONS") return Method::options;
  if (s == "PATCH") return Method::patch;
  return Method::other;
}

std::optional<std::string_view> Request::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (text::iequals(h.name, name)) return h.value;
  }
  return std::nullopt;
}

std::string_view Request::param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

void Response::set(std::string_view name, std::string_view value) {
  fields.append(name).append(": ").append(value).append("\r\n");
}

std::optional<std::string_view> Response::get(std::string_view name) const {
  std::string_view f = fields;
  while (!f.empty()) {
    size_t eol = f.find("\r\n");
    std::string_view line = f.substr(0, eol);
    f = eol == std::string_view::npos ? std::string_view{} : f.substr(eol + 2);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos && text::iequals(line.substr(0, colon), name)) {
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      return v;
    }
  }
  return std::nullopt;
}

uint64_t Response::content_length() const {
  if (parts.empty()) return body.size();
  uint64_t n = 0;
  for (const auto& p : parts) n += p.bytes.size() + (p.file || p.wait ? p.length : 0);
  return n;
}

Response Response::text(int status, std::string body, std::string_view content_type) {
  Response r(status);
  r.set("Content-Type", content_type);
  r.body = std::move(body);
  return r;
}

Response Response::json(int status, std::string body) {
  return text(status, std::move(body), "application/json");
}

Response Response::error(int status, std::string_view message) {
  nlohmann::ordered_json j = {{"error", {{"status", status}, {"message", message}}}};
  return json(status, j.dump());
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

}  // namespace seedcast::http
