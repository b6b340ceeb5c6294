#pragma once
// The libtorrent side of swarm-first seeding (swarm_first.hpp): a torrent plugin for a seeded
// torrent that feeds every BitTorrent peer's haves and requests to a SwarmFirst policy, refuses
// what it refuses (a fast-extension reject, or a choke for peers without the fast extension) and
// chokes and unchokes peers as it says. Runs on libtorrent's network thread only.
//
// The session must unchoke every peer itself (unchoke_slots_limit -1, the seed's preset):
// libtorrent's choker then never runs, and the policy's chokes stay until it lifts them.
#include <libtorrent/extensions.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include "seedcast/engine/swarm_first.hpp"

namespace seedcast::engine::detail {

using TorrentPluginFactory =
    std::function<std::shared_ptr<lt::torrent_plugin>(const lt::torrent_handle&, lt::client_data_t)>;

// A factory for add_torrent_params::extensions: the torrent's BitTorrent peers under `policy`
// (which other seeds of the process may share); `refused` (may be null) counts the requests
// refused, for the engine's stats.
TorrentPluginFactory swarm_first_plugin(std::shared_ptr<SharedSwarmFirst> policy,
                                        std::shared_ptr<std::atomic<uint64_t>> refused);

}  // namespace seedcast::engine::detail
