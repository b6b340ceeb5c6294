#include "seedcast/http/range.hpp"

#include <charconv>

namespace seedcast::http {
namespace {

void trim(std::string_view& s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
}

// A non-empty run of digits; false on anything else or on overflow.
bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec == std::errc::result_out_of_range) {
    out = UINT64_MAX;  // larger than any length: still a valid (unsatisfiable) position
    return true;
  }
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

RangeResult parse_range(std::string_view value, uint64_t length, size_t max_ranges) {
  RangeResult none;
  trim(value);
  constexpr std::string_view unit = "bytes=";
  if (value.size() < unit.size()) return none;
  for (size_t i = 0; i < unit.size() - 1; ++i) {
    char c = value[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != unit[i]) return none;
  }
  if (value[unit.size() - 1] != '=') return none;
  value.remove_prefix(unit.size());

  RangeResult out;
  size_t specs = 0;
  bool any_valid = false;
  while (true) {
    size_t comma = value.find(',');
    std::string_view spec = value.substr(0, comma);
    trim(spec);
    if (!spec.empty()) {  // RFC 9110 allows empty list elements
      if (++specs > max_ranges) {
        out.kind = RangeResult::Kind::too_many;
        out.ranges.clear();
        return out;
      }
      size_t dash = spec.find('-');
      if (dash == std::string_view::npos) return none;
      std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
      trim(a);
      trim(b);
      if (a.empty()) {  // suffix-range: the last n bytes
        uint64_t n = 0;
        if (!parse_u64(b, n)) return none;
        any_valid = true;
        if (n > 0 && length > 0) out.ranges.push_back({n >= length ? 0 : length - n, length - 1});
      } else {
        uint64_t first = 0, last = UINT64_MAX;
        if (!parse_u64(a, first)) return none;
        if (!b.empty() && !parse_u64(b, last)) return none;
        if (last < first) return none;  // invalid byte-range-spec: ignore the header
        any_valid = true;
        if (first < length) out.ranges.push_back({first, last >= length ? length - 1 : last});
      }
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  if (!any_valid) return none;
  out.kind = out.ranges.empty() ? RangeResult::Kind::unsatisfiable : RangeResult::Kind::satisfiable;
  return out;
}

}  // namespace seedcast::http
