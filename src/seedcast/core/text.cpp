#include "seedcast/core/text.hpp"

#include <time.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <utility>

namespace seedcast::text {
namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
bool unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
}  // namespace

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi << 4 | lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::string percent_encode(std::string_view s, bool keep_slash) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (unsigned char c : s) {
    if (unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
  }
  return out;
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::optional<std::string> query_param(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    size_t eq = pair.find('=');
    std::string_view k = pair.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    std::string kk(k);
    std::replace(kk.begin(), kk.end(), '+', ' ');
    if (percent_decode(kk) != key) continue;
    std::string vv(v);
    std::replace(vv.begin(), vv.end(), '+', ' ');
    return percent_decode(vv);
  }
  return std::nullopt;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

std::string http_date(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[40];
  size_t n = strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

std::optional<int64_t> parse_http_date(std::string_view s) {
  // strptime is locale-dependent only for names; the C locale is what servers run in.
  std::string str(s);
  static constexpr const char* formats[] = {
      "%a, %d %b %Y %H:%M:%S GMT",  // IMF-fixdate
      "%A, %d-%b-%y %H:%M:%S GMT",  // obsolete RFC 850
      "%a %b %e %H:%M:%S %Y",       // obsolete asctime
  };
  for (const char* f : formats) {
    struct tm tm {};
    const char* end = strptime(str.c_str(), f, &tm);
    if (end != nullptr && *end == '\0') return static_cast<int64_t>(timegm(&tm));
  }
  return std::nullopt;
}

std::string iso8601(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

std::string_view mime_type(std::string_view file_name) {
  static constexpr std::pair<std::string_view, std::string_view> table[] = {
      {"mp4", "video/mp4"},        {"m4v", "video/mp4"},         {"webm", "video/webm"},
      {"mkv", "video/x-matroska"}, {"mov", "video/quicktime"},   {"avi", "video/x-msvideo"},
      {"ogv", "video/ogg"},        {"ts", "video/mp2t"},         {"m3u8", "application/vnd.apple.mpegurl"},
      {"mpd", "application/dash+xml"}, {"flv", "video/x-flv"},   {"wmv", "video/x-ms-wmv"},
      {"mp3", "audio/mpeg"},       {"m4a", "audio/mp4"},         {"aac", "audio/aac"},
      {"ogg", "audio/ogg"},        {"oga", "audio/ogg"},         {"opus", "audio/opus"},
      {"flac", "audio/flac"},      {"wav", "audio/wav"},         {"vtt", "text/vtt"},
      {"srt", "application/x-subrip"}, {"txt", "text/plain; charset=utf-8"},
      {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
      {"css", "text/css"},         {"js", "text/javascript"},   {"mjs", "text/javascript"},
      {"json", "application/json"}, {"jpg", "image/jpeg"},      {"jpeg", "image/jpeg"},
      {"png", "image/png"},        {"gif", "image/gif"},         {"webp", "image/webp"},
      {"svg", "image/svg+xml"},    {"ico", "image/x-icon"},      {"pdf", "application/pdf"},
      {"zip", "application/zip"},  {"torrent", "application/x-bittorrent"},
  };
  size_t dot = file_name.rfind('.');
  if (dot == std::string_view::npos || file_name.find('/', dot) != std::string_view::npos)
    return "application/octet-stream";
  std::string_view ext = file_name.substr(dot + 1);
  for (const auto& [e, type] : table) {
    if (iequals(e, ext)) return type;
  }
  return "application/octet-stream";
}

}  // namespace seedcast::text

namespace seedcast::text {
std::string human_size(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string html_page(std::string_view title, std::string_view body_html) {
  std::string out;
  out.reserve(body_html.size() + 1024);
  out += "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>";
  out += html_escape(title);
  out += "</title><style>"
         "body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222}"
         "h1{font-size:1.4rem}table{border-collapse:collapse;width:100%}"
         "td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:left}"
         "td.n{text-align:right;font-variant-numeric:tabular-nums}code{font-size:.85em;color:#555}"
         "a{color:#0a58ca}</style></head><body>";
  out += body_html;
  out += "</body></html>";
  return out;
}
}  // namespace seedcast::text
