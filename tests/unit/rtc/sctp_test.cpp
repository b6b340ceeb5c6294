// SctpAssociation (usrsctp) end to end in one process: a server and a client association wired
// through in-memory queues, pumped by the test, with usrsctp's timers driven by simulated time.
// No sockets, no sleeps.
#include "seedcast/rtc/sctp.hpp"
#include "rtc/wall_clock.hpp"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/time.h>
#include <usrsctp.h>

#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <vector>

namespace seedcast::rtc {
namespace {

using Bytes = std::vector<uint8_t>;

// One end: records what the association reports and sends its packets to the peer's inbox.
struct End : SctpAssociation::Handler {
  std::deque<Bytes>* outbox = nullptr;  // the peer's inbox
  std::unique_ptr<SctpAssociation> sctp;
  bool connected = false;
  std::optional<error_code> closed;
  struct Message {
    uint16_t stream;
    uint32_t ppid;
    Bytes bytes;
  };
  std::vector<Message> messages;
  std::vector<uint16_t> resets;
  int writable = 0;
  size_t packets = 0;
  size_t largest_packet = 0;
  size_t bad_checksums = 0;  // packets whose CRC32c a browser would refuse
  bool gone = false;         // the association was destroyed: no handler call may come
  std::function<void(const Message&)> on_message;

  void sctp_send(std::span<const uint8_t> packet) override {
    EXPECT_FALSE(gone);
    ++packets;
    largest_packet = std::max(largest_packet, packet.size());
    Bytes copy(packet.begin(), packet.end());
    uint32_t crc = 0;
    if (copy.size() >= 12) {
      std::memcpy(&crc, copy.data() + 8, 4);
      std::memset(copy.data() + 8, 0, 4);
    }
    if (copy.size() < 12 || usrsctp_crc32c(copy.data(), copy.size()) != crc) ++bad_checksums;
    outbox->emplace_back(packet.begin(), packet.end());
  }
  void sctp_connected() override {
    EXPECT_FALSE(gone);
    EXPECT_FALSE(connected);
    connected = true;
  }
  void sctp_message(uint16_t stream, uint32_t ppid, std::span<const uint8_t> message) override {
    EXPECT_FALSE(gone);
    messages.push_back({stream, ppid, Bytes(message.begin(), message.end())});
    if (on_message) on_message(messages.back());
  }
  void sctp_writable() override {
    EXPECT_FALSE(gone);
    ++writable;
  }
  void sctp_stream_reset(uint16_t stream) override {
    EXPECT_FALSE(gone);
    resets.push_back(stream);
  }
  void sctp_closed(error_code why) override {
    EXPECT_FALSE(gone);
    EXPECT_FALSE(closed) << "sctp_closed twice";
    closed = why;
  }
  void destroy() {
    sctp.reset();
    gone = true;
  }
};

// A server and a client joined by two queues. `drop` decides, per packet, whether it is lost.
struct Link {
  End server, client;
  std::deque<Bytes> to_server, to_client;
  std::function<bool(const Bytes&, bool to_server)> drop;
  size_t dropped = 0;

  explicit Link(SctpOptions server_options = {}, SctpOptions client_options = {}) {
    server.outbox = &to_client;
    client.outbox = &to_server;
    server.sctp = SctpAssociation::create(SctpAssociation::Role::server, server_options, server);
    client.sctp = SctpAssociation::create(SctpAssociation::Role::client, client_options, client);
  }

  // Delivers every packet queued now and those they cause; false when nothing was queued.
  bool deliver() {
    bool any = false;
    while (!to_server.empty() || !to_client.empty()) {
      any = true;
      for (bool server_side : {true, false}) {
        auto& queue = server_side ? to_server : to_client;
        End& end = server_side ? server : client;
        if (queue.empty()) continue;
        Bytes packet = std::move(queue.front());
        queue.pop_front();
        if (drop && drop(packet, server_side)) {
          ++dropped;
          continue;
        }
        if (end.sctp) end.sctp->receive(packet);
      }
    }
    return any;
  }
};

uint64_t g_now_ms = 0;  // simulated time: what sctp_handle_timers() was told so far

}  // namespace
}  // namespace seedcast::rtc

// usrsctp reads the wall clock (gettimeofday) beside the ticks it is given: a T3-rtx timeout
// retransmits only chunks sent at least an RTO ago by that clock, and RTTs are measured with
// it. With simulated time and no sleeps, the clock usrsctp reads is the real one plus the
// simulated time elapsed (wall_clock.hpp: usrsctp_shift_ms follows g_now_ms).

namespace seedcast::rtc {
namespace {

// Delivers packets and advances usrsctp's clock 10 ms at a time until `done` or `limit_ms`.
bool run_until(std::span<Link* const> links, const std::function<bool()>& done,
               uint64_t limit_ms = 120000) {
  for (uint64_t waited = 0;; waited += 10) {
    for (bool any = true; any;) {
      any = false;
      for (Link* link : links) any |= link->deliver();
    }
    if (done()) return true;
    if (waited >= limit_ms) return false;
    g_now_ms += 10;  // the wall clock usrsctp reads moves first, as it would
    test::usrsctp_shift_ms = g_now_ms;
    sctp_handle_timers(10);
  }
}

bool run_until(Link& link, const std::function<bool()>& done, uint64_t limit_ms = 120000) {
  Link* links[] = {&link};
  return run_until(links, done, limit_ms);
}

void connect(Link& link) {
  link.server.sctp->start();
  link.client.sctp->start();
  ASSERT_TRUE(run_until(link, [&] { return link.server.connected && link.client.connected; }));
}

Bytes pattern(size_t size, uint32_t seed) {
  std::mt19937 random(seed);
  Bytes bytes(size);
  for (auto& b : bytes) b = static_cast<uint8_t>(random());
  return bytes;
}

TEST(SctpAssociation, ConnectsBothWaysWithinTheMtu) {
  Link link;
  connect(link);
  EXPECT_FALSE(link.server.closed);
  EXPECT_FALSE(link.client.closed);
  EXPECT_LE(link.server.largest_packet, SctpOptions{}.mtu);
  EXPECT_LE(link.client.largest_packet, SctpOptions{}.mtu);
  EXPECT_EQ(link.server.sctp->buffered(), 0u);
  EXPECT_EQ(link.server.bad_checksums + link.client.bad_checksums, 0u);
}

TEST(SctpAssociation, ServerThatOnlyReceivesAnswersTheClientsInit) {
  Link link;
  link.client.sctp->start();  // the server is started by the first packet it receives
  ASSERT_TRUE(run_until(link, [&] { return link.server.connected && link.client.connected; }));
  Bytes hello = {'h', 'i'};
  ASSERT_TRUE(link.server.sctp->send(1, 51, hello));
  ASSERT_TRUE(run_until(link, [&] { return link.client.messages.size() == 1; }));
  EXPECT_EQ(link.client.messages[0].bytes, hello);
}

TEST(SctpAssociation, SendsEverySizeBothWaysOnSeveralStreamsInOrder) {
  SctpOptions options;  // max_message_size 262144
  Link link(options, options);
  connect(link);
  const size_t sizes[] = {1, 16 << 10, 65536, 262144};
  const uint16_t streams[] = {0, 1, 7, 63};
  const uint32_t ppids[] = {50, 51, 53, 0xdeadbeef};  // the last one checks byte order
  std::vector<End::Message> sent[2];
  uint32_t seed = 1;
  for (int side = 0; side < 2; ++side) {
    End& from = side == 0 ? link.client : link.server;
    for (size_t s : sizes)
      for (size_t i = 0; i < 4; ++i) {
        End::Message m{streams[i], ppids[(i + s) % 4], pattern(s, seed++)};
        ASSERT_TRUE(from.sctp->send(m.stream, m.ppid, m.bytes)) << s;
        sent[side].push_back(std::move(m));
        // Keep within the send buffer: let the peer acknowledge before the next batch.
        if (from.sctp->buffered() > (512u << 10)) {
          ASSERT_TRUE(run_until(link, [&] { return from.sctp->buffered() == 0; }));
        }
      }
  }
  ASSERT_TRUE(run_until(link, [&] {
    return link.server.messages.size() == sent[0].size() &&
           link.client.messages.size() == sent[1].size();
  }));
  for (int side = 0; side < 2; ++side) {
    const auto& got = side == 0 ? link.server.messages : link.client.messages;
    // In order per stream (each stream's messages were sent in this order).
    for (uint16_t stream : streams) {
      std::vector<const End::Message*> want, have;
      for (const auto& m : sent[side])
        if (m.stream == stream) want.push_back(&m);
      for (const auto& m : got)
        if (m.stream == stream) have.push_back(&m);
      ASSERT_EQ(want.size(), have.size());
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(have[i]->ppid, want[i]->ppid);
        EXPECT_TRUE(have[i]->bytes == want[i]->bytes) << "stream " << stream << " #" << i;
      }
    }
  }
  EXPECT_LE(link.server.largest_packet, options.mtu);
  EXPECT_LE(link.client.largest_packet, options.mtu);
  EXPECT_EQ(link.server.bad_checksums + link.client.bad_checksums, 0u);
}

TEST(SctpAssociation, UnorderedMessagesArrive) {
  Link link;
  connect(link);
  for (uint32_t i = 0; i < 20; ++i) {
    ASSERT_TRUE(link.server.sctp->send(3, 53, pattern(3000, i), false));
  }
  ASSERT_TRUE(run_until(link, [&] { return link.client.messages.size() == 20; }));
  for (const auto& m : link.client.messages) {
    EXPECT_EQ(m.stream, 3);
    EXPECT_EQ(m.bytes.size(), 3000u);
  }
}

TEST(SctpAssociation, ThousandMessagesWithBackPressureLoseNothing) {
  SctpOptions options;
  options.send_buffer = 64 << 10;
  options.low_water = 16 << 10;
  Link link(options, options);
  connect(link);
  constexpr uint32_t kCount = 1000;
  int refusals = 0;
  uint32_t next = 0;
  auto message = [](uint32_t i) {
    Bytes b = pattern(100 + (i * 37) % 3000, i);
    std::memcpy(b.data(), &i, sizeof i);
    return b;
  };
  while (next < kCount) {
    if (link.server.sctp->send(1, 53, message(next))) {
      ++next;
      continue;
    }
    ++refusals;
    int before = link.server.writable;
    ASSERT_TRUE(run_until(link, [&] { return link.server.writable > before; }))
        << "no sctp_writable after a refusal at message " << next;
    EXPECT_LE(link.server.sctp->buffered(), options.low_water);
  }
  EXPECT_GT(refusals, 0);
  ASSERT_TRUE(run_until(link, [&] { return link.client.messages.size() == kCount; }));
  for (uint32_t i = 0; i < kCount; ++i) {
    ASSERT_EQ(link.client.messages[i].bytes, message(i)) << i;
    EXPECT_EQ(link.client.messages[i].stream, 1);
  }
}

TEST(SctpAssociation, ManySmallMessagesAreCappedByCount) {
  SctpOptions options;
  options.send_buffer = 16 << 10;
  options.low_water = 4 << 10;
  Link link(options, options);
  connect(link);
  uint32_t next = 0;
  int refusals = 0;
  while (next < 3000) {
    Bytes b(4);
    std::memcpy(b.data(), &next, 4);
    if (link.client.sctp->send(0, 53, b)) {
      ++next;
      continue;
    }
    ++refusals;
    // 16 KiB of 4-byte messages would be 4096 messages and 1.6 MB of usrsctp's bookkeeping:
    // the count is capped (256 here) and then waits for the queue to drain.
    if (refusals == 1) {
      EXPECT_EQ(next, 256u);
    }
    EXPECT_LT(link.client.sctp->buffered(), options.send_buffer);
    int before = link.client.writable;
    ASSERT_TRUE(run_until(link, [&] { return link.client.writable > before; }));
  }
  EXPECT_GT(refusals, 0);
  ASSERT_TRUE(run_until(link, [&] { return link.server.messages.size() == 3000; }));
  for (uint32_t i = 0; i < 3000; ++i) {
    uint32_t got;
    std::memcpy(&got, link.server.messages[i].bytes.data(), 4);
    ASSERT_EQ(got, i);
  }
}

TEST(SctpAssociation, RefusesWhatCannotBeSent) {
  SctpOptions options;
  options.streams = 16;
  options.max_message_size = 65536;
  Link link(options, options);
  Bytes one = {1};
  EXPECT_FALSE(link.client.sctp->send(0, 51, one));  // not up yet
  connect(link);
  EXPECT_FALSE(link.client.sctp->send(0, 51, Bytes(65537)));  // over max_message_size
  EXPECT_TRUE(link.client.sctp->send(0, 51, Bytes(65536, 7)));
  EXPECT_FALSE(link.client.sctp->send(0, 51, Bytes{}));  // empty
  EXPECT_FALSE(link.client.sctp->send(16, 51, one));     // stream not negotiated
  EXPECT_TRUE(link.client.sctp->send(15, 51, one));
  ASSERT_TRUE(run_until(link, [&] { return link.server.messages.size() == 2; }));
}

TEST(SctpAssociation, PeerMessageOverTheLimitIsNotDeliveredAndAborts) {
  SctpOptions small;
  small.max_message_size = 65536;
  SctpOptions large;
  large.max_message_size = 262144;
  Link link(small, large);
  connect(link);
  EXPECT_FALSE(link.server.sctp->send(0, 53, Bytes(65537)));      // refused by the sender itself
  ASSERT_TRUE(link.client.sctp->send(0, 53, pattern(65536, 1)));  // at the limit: fine
  ASSERT_TRUE(link.client.sctp->send(0, 53, pattern(200000, 2)));  // over the server's limit
  ASSERT_TRUE(run_until(link, [&] { return link.server.closed && link.client.closed; }));
  ASSERT_EQ(link.server.messages.size(), 1u);
  EXPECT_EQ(link.server.messages[0].bytes.size(), 65536u);
  EXPECT_EQ(*link.server.closed, make_error(errc::sctp_failed));
  EXPECT_EQ(*link.client.closed, make_error(errc::sctp_failed));  // the server's ABORT
  EXPECT_FALSE(link.server.sctp->send(0, 53, Bytes{1}));
}

TEST(SctpAssociation, StreamResetReachesThePeerBothWays) {
  Link link;
  connect(link);
  ASSERT_TRUE(link.client.sctp->send(2, 51, Bytes{'a'}));
  link.client.sctp->reset_stream(2);  // the channel on stream 2 closes after its message
  ASSERT_TRUE(run_until(link, [&] { return !link.server.resets.empty(); }));
  EXPECT_EQ(link.server.resets, std::vector<uint16_t>{2});
  ASSERT_EQ(link.server.messages.size(), 1u);  // sent before the reset, delivered before it
  link.server.sctp->reset_stream(2);           // RFC 8831 §6.7: the other direction too
  ASSERT_TRUE(run_until(link, [&] { return !link.client.resets.empty(); }));
  EXPECT_EQ(link.client.resets, std::vector<uint16_t>{2});
  // The stream can carry a new channel afterwards.
  ASSERT_TRUE(link.client.sctp->send(2, 50, Bytes{3, 0, 0, 0}));
  ASSERT_TRUE(run_until(link, [&] { return link.server.messages.size() == 2; }));
  EXPECT_EQ(link.server.messages[1].ppid, 50u);
  // Two resets in a row: usrsctp sends the second once the first is answered.
  link.server.sctp->reset_stream(4);
  link.server.sctp->reset_stream(5);
  ASSERT_TRUE(run_until(link, [&] { return link.client.resets.size() == 3; }));
  EXPECT_EQ(link.client.resets[1], 4);
  EXPECT_EQ(link.client.resets[2], 5);
  EXPECT_FALSE(link.client.closed);
  EXPECT_FALSE(link.server.closed);
}

TEST(SctpAssociation, LossIsRecoveredByTimerDrivenRetransmission) {
  Link link;
  // The first INIT each way is lost: only the T1-init timer brings the association up.
  int inits = 0;
  link.drop = [&](const Bytes& p, bool) { return p.size() > 12 && p[12] == 1 && inits++ < 2; };
  uint64_t start = g_now_ms;
  connect(link);
  EXPECT_GE(g_now_ms - start, 1000u);  // the initial RTO
  EXPECT_EQ(link.dropped, 2u);

  // One message whose only DATA packet is lost: no later packet can trigger a fast
  // retransmission, so only the T3-rtx timer recovers it, after the RTO.
  link.drop = [&](const Bytes& p, bool to_server) {
    return to_server && p.size() > 12 && p[12] == 0 && link.dropped < 3;
  };
  Bytes lone = pattern(500, 9);
  ASSERT_TRUE(link.client.sctp->send(0, 53, lone));
  link.deliver();
  EXPECT_EQ(link.dropped, 3u);
  EXPECT_TRUE(link.server.messages.empty());
  start = g_now_ms;
  ASSERT_TRUE(run_until(link, [&] { return link.server.messages.size() == 1; }));
  EXPECT_GE(g_now_ms - start, 400u);  // at least the minimum RTO
  EXPECT_EQ(link.server.messages[0].bytes, lone);

  // Bulk with every 7th packet lost each way, SACKs included.
  size_t n = 0;
  link.drop = [&](const Bytes&, bool) { return ++n % 7 == 0; };
  std::vector<Bytes> sent;
  for (uint32_t i = 0; i < 40; ++i) {
    sent.push_back(pattern(10000 + i, 100 + i));
    ASSERT_TRUE(link.client.sctp->send(1, 53, sent.back()));
  }
  ASSERT_TRUE(run_until(link, [&] { return link.server.messages.size() == 41; }));
  for (size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(link.server.messages[i + 1].bytes, sent[i]);
  EXPECT_GT(link.dropped, 10u);
  EXPECT_FALSE(link.client.closed);
  EXPECT_FALSE(link.server.closed);
}

TEST(SctpAssociation, CloseEndsThePeerWithClosed) {
  Link link;
  connect(link);
  ASSERT_TRUE(link.client.sctp->send(0, 51, Bytes{'x'}));
  link.client.sctp->close();
  EXPECT_FALSE(link.client.sctp->send(0, 51, Bytes{'y'}));
  ASSERT_TRUE(run_until(link, [&] { return link.server.closed.has_value(); }));
  EXPECT_EQ(*link.server.closed, make_error(errc::closed));
  ASSERT_EQ(link.server.messages.size(), 1u);  // what was queued before close() arrived
  // The shutdown completes; close() is never answered with sctp_closed.
  run_until(link, [] { return false; }, 5000);
  EXPECT_FALSE(link.client.closed);
  EXPECT_FALSE(link.server.sctp->send(0, 51, Bytes{'z'}));
}

TEST(SctpAssociation, SilentPeerFailsTheAssociation) {
  Link link;
  connect(link);
  link.drop = [](const Bytes&, bool to_server) { return !to_server; };  // the client goes deaf
  ASSERT_TRUE(link.server.sctp->send(0, 53, Bytes(100, 1)));
  ASSERT_TRUE(run_until(link, [&] { return link.server.closed.has_value(); }, 600000));
  EXPECT_EQ(*link.server.closed, make_error(errc::sctp_failed));
}

TEST(SctpAssociation, GarbageIsHarmless) {
  Link link;
  connect(link);
  std::mt19937 random(42);
  for (int i = 0; i < 2000; ++i) {
    Bytes junk = pattern(random() % 1500, random());
    if (i % 2 == 1 && junk.size() >= 12) {  // the right ports, so it reaches the association
      junk[0] = 0x13, junk[1] = 0x88, junk[2] = 0x13, junk[3] = 0x88;
    }
    link.server.sctp->receive(junk);
    if (i % 100 == 0) sctp_handle_timers(10);
  }
  link.server.sctp->receive({});
  // An INIT with a zero-length parameter: Debian's usrsctp 0.9.5.0 loops for ever on it when
  // an association exists (sctplab/usrsctp#570), so it must not reach usrsctp.
  // clang-format off
  const Bytes init = {
      0x13, 0x88, 0x13, 0x88, 0, 0, 0, 0, 0, 0, 0, 0,  // ports 5000, tag 0, CRC (unchecked)
      1, 0, 0, 24,                                     // INIT, 24 bytes
      1, 2, 3, 4, 0, 1, 0, 0,                          // initiate tag, a_rwnd
      0, 8, 0, 8, 9, 9, 9, 9,                          // streams out and in, initial TSN
      0x80, 0, 0, 0};                                  // a parameter of length 0
  // clang-format on
  link.server.sctp->receive(init);
  link.to_client.clear();  // whatever it answered to the junk
  ASSERT_TRUE(link.client.sctp->send(0, 51, Bytes{'o', 'k'}));
  ASSERT_TRUE(run_until(link, [&] { return link.server.messages.size() == 1; }));
  EXPECT_FALSE(link.server.closed);
}

TEST(SctpAssociation, DestructionIsSafeAtAnyPoint) {
  {  // before start, and while the peer still has packets for it
    Link link;
    link.server.destroy();
    link.client.sctp->start();
    run_until(link, [] { return false; }, 3000);
    EXPECT_FALSE(link.client.connected);
  }
  {  // up, with data in flight both ways
    Link link;
    connect(link);
    ASSERT_TRUE(link.client.sctp->send(0, 53, Bytes(100000, 1)));
    ASSERT_TRUE(link.server.sctp->send(0, 53, Bytes(100000, 2)));
    link.client.destroy();
    run_until(link, [&] { return link.server.closed.has_value(); }, 600000);
    EXPECT_EQ(*link.server.closed, make_error(errc::sctp_failed));
  }
  {  // from inside a handler call, which the contract forbids: still no crash
    Link link;
    connect(link);
    link.server.on_message = [&](const End::Message&) { link.server.destroy(); };
    ASSERT_TRUE(link.client.sctp->send(0, 51, Bytes{1}));
    ASSERT_TRUE(link.client.sctp->send(0, 51, Bytes{2}));
    run_until(link, [&] { return link.server.gone; });
    EXPECT_EQ(link.server.messages.size(), 1u);
  }
  sctp_handle_timers(10);
}

TEST(SctpAssociation, HandlerMaySendAndCloseFromItsCalls) {
  Link link;
  connect(link);
  // An echo server: it answers every message from inside sctp_message, and closes on "bye".
  link.server.on_message = [&](const End::Message& m) {
    if (m.bytes == Bytes{'b', 'y', 'e'}) {
      link.server.sctp->close();
      return;
    }
    EXPECT_TRUE(link.server.sctp->send(m.stream, m.ppid, m.bytes));
  };
  for (uint8_t i = 0; i < 10; ++i) ASSERT_TRUE(link.client.sctp->send(i, 53, Bytes(i + 1, i)));
  ASSERT_TRUE(run_until(link, [&] { return link.client.messages.size() == 10; }));
  ASSERT_TRUE(link.client.sctp->send(0, 51, Bytes{'b', 'y', 'e'}));
  ASSERT_TRUE(run_until(link, [&] { return link.client.closed.has_value(); }));
  EXPECT_EQ(*link.client.closed, make_error(errc::closed));
  EXPECT_FALSE(link.server.closed);
}

size_t heap_in_use() { return mallinfo2().uordblks; }

// 100 associations at once, each pair exchanging a message; prints the heap used per
// association (server and client alike) for two stream counts.
TEST(SctpAssociation, HundredAssociationsAtOnce) {
  for (uint16_t streams : {uint16_t{256}, uint16_t{64}}) {
    SctpOptions options;
    options.streams = streams;
    sctp_handle_timers(10);
    size_t before = heap_in_use();
    std::vector<std::unique_ptr<Link>> links;
    for (int i = 0; i < 50; ++i) links.push_back(std::make_unique<Link>(options, options));
    std::vector<Link*> all;
    for (auto& l : links) {
      all.push_back(l.get());
      l->server.sctp->start();
      l->client.sctp->start();
    }
    ASSERT_TRUE(run_until(all, [&] {
      for (auto* l : all)
        if (!l->server.connected || !l->client.connected) return false;
      return true;
    }));
    for (size_t i = 0; i < all.size(); ++i) {
      ASSERT_TRUE(all[i]->client.sctp->send(1, 53, pattern(1000, i)));
      ASSERT_TRUE(all[i]->server.sctp->send(1, 53, pattern(1000, i + 1000)));
    }
    ASSERT_TRUE(run_until(all, [&] {
      for (auto* l : all)
        if (l->server.messages.size() != 1 || l->client.messages.size() != 1) return false;
      return true;
    }));
    for (size_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ(all[i]->server.messages[0].bytes, pattern(1000, i));
      EXPECT_EQ(all[i]->client.messages[0].bytes, pattern(1000, i + 1000));
    }
    run_until(all, [] { return false; }, 1000);  // acknowledged, idle
    size_t after = heap_in_use();
    if (after > before)  // mallinfo2 sees nothing under ASan
      std::printf("[ sctp     ] %u streams: %zu bytes of heap per association (100 up, idle)\n",
                  streams, (after - before) / 100);
    links.clear();
    run_until(std::span<Link* const>{}, [] { return false; }, 1000);
  }
}

}  // namespace
}  // namespace seedcast::rtc
