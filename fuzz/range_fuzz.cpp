// libFuzzer target: the Range header parser against every length. Invariants checked: ranges
// lie inside the representation, first <= last, and the count respects the cap.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "seedcast/http/range.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 9) return 0;
  uint64_t length;
  std::memcpy(&length, data, 8);
  length %= (1ull << 62);
  size_t max = 1 + data[8] % 32;
  std::string_view v(reinterpret_cast<const char*>(data + 9), size - 9);
  for (uint64_t len : {length, uint64_t{0}, uint64_t{1}, uint64_t{1000}}) {
    auto r = seedcast::http::parse_range(v, len, max);
    using Kind = seedcast::http::RangeResult::Kind;
    if (r.kind == Kind::satisfiable) {
      if (r.ranges.empty() || r.ranges.size() > max) std::abort();
      for (const auto& br : r.ranges)
        if (br.first > br.last || br.last >= len) std::abort();
    } else if (!r.ranges.empty()) {
      std::abort();
    }
  }
  return 0;
}
