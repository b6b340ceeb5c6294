#pragma once
// The bodies of POST /seed and POST /ping, validated. Pure: no I/O, unit-tested.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "seedcast/superpeer/channel.hpp"

namespace seedcast::superpeer {

// One entry of POST /seed's list.
struct SeedSpec {
  std::string channel;  // base64, as sent
  ChannelSource source;  // what it decodes to
  std::string token;         // the vendor's customer token: recorded, not checked
  std::string tracker_zone;  // recorded (seedcast's own tracker serves every zone)
  bool live = false;         // live channels are not supported yet (501)
  std::string signal1, signal2;  // extra trackers to announce to; empty: none
  int priority = 0;              // higher stays first when channels are over SEED_MAX_CHANNELS
  bool keep_alive = false;       // never evicted by GATEWAY_LIFETIME
  bool no_use_disk_cache = false;  // see docs/api.md: the cached data goes when seeding stops
  int max_connections = 0;         // peers at most; 0: unlimited
  std::string label;
};

struct SeedRequest {
  std::vector<SeedSpec> list;
  int status = 200;   // 400 (bad body) or 501 (live); 200: `list` is good
  std::string error;  // names the field, e.g. "list[1].maxConnections: …"
};

SeedRequest parse_seed_request(std::string_view body);

struct PingRequest {
  std::optional<double> bandwidth;  // Mbit/s
  std::optional<int> workers;
  int status = 200;
  std::string error;
};

// An empty body is {}.
PingRequest parse_ping_request(std::string_view body);

// The bytes/s each of `engines` (> 0) may upload when the operator's `bandwidth` (Mbit/s,
// 1 Mbit = 10^6 bits) is shared evenly among them: 0 (no cap) when no bandwidth or 0 was given,
// at least 1 for any positive bandwidth.
uint64_t upload_limit_share(std::optional<double> bandwidth, size_t engines);

}  // namespace seedcast::superpeer
