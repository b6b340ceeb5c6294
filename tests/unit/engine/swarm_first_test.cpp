#include "seedcast/engine/swarm_first.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace seedcast::engine {
namespace {

using V = SwarmFirst::Verdict;
using Peer = SwarmFirst::Peer;
constexpr uint32_t kPieces = 16;
constexpr uint32_t kPieceLength = 256 * 1024;

SwarmFirstOptions options(int copies = 1) {
  SwarmFirstOptions o;
  o.copies = copies;
  o.urgent_pieces = 2;
  o.starve_ms = 2000;
  o.spread = 0;
  o.piece_length = kPieceLength;
  return o;
}

std::vector<bool> bits(std::initializer_list<uint32_t> on) {
  std::vector<bool> v(kPieces, false);
  for (uint32_t i : on) v[i] = true;
  return v;
}

// A connected peer with the fast extension, interested in the seed.
Peer join(SwarmFirst& sf, int64_t now = 0) {
  Peer p = sf.connect(now);
  sf.fast(p, true);
  sf.interested(p, true);
  return p;
}

const SwarmFirst::Action* action_for(const std::vector<SwarmFirst::Action>& actions, Peer p) {
  auto it = std::find_if(actions.begin(), actions.end(), [p](const SwarmFirst::Action& a) { return a.peer == p; });
  return it == actions.end() ? nullptr : &*it;
}

TEST(SwarmFirst, CountsWhatPeersSayTheyHave) {
  SwarmFirst sf(kPieces, options());
  Peer a = join(sf), b = join(sf);
  sf.bitfield(a, bits({0, 1, 5}), 0);
  sf.have(b, 5, 0);
  sf.have(b, 5, 0);  // said twice: counted once
  EXPECT_EQ(sf.holders(0), 1);
  EXPECT_EQ(sf.holders(5), 2);
  EXPECT_EQ(sf.holders(2), 0);
  EXPECT_EQ(sf.first_missing(a), 2u);
  sf.dont_have(a, 1, 0);
  EXPECT_EQ(sf.holders(1), 0);
  EXPECT_EQ(sf.first_missing(a), 1u);
  sf.have_all(b, 0);
  EXPECT_EQ(sf.first_missing(b), kPieces);
  EXPECT_EQ(sf.holders(7), 1);
  sf.disconnect(b);
  EXPECT_EQ(sf.holders(7), 0);
  EXPECT_EQ(sf.holders(5), 1);
  sf.have_none(a, 0);
  EXPECT_EQ(sf.holders(0), 0);
}

TEST(SwarmFirst, IgnoresWhatIsOutOfRange) {
  SwarmFirst sf(kPieces, options());
  Peer a = join(sf);
  sf.have(a, kPieces, 0);
  sf.dont_have(a, kPieces + 1, 0);
  sf.bitfield(a, std::vector<bool>(kPieces + 8, true), 0);  // wrong size: libtorrent drops the peer
  EXPECT_EQ(sf.first_missing(a), 0u);
  EXPECT_EQ(sf.request(a, kPieces + 3, 0), V::serve);  // libtorrent refuses an invalid index itself
  sf.have(a + 100, 1, 0);                               // an unknown peer
  EXPECT_EQ(sf.holders(1), 0);
  EXPECT_EQ(sf.request(a + 100, 1, 0), V::serve);
}

TEST(SwarmFirst, ServesWhatNobodyHasAndRefusesWhatAPeerHas) {
  SwarmFirst sf(kPieces, options());
  Peer a = join(sf), c = join(sf);
  sf.bitfield(a, bits({9}), 0);
  EXPECT_EQ(sf.request(c, 9, 10), V::refuse);
  EXPECT_EQ(sf.request(c, 12, 10), V::serve);
  EXPECT_EQ(sf.holders(12), 1);                // being sent to c
  EXPECT_EQ(sf.request(c, 12, 10), V::serve);   // the piece's other blocks
  EXPECT_EQ(sf.request(a, 12, 10), V::refuse);  // c is getting it, and it is not urgent for a
  sf.have(c, 12, 20);
  EXPECT_EQ(sf.holders(12), 1);  // had by c now, no longer "being sent"
  EXPECT_EQ(sf.refused(), 2u);
}

TEST(SwarmFirst, CopiesIsHowManyPeersGetAPieceFromTheSeed) {
  SwarmFirst sf(kPieces, options(2));
  Peer a = join(sf), b = join(sf), c = join(sf);
  sf.bitfield(c, bits({0, 1, 2, 3}), 0);  // 9 is not among c's next missing pieces
  EXPECT_EQ(sf.request(a, 9, 0), V::serve);
  EXPECT_EQ(sf.request(b, 9, 0), V::serve);
  EXPECT_EQ(sf.request(c, 9, 0), V::refuse);
}

TEST(SwarmFirst, APeersNextPiecesThatNobodyHasAreItsOwn) {
  SwarmFirst sf(kPieces, options());
  Peer lead = join(sf), other = join(sf);
  sf.bitfield(lead, bits({0, 1, 2, 3, 4}), 0);
  EXPECT_EQ(sf.request(other, 5, 0), V::serve);  // granted to `other`, not had by anyone yet
  EXPECT_EQ(sf.request(lead, 5, 0), V::serve);   // urgent for lead, and nobody has it
  sf.have(other, 5, 10);
  EXPECT_EQ(sf.request(lead, 5, 10), V::serve);  // already granted to lead
  Peer late = join(sf);
  sf.bitfield(late, bits({0, 1, 2, 3, 4}), 10);
  EXPECT_EQ(sf.request(late, 5, 10), V::refuse);  // other has it: from other
}

TEST(SwarmFirst, TheFirstPiecesAreServedToWhoeverLacksThem) {
  SwarmFirst sf(kPieces, options());
  Peer a = join(sf), c = join(sf);
  sf.have_all(a, 0);
  sf.bitfield(c, bits({9, 10, 11}), 0);
  // the first two (urgent_pieces) pieces, although a has them: a viewer starts at once
  EXPECT_EQ(sf.request(c, 0, 10), V::serve);
  EXPECT_EQ(sf.request(c, 1, 10), V::serve);
  EXPECT_EQ(sf.request(c, 2, 10), V::refuse);  // a has it: from a
  sf.have(c, 0, 20);
  EXPECT_EQ(sf.request(c, 2, 20), V::refuse);
}

TEST(SwarmFirst, LackingAFirstPieceDoesNotMakeTheNextMissingOnesUrgent) {
  SwarmFirst sf(kPieces, options());
  Peer a = join(sf), c = join(sf);
  sf.have_all(a, 0);
  sf.bitfield(c, bits({0, 2, 3, 4}), 0);  // its next missing pieces: 1, then 5
  EXPECT_EQ(sf.request(c, 1, 10), V::serve);   // a first piece
  EXPECT_EQ(sf.request(c, 5, 10), V::refuse);  // a has it, and c is not starving
}

TEST(SwarmFirst, AStarvingPeerGetsItsNextMissingPieces) {
  SwarmFirst sf(kPieces, options());
  Peer a = join(sf), c = join(sf);
  sf.have_all(a, 0);
  sf.bitfield(c, bits({0, 1}), 0);  // c misses 2, 3, 4, ... (and has started)
  EXPECT_EQ(sf.request(c, 2, 1999), V::refuse);
  EXPECT_EQ(sf.request(c, 2, 2000), V::serve);  // piece 2 missing for 2 s
  EXPECT_EQ(sf.request(c, 3, 2000), V::serve);  // urgent: the next two missing pieces
  EXPECT_EQ(sf.request(c, 4, 2000), V::refuse);
  sf.have(c, 2, 2100);  // progress: no longer starving
  EXPECT_EQ(sf.request(c, 4, 2100), V::refuse);
}

TEST(SwarmFirst, APeerBehindTheBitRateIsServedUpToItsMark) {
  auto o = options();
  o.rate = kPieceLength;  // one piece a second
  o.lead_ms = 2000;
  SwarmFirst sf(kPieces, o);
  Peer a = join(sf), c = join(sf);
  sf.have_all(a, 0);
  // at 1 s its mark is (1 + 2) pieces: 0, 1 and 2 are served, 3 is not
  EXPECT_EQ(sf.request(c, 2, 1000), V::serve);
  EXPECT_EQ(sf.request(c, 3, 1000), V::refuse);
  sf.bitfield(c, bits({0, 1, 2}), 1000);  // at its mark: no longer behind
  EXPECT_EQ(sf.request(c, 3, 1000), V::refuse);
  EXPECT_EQ(sf.request(c, 3, 2000), V::serve);  // a second later it is behind again
}

TEST(SwarmFirst, RefusalsInQuickSuccessionChokeThePeer) {
  SwarmFirst sf(kPieces, options());
  Peer a = join(sf), c = join(sf);
  sf.have_all(a, 0);
  int refusals = 0;
  V v = V::refuse;
  while (v == V::refuse && refusals < 100) {
    v = sf.request(c, 5, 10);
    ++refusals;
  }
  EXPECT_EQ(v, V::refuse_and_choke);
  EXPECT_LT(refusals, 100);
  EXPECT_TRUE(sf.choked_by_policy(c));
  EXPECT_EQ(sf.request(c, 0, 10), V::refuse);  // sent before our choke arrived
  sf.unchoked(c);
  EXPECT_FALSE(sf.choked_by_policy(c));
}

TEST(SwarmFirst, APeerWithRequestsQueuedIsRefusedWithoutAChoke) {
  SwarmFirst sf(kPieces, options());
  Peer a = join(sf), c = join(sf);
  sf.bitfield(a, bits({5}), 0);
  EXPECT_EQ(sf.request(c, 12, 10), V::serve);
  EXPECT_EQ(sf.request(c, 12, 10), V::serve);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(sf.request(c, 5, 10), V::refuse);
  sf.dequeued(c);  // one block of 12 went out: one left, it may ask again at once
  V v = V::refuse;
  for (int i = 0; i < 100 && v == V::refuse; ++i) v = sf.request(c, 5, 10);
  EXPECT_EQ(v, V::refuse_and_choke);
}

TEST(SwarmFirst, WithoutTheFastExtensionARefusalIsAChoke) {
  SwarmFirst sf(kPieces, options());
  Peer a = join(sf), c = sf.connect(0);
  sf.have_all(a, 0);
  EXPECT_EQ(sf.request(c, 5, 10), V::refuse_and_choke);
}

TEST(SwarmFirst, TickUnchokesChokedPeersThatNeedTheSeed) {
  SwarmFirst sf(kPieces, options());
  Peer a = join(sf), c = join(sf), d = join(sf);
  sf.bitfield(a, bits({0, 1, 2, 3, 4, 5}), 0);
  sf.bitfield(c, bits({0, 1}), 0);
  sf.bitfield(d, bits({0, 1, 2}), 0);
  while (sf.request(c, 2, 10) != V::refuse_and_choke) {
  }
  while (sf.request(d, 3, 10) != V::refuse_and_choke) {
  }
  EXPECT_TRUE(sf.tick(100).empty());  // both get their next pieces from a
  sf.have(d, 3, 200);
  sf.have(d, 4, 200);  // d's next missing pieces: 5 (a has it) and 6 (nobody has it)
  auto actions = sf.tick(300);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].peer, d);
  EXPECT_TRUE(actions[0].unchoke);
  sf.unchoked(d);
  actions = sf.tick(2000);  // c starving
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].peer, c);
}

TEST(SwarmFirst, RarePiecesAreSuggestedToThePeersFurthestBehind) {
  auto o = options();
  o.spread = 2;
  SwarmFirst sf(kPieces, o);
  Peer front = join(sf), back = join(sf), slow = sf.connect(0);  // `slow` has no fast extension
  sf.interested(slow, true);
  std::vector<bool> f(kPieces, true), b(kPieces, false);
  for (uint32_t i = 10; i < kPieces; ++i) f[i] = false;
  for (uint32_t i = 0; i < 3; ++i) b[i] = true;
  sf.bitfield(front, f, 0);  // has 0..9
  sf.bitfield(back, b, 0);   // has 0..2
  auto actions = sf.tick(10);
  const auto* to_back = action_for(actions, back);
  ASSERT_NE(to_back, nullptr);
  EXPECT_EQ(to_back->suggest, (std::vector<uint32_t>{10, 11}));  // the rarest, lowest first
  const auto* to_front = action_for(actions, front);
  ASSERT_NE(to_front, nullptr);
  EXPECT_EQ(to_front->suggest, (std::vector<uint32_t>{12, 13}));
  EXPECT_EQ(action_for(actions, slow), nullptr);
  EXPECT_EQ(sf.holders(10), 1);                 // being sent to back
  EXPECT_EQ(sf.request(back, 10, 20), V::serve);  // it asks for what it was suggested
  EXPECT_TRUE(sf.tick(20).empty());  // two suggestions each are outstanding
  sf.have(back, 10, 30);
  actions = sf.tick(40);
  ASSERT_NE(action_for(actions, back), nullptr);
  EXPECT_EQ(action_for(actions, back)->suggest, (std::vector<uint32_t>{14}));
}

TEST(SwarmFirst, AGrantThatIsNeverHadExpires) {
  auto o = options();
  o.grant_ms = 1000;
  SwarmFirst sf(kPieces, o);
  Peer a = join(sf);
  EXPECT_EQ(sf.request(a, 7, 0), V::serve);
  EXPECT_EQ(sf.holders(7), 1);
  sf.tick(1000);
  EXPECT_EQ(sf.holders(7), 0);
  Peer b = join(sf, 1000);
  EXPECT_EQ(sf.request(b, 7, 1000), V::serve);
  sf.disconnect(b);
  EXPECT_EQ(sf.holders(7), 0);  // a disconnected peer's grants go with it
}

TEST(SwarmFirst, PeerSlotsAreReused) {
  SwarmFirst sf(kPieces, options());
  Peer a = join(sf);
  sf.have_all(a, 0);
  sf.disconnect(a);
  Peer b = sf.connect(0);
  EXPECT_EQ(b, a);
  EXPECT_EQ(sf.first_missing(b), 0u);
  EXPECT_EQ(sf.holders(3), 0);
  EXPECT_FALSE(sf.choked_by_policy(b));
}

}  // namespace
}  // namespace seedcast::engine
