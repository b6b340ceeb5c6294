#pragma once
// A worker process (`seedcast worker`, started by the master's WorkerPool): one BitTorrent
// engine that seeds the channels the master assigns over the control socket (control.hpp).
// It holds no catalog and serves no HTTP; it ends on SIGTERM/SIGINT/SIGQUIT or when the
// master's end of the socket closes (the master is gone).
#include <string>
#include <vector>

#include "seedcast/engine/engine.hpp"

namespace seedcast::superpeer {

struct WorkerOptions {
  int control_fd = 3;
  std::string listen_host = "0.0.0.0";
  int peer_port = 0;  // 0: any free port
  engine::SeedPolicy seed;  // the master's (SEED_SLOTS, SEED_COPIES, ...)
  // Its WebRTC peer (the master's tracker relays browsers' offers to it): the UDP port (0: any
  // free one; -1: none), the addresses to bind (empty: listen_host) and to advertise, the cap.
  int rtc_port = -1;
  std::vector<std::string> rtc_bind;
  std::vector<std::string> rtc_addresses;
  int rtc_max_peers = 10000;
  int rtc_pending_per_address = 32;
  int rtc_pending_per_torrent = 64;
  int rtc_handshake_timeout = 20;  // seconds
};

// The command-line flags that carry a seed policy from the master to its workers, one list for
// both sides: calls f(flag, setting name, field) for each field of `p`.
template <typename Policy, typename F>
void for_each_seed_flag(Policy& p, F&& f) {
  f("--seed-slots", "SEED_SLOTS", p.upload_slots);
  f("--seed-copies", "SEED_COPIES", p.copies);
  f("--seed-starve-ms", "SEED_STARVE_MS", p.starve_ms);
  f("--seed-urgent-pieces", "SEED_URGENT_PIECES", p.urgent_pieces);
  f("--seed-bitrate", "SEED_BITRATE", p.bitrate);
  f("--seed-lead-ms", "SEED_LEAD_MS", p.lead_ms);
}

// Runs until told to stop; returns the process's exit status. Call before any thread starts:
// it blocks the stop signals and sigwaits for them.
int run_worker(const WorkerOptions& options);

}  // namespace seedcast::superpeer
