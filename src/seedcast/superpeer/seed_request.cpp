#include "seedcast/superpeer/seed_request.hpp"

#include <nlohmann/json.hpp>
#include <algorithm>
#include <set>

namespace seedcast::superpeer {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxList = 1000;
constexpr size_t kMaxText = 2048;

bool tracker_url(std::string_view u) {
  for (std::string_view p : {"http://", "https://", "udp://", "ws://", "wss://"})
    if (u.size() > p.size() && u.substr(0, p.size()) == p) return true;
  return false;
}

// Reads one entry; returns an error message naming the field, or "".
std::string read_spec(const json& item, const std::string& at, SeedSpec& s) {
  if (!item.is_object()) return at + ": expected an object";
  auto text = [&](const char* key, const json& v, std::string& out) -> std::string {
    if (v.is_null()) return "";
    if (!v.is_string()) return at + "." + key + ": expected a string";
    out = v.get<std::string>();
    if (out.size() > kMaxText && std::string_view(key) != "channel") return at + "." + key + ": too long";
    return "";
  };
  auto flag = [&](const char* key, const json& v, bool& out) -> std::string {
    if (v.is_null()) return "";
    if (!v.is_boolean()) return at + "." + key + ": expected true or false";
    out = v.get<bool>();
    return "";
  };
  auto whole = [&](const char* key, const json& v, long min, long max, int& out) -> std::string {
    if (v.is_null()) return "";
    if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(max)) ||
        v.get<long>() < min || v.get<long>() > max)
      return at + "." + key + ": expected a whole number from " + std::to_string(min) + " to " + std::to_string(max);
    out = static_cast<int>(v.get<long>());
    return "";
  };
  bool has_channel = false;
  for (const auto& [key, v] : item.items()) {
    std::string err;
    if (key == "channel") {
      has_channel = !v.is_null();
      err = text("channel", v, s.channel);
    } else if (key == "token") err = text("token", v, s.token);
    else if (key == "trackerZone") err = text("trackerZone", v, s.tracker_zone);
    else if (key == "label") err = text("label", v, s.label);
    else if (key == "signal1" || key == "signal2") {
      std::string& out = key == "signal1" ? s.signal1 : s.signal2;
      err = text(key.c_str(), v, out);
      if (err.empty() && !out.empty() && !tracker_url(out))
        err = at + "." + key + ": expected a tracker URL (http, https, udp, ws or wss)";
    } else if (key == "live") err = flag("live", v, s.live);
    else if (key == "keepAlive") err = flag("keepAlive", v, s.keep_alive);
    else if (key == "noUseDiskCache") err = flag("noUseDiskCache", v, s.no_use_disk_cache);
    else if (key == "priority") err = whole("priority", v, -1000000, 1000000, s.priority);
    else if (key == "maxConnections") {
      err = whole("maxConnections", v, 0, 65535, s.max_connections);
      if (err.empty() && s.max_connections == 1) err = at + ".maxConnections: 0 (no cap) or at least 2";
    } else err = at + ": unknown field \"" + key + "\"";
    if (!err.empty()) return err;
  }
  if (!has_channel) return at + ".channel: missing";
  std::string why;
  auto source = decode_channel(s.channel, &why);
  if (!source) return at + ".channel: " + why;
  s.source = std::move(*source);
  return "";
}

}  // namespace

SeedRequest parse_seed_request(std::string_view body) {
  SeedRequest r;
  auto fail = [&r](std::string m) {
    r.status = 400;
    r.error = std::move(m);
    r.list.clear();
    return r;
  };
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return fail("the body is not JSON");
  if (!j.is_object()) return fail("the body must be a JSON object {\"list\": [...]}");
  for (const auto& [key, v] : j.items())
    if (key != "list") return fail("unknown field \"" + key + "\"");
  auto list = j.find("list");
  if (list == j.end()) return fail("list: missing");
  if (!list->is_array()) return fail("list: expected an array");
  if (list->size() > kMaxList) return fail("list: at most " + std::to_string(kMaxList) + " channels");
  std::set<std::string> seen;
  bool live = false;
  for (size_t i = 0; i < list->size(); ++i) {
    SeedSpec s;
    std::string at = "list[" + std::to_string(i) + "]";
    if (auto err = read_spec((*list)[i], at, s); !err.empty()) return fail(err);
    if (!seen.insert(s.source.key()).second) return fail(at + ".channel: listed twice");
    live = live || s.live;
    r.list.push_back(std::move(s));
  }
  if (live) {
    r.status = 501;
    r.error = "live channels are not supported yet (live: true)";
    r.list.clear();
  }
  return r;
}

uint64_t upload_limit_share(std::optional<double> bandwidth, size_t engines) {
  if (!bandwidth || *bandwidth <= 0 || engines == 0) return 0;
  const double share = *bandwidth * 125000.0 / static_cast<double>(engines);
  return std::max<uint64_t>(1, static_cast<uint64_t>(share));
}

PingRequest parse_ping_request(std::string_view body) {
  PingRequest r;
  auto fail = [&r](std::string m) {
    r.status = 400;
    r.error = std::move(m);
    return r;
  };
  bool blank = body.find_first_not_of(" \t\r\n") == std::string_view::npos;
  json j = blank ? json::object() : json::parse(body, nullptr, false);
  if (j.is_discarded()) return fail("the body is not JSON");
  if (!j.is_object()) return fail("the body must be a JSON object");
  for (const auto& [key, v] : j.items()) {
    if (key == "bandwidth") {
      if (v.is_null()) continue;
      if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1e7)
        return fail("bandwidth: expected a number of Mbit/s from 0 to 10000000");
      r.bandwidth = v.get<double>();
    } else if (key == "workers") {
      if (v.is_null()) continue;
      if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > 256) || v.get<long>() < 0 ||
          v.get<long>() > 256)
        return fail("workers: expected a whole number from 0 to 256");
      r.workers = static_cast<int>(v.get<long>());
    } else {
      return fail("unknown field \"" + key + "\"");
    }
  }
  return r;
}

}  // namespace seedcast::superpeer
