// libFuzzer target: what the super-peer API parses — /seed and /ping bodies, channel ids
// (base64 of an info-hash, magnet or URL), /proc stat lines. None may crash; base64 must round
// trip; a good /seed body's channels must decode again to the same keys.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "seedcast/superpeer/channel.hpp"
#include "seedcast/superpeer/process_stats.hpp"
#include "seedcast/superpeer/seed_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  using namespace seedcast::superpeer;
  if (base64_decode(base64_encode(s)) != s) std::abort();
  if (auto d = base64_decode(s); d && d->size() > s.size()) std::abort();
  (void)decode_channel(s);
  (void)decode_channel(base64_encode(s));
  auto seed = parse_seed_request(s);
  if (seed.status == 200) {
    for (const auto& spec : seed.list) {
      auto again = decode_channel(spec.channel);
      if (!again || again->key() != spec.source.key()) std::abort();
    }
  } else if (seed.error.empty() || !seed.list.empty()) {
    std::abort();
  }
  auto ping = parse_ping_request(s);
  if (ping.status != 200 && ping.error.empty()) std::abort();
  (void)parse_proc_stat_ticks(s);
  return 0;
}
