#pragma once
// Swarm-first seeding (SEED_COPIES): which piece requests a seed answers, so that its upload goes
// to the pieces its swarm lacks and the viewers pass the rest among themselves.
//
// A seed that answers every request sends the same pieces to every viewer: streaming viewers ask
// it first, since they download in playback order and the seed is their fastest peer. This
// policy answers a request only when
//  - the piece is rare: fewer than `copies` connected peers have it or are being sent it by this
//    seed (so each piece enters the swarm about `copies` times), or
//  - it is one of the first `urgent_pieces` pieces of the torrent (a viewer starts playing at
//    once instead of waiting for peers that unchoke those who upload to them, which a newcomer
//    cannot), or
//  - it is one of the requester's next `urgent_pieces` missing pieces and no other peer has it
//    yet (the viewers at the front never wait for the swarm), or the requester is starving: its
//    first missing piece has not arrived for `starve_ms`, or
//  - (with the stream's bit rate known) the requester is behind: its pieces from the start reach
//    less than (seconds since it connected + lead) x rate, and the piece is below that mark.
// Any other request is refused. The seed also hands rare pieces to the peers furthest behind
// (BEP 6 suggestions, `spread` at a time): their upload is otherwise idle, since every peer ahead
// has what they have, and it buys them their peers' upload in return (tit for tat).
//
// Pure logic: no libtorrent, no clock, no I/O. The engine's libtorrent plugin
// (detail/swarm_first_plugin.hpp) feeds it what the peers say and does what it answers.
// Not thread-safe: one owner (libtorrent's network thread).
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace seedcast::engine {

struct SwarmFirstOptions {
  int copies = 1;             // >= 1
  int urgent_pieces = 4;      // a peer's next missing pieces that are urgent
  int64_t starve_ms = 2000;   // a first missing piece this old makes a peer starving
  int spread = 2;             // rare pieces suggested to a peer and not had by it yet, at most
  int64_t grant_ms = 10000;   // a piece granted to a peer counts as "being sent" at most this long
  int64_t rate = 0;           // bytes per second of the stream; 0: unknown (no "behind" rule)
  int64_t lead_ms = 1500;     // how far ahead of its nominal position a peer is kept (rate > 0)
  uint32_t piece_length = 0;  // for the "behind" rule
};

class SwarmFirst {
 public:
  using Peer = uint32_t;
  enum class Verdict {
    serve,             // let the request through
    refuse,            // refuse it (a BEP 6 reject); the peer still has requests queued here
    refuse_and_choke,  // refuse it and choke the peer, which would otherwise ask again at once
  };
  struct Action {
    Peer peer;
    std::vector<uint32_t> suggest;  // send these SUGGEST_PIECE messages first
    bool unchoke = false;           // then unchoke it (it is choked by this policy)
  };

  SwarmFirst(uint32_t num_pieces, SwarmFirstOptions options);

  // A connection; its peer has nothing until it says otherwise. `now_ms`: any monotonic clock.
  Peer connect(int64_t now_ms);
  void disconnect(Peer p);
  void fast(Peer p, bool on);        // it has the fast extension (BEP 6): rejects, suggestions
  void interested(Peer p, bool on);  // it wants pieces from the seed

  // What the peer says it has. Out-of-range pieces and bitfields of the wrong size are ignored
  // (libtorrent drops such peers).
  void have(Peer p, uint32_t piece, int64_t now_ms);
  void dont_have(Peer p, uint32_t piece, int64_t now_ms);
  void have_all(Peer p, int64_t now_ms);
  void have_none(Peer p, int64_t now_ms);
  void bitfield(Peer p, const std::vector<bool>& bits, int64_t now_ms);

  // A request for (a block of) `piece`. Without the fast extension a refusal is a choke.
  Verdict request(Peer p, uint32_t piece, int64_t now_ms);
  void dequeued(Peer p);  // a request it was served went out or was cancelled
  void choked(Peer p);    // it was choked (by whoever): its queued requests are gone
  void unchoked(Peer p);  // it was unchoked (by whoever)

  // About once a second: forgets old grants, suggests rare pieces to the peers furthest behind,
  // and says which peers choked by this policy to unchoke (something to give them now). The
  // caller reports the unchokes with unchoked().
  std::vector<Action> tick(int64_t now_ms);

  // Connected peers that have `piece` plus those this seed is sending it to.
  int holders(uint32_t piece) const;
  uint32_t first_missing(Peer p) const;
  bool choked_by_policy(Peer p) const;
  uint64_t refused() const { return refused_; }

 private:
  struct Grant {
    uint32_t piece;
    int64_t at;
    bool suggested;
  };
  struct State {
    bool live = false;
    bool fast = false;
    bool interested = false;
    bool choked = false;         // choked by this policy
    std::vector<bool> has;
    uint32_t first_missing = 0;  // == num_pieces_ when it has all
    int64_t missing_since = 0;   // when first_missing last changed
    int64_t since = 0;           // when it connected
    std::vector<Grant> grants;   // pieces this seed decided to send it, not had by it yet
    int queued = 0;              // served requests not sent yet (an estimate)
    int64_t burst_start = 0;     // refusals in quick succession: since when, and how many
    int burst = 0;
  };

  State* get(Peer p);
  const State* get(Peer p) const;
  void set_bit(State& s, uint32_t piece, bool on, int64_t now_ms);
  void drop_grant(State& s, uint32_t piece);
  void grant(State& s, uint32_t piece, int64_t now_ms, bool suggested);
  bool granted(const State& s, uint32_t piece) const;
  bool rare(uint32_t piece) const;    // had or being sent by fewer than `copies` peers
  bool scarce(uint32_t piece) const;  // had by fewer than `copies` peers
  bool urgent(const State& s, uint32_t piece) const;
  bool wants_scarce(const State& s) const;
  bool starving(const State& s, int64_t now_ms) const;
  bool fresh(const State& s) const;  // lacks one of the first urgent_pieces pieces
  int64_t mark(const State& s, int64_t now_ms) const;  // bytes it should have; -1: no rule
  bool behind(const State& s, int64_t now_ms) const;
  void spread(int64_t now_ms, std::vector<Action>& out);

  uint32_t num_pieces_;
  SwarmFirstOptions options_;
  std::vector<int> have_;     // per piece: connected peers that have it
  std::vector<int> sending_;  // per piece: peers it is granted to
  std::vector<State> peers_;
  std::vector<Peer> free_;
  uint64_t refused_ = 0;
};

// One torrent's policy shared by every seed of this process that serves it — the engine's
// BitTorrent peers (libtorrent's network thread) and the WebRTC seed's browsers (the rtc thread)
// — so that a piece a browser has counts for a native peer's request and the other way round.
// Every call locks. Each seed registers as an owner; tick() runs the policy's tick at most once
// a second, whoever calls, and keeps each owner's actions until that owner asks.
class SharedSwarmFirst {
 public:
  using Peer = SwarmFirst::Peer;
  using Owner = uint32_t;

  SharedSwarmFirst(uint32_t num_pieces, SwarmFirstOptions options) : policy_(num_pieces, options) {}

  Owner new_owner() {
    std::lock_guard lock(mutex_);
    return next_owner_++;
  }
  Peer connect(Owner owner, int64_t now_ms) {
    std::lock_guard lock(mutex_);
    Peer p = policy_.connect(now_ms);
    owners_[p] = owner;
    return p;
  }
  void disconnect(Peer p) {
    std::lock_guard lock(mutex_);
    owners_.erase(p);
    policy_.disconnect(p);
  }
  // Any other call of the policy: f(SwarmFirst&) under the lock.
  template <class F>
  auto with(F&& f) {
    std::lock_guard lock(mutex_);
    return f(policy_);
  }
  // The actions for `owner`'s peers: those kept since its last call, and (once a second) the
  // policy's tick's.
  std::vector<SwarmFirst::Action> tick(Owner owner, int64_t now_ms) {
    std::lock_guard lock(mutex_);
    if (now_ms - last_tick_ >= 1000) {
      last_tick_ = now_ms;
      for (auto& a : policy_.tick(now_ms)) {
        auto it = owners_.find(a.peer);
        if (it != owners_.end()) kept_[it->second].push_back(std::move(a));
      }
    }
    std::vector<SwarmFirst::Action> out;
    if (auto it = kept_.find(owner); it != kept_.end()) out.swap(it->second);
    return out;
  }

 private:
  std::mutex mutex_;
  SwarmFirst policy_;
  std::unordered_map<Peer, Owner> owners_;
  std::unordered_map<Owner, std::vector<SwarmFirst::Action>> kept_;
  Owner next_owner_ = 0;
  int64_t last_tick_ = 0;
};

}  // namespace seedcast::engine
