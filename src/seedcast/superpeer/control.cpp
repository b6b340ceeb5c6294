#include "seedcast/superpeer/control.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>

#include "seedcast/superpeer/channel.hpp"

namespace seedcast::superpeer {
namespace {

using json = nlohmann::json;

std::string line(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; }

json to_json(const WorkerChannel& c) {
  return {{"infoHash", c.info_hash.hex()}, {"name", c.name},
          {"multiFile", c.multi_file},     {"info", base64_encode(c.info)},
          {"root", c.root},                {"maxConnections", c.max_connections},
          {"trackers", c.trackers},        {"mtimes", c.mtimes}};
}

json to_json(const ChannelReport& c) {
  return {{"infoHash", c.info_hash.hex()}, {"peers", c.peers},       {"uploaded", c.uploaded},
          {"uploadRate", c.upload_rate},   {"progress", c.progress}, {"complete", c.complete},
          {"connectionLimit", c.connection_limit}, {"rtcPeers", c.rtc_peers}, {"rtcUploaded", c.rtc_uploaded}};
}

// An integer field that fits T, or an exception: nlohmann's get<int>() of 7e51 or of -1 into an
// unsigned type is undefined or wraps (control_fuzz), and a worker's report is outside input.
template <class T>
T integer_of(const json& j, const char* key) {
  const json& v = j.at(key);
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (std::in_range<T>(u)) return static_cast<T>(u);
  } else if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (std::in_range<T>(i)) return static_cast<T>(i);
  }
  throw std::invalid_argument(std::string(key) + " is not an integer in range");
}

uint64_t unsigned_of(const json& j, const char* key) { return integer_of<uint64_t>(j, key); }

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
  c.max_connections = integer_of<int>(j, "maxConnections");
  c.trackers = j.at("trackers").get<std::vector<std::string>>();
  if (auto it = j.find("mtimes"); it != j.end()) {
    if (!it->is_array()) throw std::invalid_argument("mtimes is not an array");
    for (const auto& m : *it) {
      if (!m.is_number_integer()) throw std::invalid_argument("mtimes holds a non-integer");
      c.mtimes.push_back(m.get<int64_t>());
    }
  }
  return c;
}

ChannelReport report_of(const json& j) {
  ChannelReport c;
  c.info_hash = info_hash_of(j);
  c.peers = integer_of<size_t>(j, "peers");
  c.uploaded = unsigned_of(j, "uploaded");
  c.upload_rate = unsigned_of(j, "uploadRate");
  if (!j.at("progress").is_number()) throw std::invalid_argument("progress is not a number");
  c.progress = j.at("progress").get<double>();
  c.complete = j.at("complete").get<bool>();
  c.connection_limit = integer_of<int>(j, "connectionLimit");
  // Absent from workers older than the WebRTC peer: none.
  if (j.contains("rtcPeers")) c.rtc_peers = integer_of<size_t>(j, "rtcPeers");
  if (j.contains("rtcUploaded")) c.rtc_uploaded = unsigned_of(j, "rtcUploaded");
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
  return line({{"op", "report"},
               {"pid", r.pid},
               {"peerPort", r.peer_port},
               {"peers", r.peers},
               {"uploadLimit", r.upload_limit},
               {"channels", list},
               {"rtcPort", r.rtc_port},
               {"rtcPeerId", r.rtc_peer_id},
               {"rtcPeers", r.rtc_peers},
               {"rtcUploaded", r.rtc_uploaded}});
}

std::string encode_offer(const RtcOffer& o) {
  return line({{"op", "offer"},  {"id", o.id},         {"infoHash", o.info_hash.hex()}, {"from", o.from},
               {"sdp", o.sdp},   {"remote", o.remote}, {"local", o.local}});
}

std::string encode_answer(const RtcAnswer& a) { return line({{"op", "answer"}, {"id", a.id}, {"sdp", a.sdp}}); }

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
      m.report.pid = integer_of<int>(j, "pid");
      m.report.peer_port = integer_of<uint16_t>(j, "peerPort");
      m.report.peers = integer_of<size_t>(j, "peers");
      m.report.upload_limit = unsigned_of(j, "uploadLimit");
      for (const auto& c : j.at("channels")) m.report.channels.push_back(report_of(c));
      if (j.contains("rtcPort")) {
        m.report.rtc_port = integer_of<uint16_t>(j, "rtcPort");
        m.report.rtc_peer_id = j.at("rtcPeerId").get<std::string>();
        if (!m.report.rtc_peer_id.empty() && !InfoHash::from_hex(m.report.rtc_peer_id))
          throw std::invalid_argument("rtcPeerId is not 40 hex digits");
        m.report.rtc_peers = integer_of<size_t>(j, "rtcPeers");
        m.report.rtc_uploaded = unsigned_of(j, "rtcUploaded");
      }
    } else if (op == "offer") {
      m.op = ControlMessage::Op::offer;
      m.offer.id = unsigned_of(j, "id");
      m.offer.info_hash = info_hash_of(j);
      m.offer.from = j.at("from").get<std::string>();
      if (!InfoHash::from_hex(m.offer.from)) throw std::invalid_argument("from is not 40 hex digits");
      m.offer.sdp = j.at("sdp").get<std::string>();
      m.offer.remote = j.at("remote").get<std::string>();
      m.offer.local = j.at("local").get<std::string>();
    } else if (op == "answer") {
      m.op = ControlMessage::Op::answer;
      m.answer.id = unsigned_of(j, "id");
      m.answer.sdp = j.at("sdp").get<std::string>();
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
