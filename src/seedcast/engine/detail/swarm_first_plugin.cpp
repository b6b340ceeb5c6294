#include "seedcast/engine/detail/swarm_first_plugin.hpp"

#include <libtorrent/bitfield.hpp>
#include <libtorrent/peer_connection_handle.hpp>
#include <libtorrent/peer_request.hpp>

#include <chrono>
#include <unordered_map>
#include <vector>

namespace seedcast::engine::detail {

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class PeerPlugin;

// What the torrent's plugin and its peers' plugins share. A peer plugin can outlive its torrent
// plugin (libtorrent tears connections down later), hence shared. `connections` is touched on
// the network thread only; the policy is shared with the process's other seeds (it locks).
struct Shared {
  explicit Shared(std::shared_ptr<SharedSwarmFirst> p) : policy(std::move(p)), owner(policy->new_owner()) {}
  std::shared_ptr<SharedSwarmFirst> policy;
  SharedSwarmFirst::Owner owner;
  std::unordered_map<SwarmFirst::Peer, PeerPlugin*> connections;  // each removes itself
  std::shared_ptr<std::atomic<uint64_t>> refused;
};

void put_u32(char* p, uint32_t v) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}

uint32_t piece_of(lt::piece_index_t i) {
  const int v = static_cast<int>(i);
  return v < 0 ? UINT32_MAX : static_cast<uint32_t>(v);  // out of range: the policy ignores it
}

class PeerPlugin final : public lt::peer_plugin {
 public:
  PeerPlugin(std::shared_ptr<Shared> shared, lt::peer_connection_handle pc)
      : shared_(std::move(shared)), pc_(std::move(pc)), id_(shared_->policy->connect(shared_->owner, now_ms())) {
    shared_->connections.emplace(id_, this);
  }
  ~PeerPlugin() override { leave(); }

  lt::string_view type() const override { return "seedcast_swarm_first"; }

  bool on_handshake(lt::span<char const> reserved) override {
    fast_ = reserved.size() >= 8 && (reserved[7] & 0x04) != 0;  // BEP 6, the fast extension
    shared_->policy->with([&](SwarmFirst& p) { return p.fast(id_, fast_); });
    return true;
  }
  void on_disconnect(lt::error_code const&) override { leave(); }

  // What the peer says; libtorrent goes on to handle every message itself (return false).
  bool on_interested() override {
    shared_->policy->with([&](SwarmFirst& p) { return p.interested(id_, true); });
    return false;
  }
  bool on_not_interested() override {
    shared_->policy->with([&](SwarmFirst& p) { return p.interested(id_, false); });
    return false;
  }
  bool on_have(lt::piece_index_t i) override {
    shared_->policy->with([&](SwarmFirst& p) { return p.have(id_, piece_of(i), now_ms()); });
    return false;
  }
  bool on_dont_have(lt::piece_index_t i) override {
    shared_->policy->with([&](SwarmFirst& p) { return p.dont_have(id_, piece_of(i), now_ms()); });
    return false;
  }
  bool on_have_all() override {
    shared_->policy->with([&](SwarmFirst& p) { return p.have_all(id_, now_ms()); });
    return false;
  }
  bool on_have_none() override {
    shared_->policy->with([&](SwarmFirst& p) { return p.have_none(id_, now_ms()); });
    return false;
  }
  bool on_bitfield(lt::bitfield const& bits) override {
    std::vector<bool> v(static_cast<size_t>(bits.size()));
    for (int i = 0; i < bits.size(); ++i) v[static_cast<size_t>(i)] = bits.get_bit(i);
    shared_->policy->with([&](SwarmFirst& p) { return p.bitfield(id_, v, now_ms()); });
    return false;
  }

  // Returning true keeps a request from libtorrent: it is refused here.
  bool on_request(lt::peer_request const& r) override {
    const SwarmFirst::Verdict v =
        shared_->policy->with([&](SwarmFirst& p) { return p.request(id_, piece_of(r.piece), now_ms()); });
    if (v == SwarmFirst::Verdict::serve) return false;
    if (shared_->refused) shared_->refused->fetch_add(1, std::memory_order_relaxed);
    // With the fast extension, libtorrent's choke rejects what is still queued for the peer;
    // without it the choke itself tells the peer that its requests are dropped.
    if (v == SwarmFirst::Verdict::refuse_and_choke) pc_.choke_this_peer();
    reject(r);
    return true;
  }
  bool on_cancel(lt::peer_request const&) override {
    shared_->policy->with([&](SwarmFirst& p) { return p.dequeued(id_); });
    return false;
  }
  void sent_piece(lt::peer_request const&) override {
    shared_->policy->with([&](SwarmFirst& p) { return p.dequeued(id_); });
  }
  void sent_choke() override { shared_->policy->with([&](SwarmFirst& p) { return p.choked(id_); }); }
  void sent_unchoke() override { shared_->policy->with([&](SwarmFirst& p) { return p.unchoked(id_); }); }

  void act(const SwarmFirst::Action& a) {
    if (pc_.is_disconnecting()) return;
    for (uint32_t piece : a.suggest) suggest(piece);
    // sent_unchoke() tells the policy
    if (a.unchoke && pc_.is_choked() && pc_.is_peer_interested()) pc_.maybe_unchoke_this_peer();
  }

 private:
  // REJECT_REQUEST (BEP 6): <len=13><id=16><index><begin><length>.
  void reject(lt::peer_request const& r) {
    if (!fast_) return;
    char msg[17];
    put_u32(msg, 13);
    msg[4] = 16;
    put_u32(msg + 5, static_cast<uint32_t>(static_cast<int>(r.piece)));
    put_u32(msg + 9, static_cast<uint32_t>(r.start));
    put_u32(msg + 13, static_cast<uint32_t>(r.length));
    pc_.send_buffer(msg, sizeof msg);
  }

  // SUGGEST_PIECE (BEP 6): <len=5><id=13><index>. libtorrent picks suggested pieces first.
  void suggest(uint32_t piece) {
    if (!fast_) return;
    char msg[9];
    put_u32(msg, 5);
    msg[4] = 13;
    put_u32(msg + 5, piece);
    pc_.send_buffer(msg, sizeof msg);
  }

  void leave() {
    if (gone_) return;
    gone_ = true;
    shared_->connections.erase(id_);
    shared_->policy->disconnect(id_);
  }

  std::shared_ptr<Shared> shared_;
  lt::peer_connection_handle pc_;
  SwarmFirst::Peer id_;
  bool fast_ = false;
  bool gone_ = false;
};

class TorrentPlugin final : public lt::torrent_plugin {
 public:
  explicit TorrentPlugin(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

  std::shared_ptr<lt::peer_plugin> new_connection(lt::peer_connection_handle const& pc) override {
    if (pc.type() != lt::connection_type::bittorrent) return {};  // web seeds are not peers
    return std::make_shared<PeerPlugin>(shared_, pc);
  }

  // libtorrent calls this every session tick (500 ms, or 100 ms while the engine fetches
  // gateway torrents); the shared policy ticks once a second and keeps our peers' actions.
  void tick() override {
    for (const SwarmFirst::Action& a : shared_->policy->tick(shared_->owner, now_ms())) {
      auto it = shared_->connections.find(a.peer);
      if (it != shared_->connections.end()) it->second->act(a);
    }
  }

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace

TorrentPluginFactory swarm_first_plugin(std::shared_ptr<SharedSwarmFirst> policy,
                                        std::shared_ptr<std::atomic<uint64_t>> refused) {
  return [policy = std::move(policy), refused = std::move(refused)](const lt::torrent_handle&, lt::client_data_t) {
    auto shared = std::make_shared<Shared>(policy);
    shared->refused = refused;
    return std::make_shared<TorrentPlugin>(std::move(shared));
  };
}

}  // namespace seedcast::engine::detail
