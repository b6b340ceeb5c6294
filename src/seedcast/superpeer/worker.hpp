#pragma once
// A worker process (`seedcast worker`, started by the master's WorkerPool): one BitTorrent
// engine that seeds the channels the master assigns over the control socket (control.hpp).
// It holds no catalog and serves no HTTP; it ends on SIGTERM/SIGINT/SIGQUIT or when the
// master's end of the socket closes (the master is gone).
#include <string>

#include "seedcast/engine/engine.hpp"

namespace seedcast::superpeer {

struct WorkerOptions {
  int control_fd = 3;
  std::string listen_host = "0.0.0.0";
  int peer_port = 0;  // 0: any free port
  engine::SeedPolicy seed;  // the master's (SEED_SLOTS, SEED_COPIES, ...)
};

// Runs until told to stop; returns the process's exit status. Call before any thread starts:
// it blocks the stop signals and sigwaits for them.
int run_worker(const WorkerOptions& options);

}  // namespace seedcast::superpeer
