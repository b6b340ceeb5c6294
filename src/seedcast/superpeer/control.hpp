#pragma once
// The control channel between the master and a worker process (`seedcast worker`): one AF_UNIX
// stream socket per worker (a socketpair; the worker's end is its fd 3), one JSON object per
// line. Pure encoding and decoding here, unit-tested; the processes are worker.hpp and
// worker_pool.hpp.
//   master → worker  {"op":"assign","channels":[…],"uploadLimit":B}  seed exactly these
//                    torrents, uploading at most B bytes/s in all (0: no cap)
//                    {"op":"stats"}                   send a report
//                    {"op":"offer","id":N,"infoHash":…,"from":…,"sdp":…,"remote":…,"local":…}
//                    a browser's WebRTC offer for the worker's WebRTC peer (the tracker runs
//                    in the master)
//   worker → master  {"op":"report","pid":…,"peerPort":…,"peers":…,"uploadLimit":…,"channels":[…],
//                     "rtcPort":…,"rtcPeerId":…,"rtcPeers":…,"rtcUploaded":…}
//                    (at start, then once per "stats")
//                    {"op":"answer","id":N,"sdp":…}   the answer to offer N ("" : refused)
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "seedcast/core/info_hash.hpp"

namespace seedcast::superpeer {

// A torrent a worker seeds: what its engine needs to seed data that is complete on disk.
struct WorkerChannel {
  InfoHash info_hash;
  std::string name;
  bool multi_file = false;
  std::string info;  // the bencoded info dictionary
  std::string root;  // catalog::Torrent::root: where its files are
  int max_connections = 0;
  std::vector<std::string> trackers;  // extra trackers to announce to
  // The files' modification times when they were hashed, in the info dictionary's file order:
  // the WebRTC peer sends a file's bytes only while it is still that file.
  std::vector<int64_t> mtimes;
};

struct ChannelReport {
  InfoHash info_hash;
  size_t peers = 0;
  uint64_t uploaded = 0;
  uint64_t upload_rate = 0;
  double progress = 0;
  bool complete = false;
  int connection_limit = 0;
  size_t rtc_peers = 0;      // browsers connected to the worker's WebRTC peer
  uint64_t rtc_uploaded = 0;  // payload bytes sent to them
};

struct WorkerReport {
  int pid = 0;
  uint16_t peer_port = 0;
  size_t peers = 0;  // all of the worker's peers
  uint64_t upload_limit = 0;  // bytes/s its engine applies; 0: none
  std::vector<ChannelReport> channels;
  uint16_t rtc_port = 0;      // its WebRTC peer's UDP port; 0: it runs none
  std::string rtc_peer_id;    // that peer's id, 40 hex digits ("" when none)
  size_t rtc_peers = 0;
  uint64_t rtc_uploaded = 0;
};

// A browser's offer, relayed to a worker's WebRTC peer, and the worker's answer.
struct RtcOffer {
  uint64_t id = 0;
  InfoHash info_hash;
  std::string from;    // the browser's peer id, 40 hex digits
  std::string sdp;
  std::string remote;  // the browser's address
  std::string local;   // the address it reached the server on (host:port)
};
struct RtcAnswer {
  uint64_t id = 0;
  std::string sdp;  // empty: refused
};

struct ControlMessage {
  enum class Op { assign, stats, report, offer, answer } op = Op::stats;
  std::vector<WorkerChannel> channels;  // Op::assign
  uint64_t upload_limit = 0;            // Op::assign
  WorkerReport report;                  // Op::report
  RtcOffer offer;                       // Op::offer
  RtcAnswer answer;                     // Op::answer
};

// Each returns one line, '\n' included.
std::string encode_assign(const std::vector<WorkerChannel>& channels, uint64_t upload_limit);
std::string encode_stats_request();
std::string encode_report(const WorkerReport& report);
std::string encode_offer(const RtcOffer& offer);
std::string encode_answer(const RtcAnswer& answer);
// nullopt (with `why`) for anything that is not one of the messages above, complete and typed.
std::optional<ControlMessage> decode_control(std::string_view line, std::string* why = nullptr);

// Splits a byte stream into lines. A line longer than `max_line` is an error: the stream is
// broken (the caller closes it).
class LineBuffer {
 public:
  explicit LineBuffer(size_t max_line = size_t{256} << 20) : max_line_(max_line) {}
  void append(std::string_view bytes) { buffer_.append(bytes); }
  // The next complete line without its '\n', or nullopt when none is complete yet.
  std::optional<std::string> next();
  bool overflow() const { return buffer_.size() - start_ > max_line_; }

 private:
  std::string buffer_;
  size_t start_ = 0;
  size_t max_line_;
};

}  // namespace seedcast::superpeer
