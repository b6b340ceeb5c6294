#pragma once
// CPU and memory readings from /proc and getrusage for the bench/ load generators (Linux).
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

// utime+stime of another process in seconds (0 if unknown)
inline double proc_cpu_seconds(int pid) {
  if (pid <= 0) return 0;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string st((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t rp = st.rfind(')');
  if (rp == std::string::npos) return 0;
  unsigned long long ut = 0, stt = 0;
  // after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
  if (std::sscanf(st.c_str() + rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stt) != 2) return 0;
  return static_cast<double>(ut + stt) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// a "Name:   N kB" field of /proc/PID/status in kB (0 if unknown)
inline long proc_status_kb(int pid, const char* name) {
  if (pid <= 0) return 0;
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  size_t n = std::strlen(name);
  while (std::getline(f, line))
    if (line.compare(0, n, name) == 0 && line.size() > n && line[n] == ':') return std::atol(line.c_str() + n + 1);
  return 0;
}

// busy seconds (user+nice+system+irq+softirq+steal) of core N from /proc/stat (0 if unknown)
inline double core_busy_seconds(int core) {
  if (core < 0) return 0;
  std::ifstream f("/proc/stat");
  std::string name = "cpu" + std::to_string(core), line;
  while (std::getline(f, line)) {
    if (line.compare(0, name.size() + 1, name + " ") != 0) continue;
    unsigned long long v[8] = {};
    std::sscanf(line.c_str() + name.size(), "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                &v[4], &v[5], &v[6], &v[7]);
    return static_cast<double>(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  return 0;
}

// user+nice+system seconds of the whole machine (what processes are charged)
inline double machine_task_seconds() {
  std::ifstream f("/proc/stat");
  std::string line;
  if (!std::getline(f, line) || line.compare(0, 4, "cpu ") != 0) return 0;
  unsigned long long u = 0, n = 0, sy = 0;
  std::sscanf(line.c_str() + 4, "%llu %llu %llu", &u, &n, &sy);
  return static_cast<double>(u + n + sy) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

inline double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}
