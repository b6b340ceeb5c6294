// libFuzzer target: the HTTP tracker's queries (GET /announce and /scrape) and the swarms they
// change. The input is lines; a line's first byte picks the announcing address (one of 8, IPv4
// and IPv6) and whether it is an announce or a scrape, the rest is the query string.
// Properties, beyond "no crash":
//  - a query that parses, written again with every byte percent-encoded, parses to the same
//    values (announce and scrape);
//  - a scrape has 1 to 64 info-hashes;
//  - the tracker's counts for a swarm equal a model of it (each peer id's last state: seeder or
//    not, gone after `stopped`), and an announce never gets more peers than it may want, nor
//    any peer when it is alone.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <variant>

#include "seedcast/tracker/routes.hpp"
#include "seedcast/tracker/tracker.hpp"

namespace {
using namespace seedcast;
using namespace seedcast::tracker;

std::string encode_all(std::string_view bytes) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back('%');
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

std::string_view bytes_of(const std::array<uint8_t, 20>& a) {
  return {reinterpret_cast<const char*>(a.data()), a.size()};
}

const char* event_name(Event e) {
  switch (e) {
    case Event::started: return "started";
    case Event::stopped: return "stopped";
    case Event::completed: return "completed";
    case Event::paused: return "paused";
    case Event::none: break;
  }
  return "";
}

std::string encode(const AnnounceQuery& q) {
  std::string s = "info_hash=" + encode_all(bytes_of(q.info_hash.bytes())) + "&peer_id=" + encode_all(bytes_of(q.peer_id)) +
                  "&port=" + std::to_string(q.port) + "&compact=" + (q.compact ? "1" : "0");
  if (q.left != -1) s += "&left=" + std::to_string(q.left);
  if (q.numwant != -1) s += "&numwant=" + std::to_string(q.numwant);
  if (q.event != Event::none) s += std::string("&event=") + event_name(q.event);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Tracker tracker{Options{.interval = 120, .clock = [] { return int64_t{1000}; }}};
  std::map<std::string, std::map<std::string, bool>> model;  // info-hash → peer id → seeder
  static const char* addresses[8] = {"127.0.0.1", "10.0.0.2",       "192.0.2.7",  "::1",
                                     "2001:db8::5", "::ffff:10.0.0.9", "203.0.113.1", "fe80::1"};
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (!in.empty()) {
    size_t end = in.find('\n');
    std::string_view line = in.substr(0, end);
    in = end == std::string_view::npos ? std::string_view{} : in.substr(end + 1);
    if (line.empty()) continue;
    const auto pick = static_cast<uint8_t>(line[0]);
    std::string_view query = line.substr(1);
    if (pick & 0x80) {
      auto parsed = parse_scrape_query(query);
      if (auto* hashes = std::get_if<std::vector<InfoHash>>(&parsed)) {
        if (hashes->empty() || hashes->size() > 64) std::abort();
        std::string again;
        for (const auto& h : *hashes) again += (again.empty() ? "" : "&") + ("info_hash=" + encode_all(bytes_of(h.bytes())));
        auto reparsed = parse_scrape_query(again);
        if (!std::holds_alternative<std::vector<InfoHash>>(reparsed) || std::get<std::vector<InfoHash>>(reparsed) != *hashes)
          std::abort();
      } else if (std::get<std::string>(parsed).empty()) {
        std::abort();
      }
      continue;
    }
    auto parsed = parse_announce_query(query);
    auto* q = std::get_if<AnnounceQuery>(&parsed);
    if (!q) {
      if (std::get<std::string>(parsed).empty()) std::abort();
      continue;
    }
    auto reparsed = parse_announce_query(encode(*q));
    if (!std::holds_alternative<AnnounceQuery>(reparsed) || std::get<AnnounceQuery>(reparsed) != *q) std::abort();

    Tracker::HttpAnnounce a;
    a.info_hash = q->info_hash;
    a.peer_id = q->peer_id;
    a.event = q->event;
    a.seeder = q->left == 0;
    a.numwant = q->numwant;
    if (!parse_endpoint(addresses[pick % 8], q->port, a.endpoint)) std::abort();
    auto reply = tracker.announce(a);

    auto& swarm = model[std::string(bytes_of(q->info_hash.bytes()))];
    std::string id(bytes_of(q->peer_id));
    if (q->event == Event::stopped) swarm.erase(id);
    else swarm[id] = a.seeder;
    uint32_t seeders = 0, leechers = 0;
    for (const auto& [_, s] : swarm) (s ? seeders : leechers)++;
    if (reply.counts.seeders != seeders || reply.counts.leechers != leechers) std::abort();
    auto c = tracker.counts(q->info_hash);
    if (c.seeders != seeders || c.leechers != leechers) std::abort();
    if (reply.peers.size() > tracker.want(q->numwant)) std::abort();
    if (swarm.size() <= 1 && !reply.peers.empty()) std::abort();
  }
  size_t peers = 0;
  for (const auto& [_, swarm] : model) peers += swarm.size();
  if (tracker.peers() != peers) std::abort();
  return 0;
}
