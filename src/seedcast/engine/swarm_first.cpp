#include "seedcast/engine/swarm_first.hpp"

#include <algorithm>

namespace seedcast::engine {

namespace {
// A refused peer with nothing else queued at the seed asks again at once (libtorrent re-picks
// after a reject): this many refusals within kBurstMs mean it has nothing to ask for that the
// seed would give, so it is choked until it has (tick()).
constexpr int kBurstRefusals = 16;
constexpr int64_t kBurstMs = 200;
}  // namespace

SwarmFirst::SwarmFirst(uint32_t num_pieces, SwarmFirstOptions options)
    : num_pieces_(num_pieces), options_(options), have_(num_pieces, 0), sending_(num_pieces, 0) {
  options_.copies = std::max(1, options_.copies);
  options_.urgent_pieces = std::max(0, options_.urgent_pieces);
  options_.spread = std::max(0, options_.spread);
}

SwarmFirst::Peer SwarmFirst::connect(int64_t now_ms) {
  Peer p;
  if (!free_.empty()) {
    p = free_.back();
    free_.pop_back();
  } else {
    p = static_cast<Peer>(peers_.size());
    peers_.emplace_back();
  }
  State& s = peers_[p];
  s = State{};
  s.live = true;
  s.has.assign(num_pieces_, false);
  s.missing_since = s.since = now_ms;
  return p;
}

void SwarmFirst::disconnect(Peer p) {
  State* s = get(p);
  if (!s) return;
  for (uint32_t i = 0; i < num_pieces_; ++i)
    if (s->has[i]) --have_[i];
  for (const Grant& g : s->grants) --sending_[g.piece];
  *s = State{};
  free_.push_back(p);
}

SwarmFirst::State* SwarmFirst::get(Peer p) { return p < peers_.size() && peers_[p].live ? &peers_[p] : nullptr; }

const SwarmFirst::State* SwarmFirst::get(Peer p) const {
  return p < peers_.size() && peers_[p].live ? &peers_[p] : nullptr;
}

void SwarmFirst::fast(Peer p, bool on) {
  if (State* s = get(p)) s->fast = on;
}

void SwarmFirst::interested(Peer p, bool on) {
  if (State* s = get(p)) s->interested = on;
}

void SwarmFirst::drop_grant(State& s, uint32_t piece) {
  for (auto it = s.grants.begin(); it != s.grants.end(); ++it) {
    if (it->piece != piece) continue;
    --sending_[piece];
    s.grants.erase(it);
    return;
  }
}

void SwarmFirst::grant(State& s, uint32_t piece, int64_t now_ms, bool suggested) {
  s.grants.push_back({piece, now_ms, suggested});
  ++sending_[piece];
}

bool SwarmFirst::granted(const State& s, uint32_t piece) const {
  return std::any_of(s.grants.begin(), s.grants.end(), [piece](const Grant& g) { return g.piece == piece; });
}

void SwarmFirst::set_bit(State& s, uint32_t piece, bool on, int64_t now_ms) {
  if (s.has[piece] == on) return;
  s.has[piece] = on;
  if (on) {
    ++have_[piece];
    drop_grant(s, piece);
    if (piece != s.first_missing) return;
    while (s.first_missing < num_pieces_ && s.has[s.first_missing]) ++s.first_missing;
    s.missing_since = now_ms;
  } else {
    --have_[piece];
    if (piece < s.first_missing) {
      s.first_missing = piece;
      s.missing_since = now_ms;
    }
  }
}

void SwarmFirst::have(Peer p, uint32_t piece, int64_t now_ms) {
  State* s = get(p);
  if (s && piece < num_pieces_) set_bit(*s, piece, true, now_ms);
}

void SwarmFirst::dont_have(Peer p, uint32_t piece, int64_t now_ms) {
  State* s = get(p);
  if (s && piece < num_pieces_) set_bit(*s, piece, false, now_ms);
}

void SwarmFirst::have_all(Peer p, int64_t now_ms) {
  if (State* s = get(p))
    for (uint32_t i = 0; i < num_pieces_; ++i) set_bit(*s, i, true, now_ms);
}

void SwarmFirst::have_none(Peer p, int64_t now_ms) {
  if (State* s = get(p))
    for (uint32_t i = 0; i < num_pieces_; ++i) set_bit(*s, i, false, now_ms);
}

void SwarmFirst::bitfield(Peer p, const std::vector<bool>& bits, int64_t now_ms) {
  State* s = get(p);
  if (!s || bits.size() != num_pieces_) return;
  for (uint32_t i = 0; i < num_pieces_; ++i) set_bit(*s, i, bits[i], now_ms);
}

bool SwarmFirst::rare(uint32_t piece) const { return have_[piece] + sending_[piece] < options_.copies; }

bool SwarmFirst::scarce(uint32_t piece) const { return have_[piece] < options_.copies; }

bool SwarmFirst::urgent(const State& s, uint32_t piece) const {
  int missing = 0;
  for (uint32_t i = s.first_missing; i < num_pieces_ && missing < options_.urgent_pieces; ++i) {
    if (s.has[i]) continue;
    if (i == piece) return true;
    ++missing;
  }
  return false;
}

bool SwarmFirst::wants_scarce(const State& s) const {
  int missing = 0;
  for (uint32_t i = s.first_missing; i < num_pieces_ && missing < options_.urgent_pieces; ++i) {
    if (s.has[i]) continue;
    if (scarce(i)) return true;
    ++missing;
  }
  return false;
}

bool SwarmFirst::starving(const State& s, int64_t now_ms) const {
  return s.first_missing < num_pieces_ && now_ms - s.missing_since >= options_.starve_ms;
}

bool SwarmFirst::fresh(const State& s) const {
  return s.first_missing < static_cast<uint32_t>(options_.urgent_pieces);
}

int64_t SwarmFirst::mark(const State& s, int64_t now_ms) const {
  if (options_.rate <= 0 || s.first_missing >= num_pieces_) return -1;
  return (now_ms - s.since + options_.lead_ms) * options_.rate / 1000;
}

bool SwarmFirst::behind(const State& s, int64_t now_ms) const {
  return static_cast<int64_t>(s.first_missing) * options_.piece_length < mark(s, now_ms);
}

SwarmFirst::Verdict SwarmFirst::request(Peer p, uint32_t piece, int64_t now_ms) {
  State* s = get(p);
  if (!s || piece >= num_pieces_) return Verdict::serve;  // not ours to judge: libtorrent checks it
  if (s->choked) {  // sent before our choke reached it
    ++refused_;
    return Verdict::refuse;
  }
  bool serve = s->has[piece] || granted(*s, piece);
  if (!serve && (rare(piece) || piece < static_cast<uint32_t>(options_.urgent_pieces) ||
                 (urgent(*s, piece) && (scarce(piece) || starving(*s, now_ms))) ||
                 (behind(*s, now_ms) && static_cast<int64_t>(piece) * options_.piece_length < mark(*s, now_ms)))) {
    grant(*s, piece, now_ms, false);
    serve = true;
  }
  if (serve) {
    ++s->queued;
    return Verdict::serve;
  }
  ++refused_;
  if (!s->fast) {  // a request can only be dropped with a choke
    s->choked = true;
    return Verdict::refuse_and_choke;
  }
  // Blocks still queued for it: it asks again only as they arrive, a reject is enough.
  if (s->queued >= 2) return Verdict::refuse;
  if (now_ms - s->burst_start > kBurstMs) {
    s->burst_start = now_ms;
    s->burst = 0;
  }
  if (++s->burst < kBurstRefusals) return Verdict::refuse;
  s->choked = true;
  return Verdict::refuse_and_choke;
}

void SwarmFirst::dequeued(Peer p) {
  if (State* s = get(p)) s->queued = std::max(0, s->queued - 1);
}

void SwarmFirst::choked(Peer p) {
  if (State* s = get(p)) s->queued = 0;
}

void SwarmFirst::unchoked(Peer p) {
  if (State* s = get(p)) s->choked = false;
}

void SwarmFirst::spread(int64_t now_ms, std::vector<Action>& out) {
  std::vector<Peer> order;
  for (Peer p = 0; p < peers_.size(); ++p) {
    const State& s = peers_[p];
    if (s.live && s.fast && s.interested && s.first_missing < num_pieces_) order.push_back(p);
  }
  std::stable_sort(order.begin(), order.end(),
                   [this](Peer a, Peer b) { return peers_[a].first_missing < peers_[b].first_missing; });
  uint32_t lowest = 0;  // no rare piece below this one
  for (Peer p : order) {
    State& s = peers_[p];
    int outstanding = static_cast<int>(
        std::count_if(s.grants.begin(), s.grants.end(), [](const Grant& g) { return g.suggested; }));
    Action a{p, {}, false};
    for (uint32_t i = lowest; i < num_pieces_ && outstanding < options_.spread; ++i) {
      if (!rare(i)) {
        if (i == lowest) ++lowest;
        continue;
      }
      if (s.has[i] || granted(s, i)) continue;
      grant(s, i, now_ms, true);
      ++outstanding;
      a.suggest.push_back(i);
    }
    if (!a.suggest.empty()) out.push_back(std::move(a));
    if (lowest >= num_pieces_) break;
  }
}

std::vector<SwarmFirst::Action> SwarmFirst::tick(int64_t now_ms) {
  for (State& s : peers_) {
    if (!s.live) continue;
    for (auto it = s.grants.begin(); it != s.grants.end();) {
      if (now_ms - it->at < options_.grant_ms) {
        ++it;
        continue;
      }
      --sending_[it->piece];
      it = s.grants.erase(it);
    }
  }
  std::vector<Action> out;
  if (options_.spread > 0) spread(now_ms, out);
  const size_t suggested = out.size();
  for (Peer p = 0; p < peers_.size(); ++p) {
    const State& s = peers_[p];
    if (!s.live || !s.choked || s.first_missing >= num_pieces_) continue;
    auto it = std::find_if(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(suggested),
                           [p](const Action& a) { return a.peer == p; });
    if (it != out.begin() + static_cast<std::ptrdiff_t>(suggested)) {
      it->unchoke = true;
    } else if (wants_scarce(s) || fresh(s) || starving(s, now_ms) || behind(s, now_ms)) {
      out.push_back({p, {}, true});
    }
  }
  return out;
}

int SwarmFirst::holders(uint32_t piece) const { return piece < num_pieces_ ? have_[piece] + sending_[piece] : 0; }

uint32_t SwarmFirst::first_missing(Peer p) const {
  const State* s = get(p);
  return s ? s->first_missing : num_pieces_;
}

bool SwarmFirst::choked_by_policy(Peer p) const {
  const State* s = get(p);
  return s && s->choked;
}

}  // namespace seedcast::engine
