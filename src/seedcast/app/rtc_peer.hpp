#pragma once
// The glue between the tracker and the WebRTC seed of this process: the seed as a tracker
// ServerPeer, and the addresses its UDP port binds.
#include <memory>
#include <string>
#include <vector>

#include "seedcast/superpeer/rtc_seed.hpp"
#include "seedcast/superpeer/worker_pool.hpp"
#include "seedcast/tracker/ws_protocol.hpp"

namespace seedcast::app {

// The seed as the tracker sees it: it takes the offers of browsers in the swarms it seeds and
// answers them at once.
std::shared_ptr<tracker::ServerPeer> server_peer(std::shared_ptr<superpeer::RtcSeed> seed);

// A worker's WebRTC peer as the master's tracker sees it: offers go over the worker's control
// socket and its answer comes back the same way (WORKERS > 0).
std::shared_ptr<tracker::ServerPeer> worker_peer(superpeer::WorkerPool& pool, const superpeer::WorkerPool::RtcWorker& w);

// The addresses the WebRTC port binds for HOST: what HOST resolves to ("localhost": 127.0.0.1
// and ::1; "0.0.0.0": every IPv4 interface). Throws std::runtime_error when it resolves to
// nothing.
std::vector<std::string> rtc_bind_addresses(const std::string& host);

// RTC_ADDRESSES: a comma (or space) separated list.
std::vector<std::string> split_addresses(const std::string& list);

}  // namespace seedcast::app
