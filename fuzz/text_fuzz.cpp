// libFuzzer target: the small text parsers — .env, percent-decoding, query strings, HTTP
// dates, blacklist files, info-hashes. None may crash; round trips must hold.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "seedcast/catalog/blacklist.hpp"
#include "seedcast/core/config.hpp"
#include "seedcast/core/info_hash.hpp"
#include "seedcast/core/text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  using namespace seedcast;
  (void)parse_dotenv(s);
  std::string decoded = text::percent_decode(s);
  if (decoded.size() > s.size()) std::abort();
  if (text::percent_decode(text::percent_encode(s)) != s) std::abort();
  if (text::percent_decode(text::percent_encode(s, true)) != s) std::abort();
  (void)text::query_param(s, "json");
  (void)text::parse_http_date(s);
  (void)text::html_escape(s);
  (void)text::mime_type(s);
  (void)catalog::Blacklist::parse(s);
  if (auto h = InfoHash::from_hex(s); h && InfoHash::from_hex(h->hex()) != h) std::abort();
  return 0;
}
