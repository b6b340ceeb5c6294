#pragma once
// CPU time and resident memory of a process, from /proc (Linux).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace seedcast::superpeer {

struct ProcessSample {
  double cpu_seconds = 0;  // user + system since the process started
  uint64_t rss = 0;        // bytes
};

// /proc/<pid>/stat's utime + stime, in clock ticks; nullopt when the text is not that file's.
std::optional<uint64_t> parse_proc_stat_ticks(std::string_view stat);
std::optional<ProcessSample> sample_process(int pid);

// CPU % of one core between successive samples; keeps the last value for samples closer than
// half a second (a dashboard and a script asking at once see the same figure).
class CpuMeter {
 public:
  double update(double cpu_seconds, std::chrono::steady_clock::time_point now);

 private:
  std::optional<std::chrono::steady_clock::time_point> last_time_;
  double last_cpu_ = 0;
  double percent_ = 0;
};

}  // namespace seedcast::superpeer
