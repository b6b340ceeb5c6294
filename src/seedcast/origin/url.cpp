#include "seedcast/origin/url.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "seedcast/core/text.hpp"
#include "seedcast/origin/error.hpp"

namespace seedcast::origin {
namespace {

struct UrlHandle {
  CURLU* h = curl_url();
  ~UrlHandle() { curl_url_cleanup(h); }
  std::optional<std::string> get(CURLUPart part, unsigned flags = 0) const {
    char* p = nullptr;
    if (curl_url_get(h, part, &p, flags) != CURLUE_OK || !p) {
      curl_free(p);
      return std::nullopt;
    }
    std::string s(p);
    curl_free(p);
    return s;
  }
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && text::iequals(s.substr(0, prefix.size()), prefix);
}

// The URL in `h`, checked and normalised.
result<Url> from_handle(const UrlHandle& u) {
  if (!u.h) return fail(make_error(errc::bad_url));
  Url out;
  auto scheme = u.get(CURLUPART_SCHEME);
  if (!scheme) return fail(make_error(errc::bad_url));
  out.scheme = lower(*scheme);
  if (out.scheme != "http" && out.scheme != "https") return fail(make_error(errc::bad_scheme));
  if (u.get(CURLUPART_USER) || u.get(CURLUPART_PASSWORD)) return fail(make_error(errc::bad_url));
  // An international name is taken in its punycode (xn--…) form; in UTF-8 it is refused below
  // (libcurl 7.88's CURLU_PUNYCODE leaks when the conversion fails, config_fuzz found).
  auto host = u.get(CURLUPART_HOST);
  if (!host || host->empty()) return fail(make_error(errc::bad_url));
  out.host = lower(*host);
  const bool bracketed = out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']';
  if (bracketed) out.host = out.host.substr(1, out.host.size() - 2);
  while (!out.host.empty() && out.host.back() == '.') out.host.pop_back();
  // A host is a name of letters, digits, '-', '_' and '.', or an IPv6 literal. libcurl decodes
  // percent-escapes in hosts ("a%ed" is "a\xed", "7.0%7F" holds a DEL), which no name has and
  // which would not parse again (origin_url_fuzz, config_fuzz).
  const char* allowed = bracketed ? "0123456789abcdef:." : "abcdefghijklmnopqrstuvwxyz0123456789-_.";
  if (out.host.empty() || out.host.find_first_not_of(allowed) != std::string::npos) return fail(make_error(errc::bad_url));
  out.host = canonical_host(std::move(out.host));
  auto port = u.get(CURLUPART_PORT, CURLU_DEFAULT_PORT);
  long p = port ? std::strtol(port->c_str(), nullptr, 10) : 0;
  if (p <= 0 || p > 65535) return fail(make_error(errc::bad_url));
  out.port = static_cast<uint16_t>(p);
  out.path = u.get(CURLUPART_PATH).value_or("/");
  if (out.path.empty() || out.path[0] != '/') out.path.insert(0, "/");
  bool v6 = out.host.find(':') != std::string::npos;
  out.url = out.scheme + "://" + (v6 ? "[" + out.host + "]" : out.host);
  bool default_port = (out.scheme == "http" && out.port == 80) || (out.scheme == "https" && out.port == 443);
  if (!default_port) out.url += ":" + std::to_string(out.port);
  out.url += out.path;
  if (auto q = u.get(CURLUPART_QUERY); q && !q->empty()) out.url += "?" + *q;
  return out;
}

bool printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) > 0x20 && c != 0x7f; });
}

}  // namespace

std::string canonical_host(std::string host) {
  if (host.find(':') != std::string::npos) {
    in6_addr a6{};
    char buf[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET6, host.c_str(), &a6) == 1 && inet_ntop(AF_INET6, &a6, buf, sizeof buf)) return buf;
    return host;
  }
  // inet_aton also takes "1.2.3.4 junk"; a host has no spaces (refused before), and only
  // digits, dots and hex can make an address.
  if (host.empty() || host.find_first_not_of("0123456789abcdefx.") != std::string::npos) return host;
  in_addr a4{};
  char buf[INET_ADDRSTRLEN];
  if (inet_aton(host.c_str(), &a4) != 0 && inet_ntop(AF_INET, &a4, buf, sizeof buf)) return buf;
  return host;
}

result<Url> parse_url(std::string_view text) {
  if (text.empty() || text.size() > 8192 || !printable(text)) return fail(make_error(errc::bad_url));
  if (!starts_with_ci(text, "http://") && !starts_with_ci(text, "https://")) {
    // A scheme libcurl may not know (ftp, file, gopher, …) is refused as such, not as a bad URL.
    size_t colon = text.find(':');
    bool has_scheme = colon != std::string_view::npos && colon > 0 &&
                      std::all_of(text.begin(), text.begin() + static_cast<long>(colon), [](char c) {
                        return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
                      });
    return fail(make_error(has_scheme ? errc::bad_scheme : errc::bad_url));
  }
  UrlHandle u;
  if (!u.h || curl_url_set(u.h, CURLUPART_URL, std::string(text).c_str(), 0) != CURLUE_OK)
    return fail(make_error(errc::bad_url));
  return from_handle(u);
}

result<Url> resolve(const Url& base, std::string_view location) {
  if (location.empty() || location.size() > 8192 || !printable(location)) return fail(make_error(errc::bad_url));
  UrlHandle u;
  if (!u.h || curl_url_set(u.h, CURLUPART_URL, base.url.c_str(), 0) != CURLUE_OK ||
      curl_url_set(u.h, CURLUPART_URL, std::string(location).c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
    return fail(make_error(errc::bad_url));
  return from_handle(u);
}

std::string url_from_route(std::string_view rest, std::string_view query) {
  std::string url;
  bool raw = starts_with_ci(rest, "http:") || starts_with_ci(rest, "https:");
  if (raw) {
    url = std::string(rest);
    // The URL's own query, without what seedcast itself reads.
    std::string own;
    while (!query.empty()) {
      size_t amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      std::string key = text::percent_decode(pair.substr(0, pair.find('=')));
      if (!pair.empty() && key != "format" && key != "token") own += (own.empty() ? "" : "&") + std::string(pair);
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
    if (!own.empty()) url += "?" + own;
  } else {
    url = text::percent_decode(rest);
  }
  // "https:/host/…" (a client or proxy merged the slashes) → "https://host/…".
  size_t colon = url.find(':');
  if (colon != std::string::npos && colon <= 5 && url.compare(colon + 1, 2, "//") != 0 &&
      url.compare(colon + 1, 1, "/") == 0)
    url.insert(colon + 1, "/");
  return url;
}

std::string file_name(const Url& u) {
  std::string_view p = u.path;
  while (!p.empty() && p.back() == '/') p.remove_suffix(1);
  size_t slash = p.rfind('/');
  std::string name = text::percent_decode(slash == std::string_view::npos ? p : p.substr(slash + 1));
  std::string out;
  for (char c : name) {
    auto uc = static_cast<unsigned char>(c);
    if (uc < 0x20 || uc == 0x7f || c == '/' || c == '\\') continue;
    out.push_back(c);
  }
  size_t dots = out.find_first_not_of('.');
  out = dots == std::string::npos ? std::string() : out.substr(dots);
  while (!out.empty() && (out.back() == ' ' || out.back() == '.')) out.pop_back();
  if (out.size() > 200) {  // a name, not a path; file systems stop at 255 bytes
    out.resize(200);
    // Do not cut a UTF-8 sequence in half.
    size_t lead = out.size();
    while (lead > 0 && (static_cast<unsigned char>(out[lead - 1]) & 0xC0) == 0x80) --lead;
    if (lead > 0) {
      auto b = static_cast<unsigned char>(out[lead - 1]);
      size_t len = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
      if (lead - 1 + len > out.size()) out.resize(lead - 1);
    }
  }
  return out.empty() ? "download" : out;
}

}  // namespace seedcast::origin
