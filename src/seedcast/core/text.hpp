#pragma once
// Small text helpers shared by the HTTP front and the pages: escaping, dates, MIME types.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace seedcast::text {

// Percent-decodes leniently: a '%' not followed by two hex digits is kept as it is, '+' stays
// '+' (paths are not forms). Never fails; callers validate the result (NUL, "..", …).
std::string percent_decode(std::string_view s);
// Percent-encodes everything but RFC 3986 unreserved characters; with keep_slash, '/' too.
std::string percent_encode(std::string_view s, bool keep_slash = false);
std::string html_escape(std::string_view s);

// The value of `key` in an application/x-www-form-urlencoded query, decoded ('+' is a space).
std::optional<std::string> query_param(std::string_view query, std::string_view key);

bool iequals(std::string_view a, std::string_view b);

// RFC 9110 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(int64_t unix_seconds);
// Parses IMF-fixdate (and the two obsolete forms); nullopt when it is not a date.
std::optional<int64_t> parse_http_date(std::string_view s);
// ISO 8601 UTC, e.g. "2026-11-21T10:00:00Z".
std::string iso8601(int64_t unix_seconds);

// The media type for a file name, by extension; application/octet-stream when unknown.
std::string_view mime_type(std::string_view file_name);

}  // namespace seedcast::text

namespace seedcast::text {
// A byte count for people: "512 B", "3.0 MiB", "1.2 GiB".
std::string human_size(uint64_t bytes);

// A complete, small HTML document with seedcast's stylesheet around `body_html`.
std::string html_page(std::string_view title, std::string_view body_html);
}  // namespace seedcast::text
