#include "seedcast/superpeer/process_stats.hpp"

#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace seedcast::superpeer {

std::optional<uint64_t> parse_proc_stat_ticks(std::string_view stat) {
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so fields count from the
  // last ')'. utime and stime are fields 14 and 15, i.e. the 12th and 13th after it.
  size_t close = stat.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = stat.substr(close + 1);
  uint64_t ticks = 0;
  for (int field = 3; field <= 15; ++field) {
    size_t b = rest.find_first_not_of(' ');
    if (b == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(b);
    size_t e = rest.find(' ');
    std::string_view v = rest.substr(0, e);
    if (field >= 14) {
      uint64_t x = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
      if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
      ticks += x;
    }
    rest = e == std::string_view::npos ? std::string_view{} : rest.substr(e);
  }
  return ticks;
}

std::optional<ProcessSample> sample_process(int pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream stat(dir + "/stat"), statm(dir + "/statm");
  if (!stat || !statm) return std::nullopt;
  std::stringstream ss;
  ss << stat.rdbuf();
  auto ticks = parse_proc_stat_ticks(ss.str());
  uint64_t size = 0, resident = 0;
  if (!ticks || !(statm >> size >> resident)) return std::nullopt;
  ProcessSample s;
  s.cpu_seconds = static_cast<double>(*ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  s.rss = resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  return s;
}

double CpuMeter::update(double cpu_seconds, std::chrono::steady_clock::time_point now) {
  if (!last_time_) {
    last_time_ = now;
    last_cpu_ = cpu_seconds;
    return percent_;
  }
  double wall = std::chrono::duration<double>(now - *last_time_).count();
  if (wall < 0.5) return percent_;
  percent_ = std::max(0.0, (cpu_seconds - last_cpu_) / wall * 100.0);
  last_time_ = now;
  last_cpu_ = cpu_seconds;
  return percent_;
}

}  // namespace seedcast::superpeer
