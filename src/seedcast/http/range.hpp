#pragma once
// RFC 9110 §14 byte ranges: parsing a Range header against a representation's length.
#include <cstdint>
#include <string_view>
#include <vector>

namespace seedcast::http {

struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
  uint64_t length() const { return last - first + 1; }
  friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

struct RangeResult {
  enum class Kind {
    none,           // no Range, or one to ignore (other unit, bad syntax): send the whole file
    satisfiable,    // `ranges` holds at least one range, clipped to the length, in request order
    unsatisfiable,  // valid syntax, but no range overlaps the representation: 416
    too_many,       // more ranges than allowed: 416
  };
  Kind kind = Kind::none;
  std::vector<ByteRange> ranges;
};

// Parses `value` (the Range header's value) for a representation of `length` bytes.
// Never throws; any input is either a result or ignored.
RangeResult parse_range(std::string_view value, uint64_t length, size_t max_ranges);

}  // namespace seedcast::http
