#pragma once
// What both examples share: settings from the environment, and running until SIGINT/SIGTERM.
#include <pthread.h>
#include <signal.h>

#include <cstdlib>
#include <thread>

#include "seedcast/app/app.hpp"
#include "seedcast/core/config.hpp"
#include "seedcast/core/log.hpp"

namespace example {

inline seedcast::Config config_from_environment() {
  seedcast::ConfigSources s;
  s.env = [](const std::string& k) -> std::optional<std::string> {
    const char* v = std::getenv(k.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  return seedcast::load_config(s);
}

// Call first, before an App exists: the threads it starts inherit the blocked signals, so
// only run()'s sigwait sees SIGINT/SIGTERM.
inline sigset_t block_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

inline int run(seedcast::App& app, sigset_t set) {
  app.listen();
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&set, &sig);
    app.stop();
  });
  app.run();
  waiter.join();
  return 0;
}

}  // namespace example
