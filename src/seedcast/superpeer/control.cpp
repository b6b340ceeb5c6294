#include "seedcast/superpeer/control.hpp"

#include <nlohmann/json.hpp>

#include "seedcast/superpeer/channel.hpp"

namespace seedcast::superpeer {
namespace {

using json = nlohmann::json;

std::string line(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; }

json to_json(const WorkerChannel& c) {
  return {{"infoHash", c.info_hash.hex()}, {"name", c.name},
          {"multiFile", c.multi_file},     {"info", base64_encode(c.info)},
          {"root", c.root},                {"maxConnections", c.max_connections},
          {"trackers", c.trackers}};
}

json to_json(const ChannelReport& c) {
  return {{"infoHash", c.info_hash.hex()}, {"peers", c.peers},       {"uploaded", c.uploaded},
          {"uploadRate", c.upload_rate},   {"progress", c.progress}, {"complete", c.complete},
          {"connectionLimit", c.connection_limit}};
}

uint64_t unsigned_of(const json& j, const char* key) {
  const json& v = j.at(key);
  if (!v.is_number_unsigned()) throw std::invalid_argument(std::string(key) + " is not an unsigned integer");
  return v.get<uint64_t>();
}

InfoHash info_hash_of(const json& j) {
  auto h = InfoHash::from_hex(j.at("infoHash").get<std::string>());
  if (!h) throw std::invalid_argument("infoHash is not 40 hex digits");
  return *h;
}

WorkerChannel channel_of(const json& j) {
  WorkerChannel c;
  c.info_hash = info_hash_of(j);
  c.name = j.at("name").get<std::string>();
  c.multi_file = j.at("multiFile").get<bool>();
  auto info = base64_decode(j.at("info").get<std::string>());
  if (!info || info->empty()) throw std::invalid_argument("info is not base64");
  c.info = std::move(*info);
  c.root = j.at("root").get<std::string>();
  c.max_connections = j.at("maxConnections").get<int>();
  c.trackers = j.at("trackers").get<std::vector<std::string>>();
  return c;
}

ChannelReport report_of(const json& j) {
  ChannelReport c;
  c.info_hash = info_hash_of(j);
  c.peers = j.at("peers").get<size_t>();
  c.uploaded = j.at("uploaded").get<uint64_t>();
  c.upload_rate = j.at("uploadRate").get<uint64_t>();
  c.progress = j.at("progress").get<double>();
  c.complete = j.at("complete").get<bool>();
  c.connection_limit = j.at("connectionLimit").get<int>();
  return c;
}

}  // namespace

std::string encode_assign(const std::vector<WorkerChannel>& channels, uint64_t upload_limit) {
  json list = json::array();
  for (const auto& c : channels) list.push_back(to_json(c));
  return line({{"op", "assign"}, {"channels", list}, {"uploadLimit", upload_limit}});
}

std::string encode_stats_request() { return line({{"op", "stats"}}); }

std::string encode_report(const WorkerReport& r) {
  json list = json::array();
  for (const auto& c : r.channels) list.push_back(to_json(c));
  return line({{"op", "report"}, {"pid", r.pid}, {"peerPort", r.peer_port}, {"peers", r.peers},
               {"uploadLimit", r.upload_limit}, {"channels", list}});
}

std::optional<ControlMessage> decode_control(std::string_view text, std::string* why) {
  try {
    json j = json::parse(text);
    ControlMessage m;
    const std::string op = j.at("op").get<std::string>();
    if (op == "assign") {
      m.op = ControlMessage::Op::assign;
      for (const auto& c : j.at("channels")) m.channels.push_back(channel_of(c));
      m.upload_limit = unsigned_of(j, "uploadLimit");
    } else if (op == "stats") {
      m.op = ControlMessage::Op::stats;
    } else if (op == "report") {
      m.op = ControlMessage::Op::report;
      m.report.pid = j.at("pid").get<int>();
      const int port = j.at("peerPort").get<int>();
      if (port < 0 || port > 65535) throw std::invalid_argument("peerPort out of range");
      m.report.peer_port = static_cast<uint16_t>(port);
      m.report.peers = j.at("peers").get<size_t>();
      m.report.upload_limit = unsigned_of(j, "uploadLimit");
      for (const auto& c : j.at("channels")) m.report.channels.push_back(report_of(c));
    } else {
      throw std::invalid_argument("unknown op '" + op + "'");
    }
    return m;
  } catch (const std::exception& e) {
    if (why) *why = e.what();
    return std::nullopt;
  }
}

std::optional<std::string> LineBuffer::next() {
  size_t nl = buffer_.find('\n', start_);
  if (nl == std::string::npos) {
    if (start_ > 0 && start_ == buffer_.size()) {
      buffer_.clear();
      start_ = 0;
    }
    return std::nullopt;
  }
  std::string out = buffer_.substr(start_, nl - start_);
  start_ = nl + 1;
  if (start_ >= buffer_.size() / 2) {  // keep the buffer from growing with consumed lines
    buffer_.erase(0, start_);
    start_ = 0;
  }
  return out;
}

}  // namespace seedcast::superpeer
