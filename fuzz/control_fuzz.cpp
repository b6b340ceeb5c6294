// libFuzzer target: the control channel between the master and its workers
// (superpeer/control.hpp) as the reading side sees it: a byte stream, read in chunks (the first
// byte sets their size) into lines, each line decoded. A worker's report is what a compromised
// or confused worker process can send the master.
// Properties, beyond "no crash":
//  - LineBuffer hands out exactly the bytes between newlines, in order, and reports overflow
//    instead of growing past its limit;
//  - a line that decodes, encoded again and decoded, gives the same message (every field).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "seedcast/superpeer/control.hpp"

namespace {
using namespace seedcast::superpeer;

bool same(const WorkerChannel& a, const WorkerChannel& b) {
  return a.info_hash == b.info_hash && a.name == b.name && a.multi_file == b.multi_file && a.info == b.info &&
         a.root == b.root && a.max_connections == b.max_connections && a.trackers == b.trackers &&
         a.mtimes == b.mtimes;
}

bool same(const ChannelReport& a, const ChannelReport& b) {
  return a.info_hash == b.info_hash && a.peers == b.peers && a.uploaded == b.uploaded &&
         a.upload_rate == b.upload_rate && a.progress == b.progress && a.complete == b.complete &&
         a.connection_limit == b.connection_limit && a.rtc_peers == b.rtc_peers && a.rtc_uploaded == b.rtc_uploaded;
}

bool same(const ControlMessage& a, const ControlMessage& b) {
  if (a.op != b.op) return false;
  switch (a.op) {
    case ControlMessage::Op::stats: return true;
    case ControlMessage::Op::offer:
      return a.offer.id == b.offer.id && a.offer.info_hash == b.offer.info_hash && a.offer.from == b.offer.from &&
             a.offer.sdp == b.offer.sdp && a.offer.remote == b.offer.remote && a.offer.local == b.offer.local;
    case ControlMessage::Op::answer: return a.answer.id == b.answer.id && a.answer.sdp == b.answer.sdp;
    case ControlMessage::Op::assign:
      if (a.upload_limit != b.upload_limit || a.channels.size() != b.channels.size()) return false;
      for (size_t i = 0; i < a.channels.size(); ++i)
        if (!same(a.channels[i], b.channels[i])) return false;
      return true;
    case ControlMessage::Op::report: {
      const auto &x = a.report, &y = b.report;
      if (x.pid != y.pid || x.peer_port != y.peer_port || x.peers != y.peers || x.upload_limit != y.upload_limit ||
          x.channels.size() != y.channels.size() || x.rtc_port != y.rtc_port || x.rtc_peer_id != y.rtc_peer_id ||
          x.rtc_peers != y.rtc_peers || x.rtc_uploaded != y.rtc_uploaded)
        return false;
      for (size_t i = 0; i < x.channels.size(); ++i)
        if (!same(x.channels[i], y.channels[i])) return false;
      return true;
    }
  }
  return false;
}

std::string encode(const ControlMessage& m) {
  switch (m.op) {
    case ControlMessage::Op::assign: return encode_assign(m.channels, m.upload_limit);
    case ControlMessage::Op::report: return encode_report(m.report);
    case ControlMessage::Op::offer: return encode_offer(m.offer);
    case ControlMessage::Op::answer: return encode_answer(m.answer);
    case ControlMessage::Op::stats: break;
  }
  return encode_stats_request();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t chunk = 1 + data[0] % 64;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  constexpr size_t kMaxLine = 4096;
  LineBuffer lines(kMaxLine);
  size_t at = 0;      // bytes fed so far
  size_t expect = 0;  // where the next line should start in `in`
  while (at < in.size()) {
    lines.append(in.substr(at, chunk));
    at = std::min(in.size(), at + chunk);
    while (auto line = lines.next()) {
      size_t nl = in.find('\n', expect);
      if (nl == std::string_view::npos || nl >= at || *line != in.substr(expect, nl - expect)) std::abort();
      expect = nl + 1;
      std::string why;
      auto m = decode_control(*line, &why);
      if (!m) {
        if (why.empty()) std::abort();
        continue;
      }
      std::string again = encode(*m);
      if (again.empty() || again.back() != '\n' || again.find('\n') != again.size() - 1) std::abort();
      auto m2 = decode_control(std::string_view(again).substr(0, again.size() - 1));
      if (!m2 || !same(*m, *m2)) std::abort();
    }
    // What is held is the unfinished line: over the limit, the stream is broken.
    if (lines.overflow() != (at - expect > kMaxLine)) std::abort();
    if (lines.overflow()) return 0;
  }
  return 0;
}
