#pragma once
// The control channel between the master and a worker process (`seedcast worker`): one AF_UNIX
// stream socket per worker (a socketpair; the worker's end is its fd 3), one JSON object per
// line. Pure encoding and decoding here, unit-tested; the processes are worker.hpp and
// worker_pool.hpp.
//   master → worker  {"op":"assign","channels":[…],"uploadLimit":B}  seed exactly these
//                    torrents, uploading at most B bytes/s in all (0: no cap)
//                    {"op":"stats"}                   send a report
//   worker → master  {"op":"report","pid":…,"peerPort":…,"peers":…,"uploadLimit":…,"channels":[…]}
//                    (at start, then once per "stats")
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
};

struct ChannelReport {
  InfoHash info_hash;
  size_t peers = 0;
  uint64_t uploaded = 0;
  uint64_t upload_rate = 0;
  double progress = 0;
  bool complete = false;
  int connection_limit = 0;
};

struct WorkerReport {
  int pid = 0;
  uint16_t peer_port = 0;
  size_t peers = 0;  // all of the worker's peers
  uint64_t upload_limit = 0;  // bytes/s its engine applies; 0: none
  std::vector<ChannelReport> channels;
};

struct ControlMessage {
  enum class Op { assign, stats, report } op = Op::stats;
  std::vector<WorkerChannel> channels;  // Op::assign
  uint64_t upload_limit = 0;            // Op::assign
  WorkerReport report;                  // Op::report
};

// Each returns one line, '\n' included.
std::string encode_assign(const std::vector<WorkerChannel>& channels, uint64_t upload_limit);
std::string encode_stats_request();
std::string encode_report(const WorkerReport& report);
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
