#include "seedcast/rtc/dtls.hpp"
#include "rtc/wall_clock.hpp"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/time.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <vector>

// OpenSSL 3.0 runs the DTLS retransmission timer on gettimeofday() and offers no way to pass it
// another clock: FakeClock freezes the wall clock this binary gives libraries (wall_clock.hpp)
// and moves it only when told.
namespace seedcast::rtc {
namespace {

class FakeClock {
 public:
  FakeClock() {
    test::wall_clock_frozen_us = test::real_now_us();
    test::wall_clock_frozen = true;
  }
  ~FakeClock() { test::wall_clock_frozen = false; }
  void advance_ms(int64_t ms) { test::wall_clock_frozen_us += ms * 1000; }
};

using Bytes = std::vector<uint8_t>;

// One side of a connection: records what its transport hands the handler.
struct Peer : DtlsTransport::Handler {
  std::deque<Bytes> out;    // datagrams not yet delivered to the other side
  std::vector<Bytes> sent;  // every datagram ever sent
  size_t batches = 0;       // deliveries of `out` so far: a flight or a retransmission each
  std::vector<Bytes> data;
  int connected = 0;
  std::vector<error_code> closed;
  std::unique_ptr<DtlsTransport> t;
  // Optional behaviour, for the re-entrancy tests.
  std::function<void()> on_connected;
  std::function<void(std::span<const uint8_t>)> on_data;
  std::function<void(std::span<const uint8_t>)> on_send;

  void dtls_send(std::span<const uint8_t> d) override {
    out.emplace_back(d.begin(), d.end());
    sent.emplace_back(d.begin(), d.end());
    if (on_send) on_send(d);
  }
  void dtls_data(std::span<const uint8_t> d) override {
    data.emplace_back(d.begin(), d.end());
    if (on_data) on_data(d);
  }
  void dtls_connected() override {
    ++connected;
    if (on_connected) on_connected();
  }
  void dtls_closed(error_code why) override { closed.push_back(why); }

  size_t largest_datagram() const {
    size_t n = 0;
    for (const auto& d : sent) n = std::max(n, d.size());
    return n;
  }
};

const std::shared_ptr<const Certificate>& server_cert() {
  static const auto c = Certificate::generate();
  return c;
}
const std::shared_ptr<const Certificate>& client_cert() {
  static const auto c = Certificate::generate();
  return c;
}

struct Pair {
  Peer server, client;
  explicit Pair(size_t mtu = 1200,
                std::optional<std::array<uint8_t, 32>> server_expects = std::nullopt,
                std::optional<std::array<uint8_t, 32>> client_expects = std::nullopt) {
    server.t = std::make_unique<DtlsTransport>(
        DtlsTransport::Role::server, server_cert(),
        server_expects.value_or(client_cert()->fingerprint()), server, mtu);
    client.t = std::make_unique<DtlsTransport>(
        DtlsTransport::Role::client, client_cert(),
        client_expects.value_or(server_cert()->fingerprint()), client, mtu);
  }

  // Delivers queued datagrams both ways until neither side has any. `drop(from, batch)` loses
  // a batch: what one side sent since its last delivery (a flight, or its retransmission).
  using Drop = std::function<bool(const Peer&, size_t)>;
  void pump(const Drop& drop = {}) {
    for (int round = 0; round < 1000 && (!server.out.empty() || !client.out.empty()); ++round) {
      deliver(client, server, drop);
      deliver(server, client, drop);
    }
  }
  static void deliver(Peer& from, Peer& to, const Drop& drop) {
    if (from.out.empty()) return;
    std::deque<Bytes> batch = std::move(from.out);
    from.out.clear();
    if (drop && drop(from, from.batches++)) return;
    for (const Bytes& d : batch) to.t->receive(d);
  }

  void connect() {
    client.t->start();
    server.t->start();
    pump();
  }
};

Bytes random_bytes(std::mt19937& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

TEST(RtcCert, FingerprintsAreDistinctAndNotEmpty) {
  auto a = Certificate::generate();
  auto b = Certificate::generate();
  EXPECT_NE(a->fingerprint(), b->fingerprint());
  EXPECT_NE(a->fingerprint(), (std::array<uint8_t, 32>{}));
  // That the fingerprint is the presented certificate's SHA-256 is what every handshake below
  // checks: each side expects the other's Certificate::fingerprint().
}

TEST(DtlsTransport, HandshakeVerifiesBothFingerprints) {
  Pair p;
  EXPECT_FALSE(p.server.t->connected());
  EXPECT_EQ(p.server.t->max_data(), 0u);
  p.client.t->start();
  ASSERT_EQ(p.client.out.size(), 1u);      // the ClientHello
  EXPECT_EQ(p.client.out.front()[0], 22);  // a handshake record
  p.pump();
  EXPECT_EQ(p.server.connected, 1);
  EXPECT_EQ(p.client.connected, 1);
  EXPECT_TRUE(p.server.t->connected());
  EXPECT_TRUE(p.client.t->connected());
  EXPECT_TRUE(p.server.closed.empty());
  EXPECT_TRUE(p.client.closed.empty());
  // AES-128-GCM: 13 bytes of header, 8 of explicit nonce, 16 of tag.
  EXPECT_EQ(p.server.t->max_data(), 1200u - 37);
  EXPECT_EQ(p.client.t->max_data(), 1200u - 37);
  EXPECT_FALSE(p.server.t->timeout_ms());  // nothing left to retransmit
  EXPECT_FALSE(p.client.t->timeout_ms());
}

TEST(DtlsTransport, DataBothWaysIsByteIdentical) {
  Pair p;
  p.connect();
  ASSERT_TRUE(p.server.t->connected() && p.client.t->connected());
  std::mt19937 rng(7);
  std::vector<Bytes> to_server, to_client;
  size_t max = p.client.t->max_data();
  for (size_t i = 0; i < 300; ++i) {
    size_t n = i < 3 ? std::array<size_t, 3>{1, max, 2}[i] : 1 + rng() % max;
    to_server.push_back(random_bytes(rng, n));
    to_client.push_back(random_bytes(rng, 1 + rng() % max));
    ASSERT_TRUE(p.client.t->send(to_server.back()));
    ASSERT_TRUE(p.server.t->send(to_client.back()));
  }
  p.pump();
  EXPECT_EQ(p.server.data, to_server);
  EXPECT_EQ(p.client.data, to_client);
  EXPECT_LE(p.client.largest_datagram(), 1200u);
  EXPECT_LE(p.server.largest_datagram(), 1200u);
  // One record, one datagram: 300 after the handshake's.
  EXPECT_GE(p.client.sent.size(), 300u);
}

TEST(DtlsTransport, EmptyAndOversizedSends) {
  Pair p;
  Bytes one{42};
  EXPECT_FALSE(p.client.t->send(one));  // not connected yet
  p.connect();
  size_t before = p.client.sent.size();
  EXPECT_TRUE(p.client.t->send({}));  // nothing to send, and nothing sent
  EXPECT_EQ(p.client.sent.size(), before);
  Bytes too_big(p.client.t->max_data() + 1, 1);
  EXPECT_FALSE(p.client.t->send(too_big));
  EXPECT_EQ(p.client.sent.size(), before);
  EXPECT_TRUE(p.client.t->connected());  // refused, not failed
  EXPECT_TRUE(p.client.t->send(one));
  p.pump();
  ASSERT_EQ(p.server.data.size(), 1u);  // the empty send delivered nothing
  EXPECT_EQ(p.server.data[0], one);
}

// A plain OpenSSL DTLS client over memory BIOs, configured apart from dtls.cpp: an independent
// peer, which can also forge what OpenSSL never sends, an empty application-data record (with
// its own AES-128-GCM keys, derived from the session as RFC 5246 §6.3 says).
struct RawClient {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  BIO* in = nullptr;   // what the server sends
  BIO* out = nullptr;  // what this client sends
  std::array<uint8_t, 32> fingerprint{};

  RawClient() {
    key = EVP_EC_gen("P-256");
    cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("raw"), -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    X509_set_pubkey(cert, key);
    X509_sign(cert, key, EVP_sha256());
    unsigned n = 0;
    X509_digest(cert, EVP_sha256(), fingerprint.data(), &n);
    ctx = SSL_CTX_new(DTLS_method());
    SSL_CTX_use_certificate(ctx, cert);
    SSL_CTX_use_PrivateKey(ctx, key);
    SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
    ssl = SSL_new(ctx);
    in = BIO_new(BIO_s_mem());
    out = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(in, -1);
    SSL_set_bio(ssl, in, out);
    SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
    SSL_set_mtu(ssl, 1200);
    SSL_set_connect_state(ssl);
  }
  ~RawClient() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  // Everything written since the last call, as one datagram (records are self-delimiting).
  std::vector<uint8_t> take() {
    std::vector<uint8_t> d(BIO_ctrl_pending(out));
    if (!d.empty()) BIO_read(out, d.data(), static_cast<int>(d.size()));
    return d;
  }
  void give(std::span<const uint8_t> d) { BIO_write(in, d.data(), static_cast<int>(d.size())); }

  // An application-data record of epoch 1 with no data, sequence number `seq`.
  std::vector<uint8_t> empty_record(uint64_t seq) {
    unsigned char master[48], cr[32], sr[32];
    size_t mlen = SSL_SESSION_get_master_key(SSL_get_session(ssl), master, sizeof master);
    SSL_get_client_random(ssl, cr, sizeof cr);
    SSL_get_server_random(ssl, sr, sizeof sr);
    std::vector<unsigned char> seed{'k', 'e', 'y', ' ', 'e', 'x', 'p',
                                    'a', 'n', 's', 'i', 'o', 'n'};
    seed.insert(seed.end(), sr, sr + 32);
    seed.insert(seed.end(), cr, cr + 32);
    unsigned char block[40];  // client key, server key, client IV, server IV
    EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "TLS1-PRF", nullptr);
    EVP_KDF_CTX* kctx = EVP_KDF_CTX_new(kdf);
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, master, mlen),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed.data(), seed.size()),
        OSSL_PARAM_construct_end()};
    EVP_KDF_derive(kctx, block, sizeof block, params);
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    uint8_t seq8[8] = {0, 1};  // epoch 1, then the 48-bit sequence number
    for (int i = 0; i < 6; ++i) seq8[2 + i] = static_cast<uint8_t>(seq >> (8 * (5 - i)));
    unsigned char nonce[12];
    std::memcpy(nonce, block + 32, 4);
    std::memcpy(nonce + 4, seq8, 8);  // explicit nonce: the sequence number, as OpenSSL does
    unsigned char aad[13];
    std::memcpy(aad, seq8, 8);
    aad[8] = 23;
    aad[9] = 0xfe;
    aad[10] = 0xfd;
    aad[11] = aad[12] = 0;  // plaintext length 0
    unsigned char tag[16];
    EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
    int len = 0;
    EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), nullptr, nullptr, nullptr);
    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr);
    EVP_EncryptInit_ex(c, nullptr, nullptr, block, nonce);
    EVP_EncryptUpdate(c, nullptr, &len, aad, sizeof aad);
    EVP_EncryptFinal_ex(c, nullptr, &len);
    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
    EVP_CIPHER_CTX_free(c);
    std::vector<uint8_t> r{23, 0xfe, 0xfd};
    r.insert(r.end(), seq8, seq8 + 8);
    r.push_back(0);
    r.push_back(24);  // explicit nonce and tag
    r.insert(r.end(), seq8, seq8 + 8);
    r.insert(r.end(), tag, tag + 16);
    return r;
  }
};

TEST(DtlsTransport, EmptyRecordFromThePeerDeliversNothing) {
  RawClient raw;
  Peer server;
  server.t = std::make_unique<DtlsTransport>(DtlsTransport::Role::server, server_cert(),
                                             raw.fingerprint, server);
  for (int i = 0; i < 10 && !(server.connected && SSL_is_init_finished(raw.ssl)); ++i) {
    SSL_do_handshake(raw.ssl);
    if (Bytes d = raw.take(); !d.empty()) server.t->receive(d);
    for (const Bytes& d : server.out) raw.give(d);
    server.out.clear();
  }
  ASSERT_EQ(server.connected, 1);
  ASSERT_TRUE(SSL_is_init_finished(raw.ssl));
  ASSERT_EQ(SSL_write(raw.ssl, "one", 3), 3);
  server.t->receive(raw.take());
  server.t->receive(raw.empty_record(50));  // a valid record with nothing in it
  Bytes forged = raw.empty_record(51);
  forged.back() ^= 1;  // fails authentication: dropped
  server.t->receive(forged);
  ASSERT_EQ(SSL_write(raw.ssl, "two", 3), 3);
  server.t->receive(raw.take());
  std::vector<Bytes> expected{{'o', 'n', 'e'}, {'t', 'w', 'o'}};
  EXPECT_EQ(server.data, expected);
  EXPECT_TRUE(server.t->connected());
  EXPECT_TRUE(server.closed.empty());
}

TEST(DtlsTransport, ClientWithAnotherCertificateIsRefused) {
  std::array<uint8_t, 32> other = client_cert()->fingerprint();
  other[5] ^= 1;
  Pair p(1200, other);
  p.connect();
  EXPECT_EQ(p.server.connected, 0);
  EXPECT_EQ(p.client.connected, 0);
  ASSERT_EQ(p.server.closed.size(), 1u);
  EXPECT_EQ(p.server.closed[0], make_error(errc::bad_fingerprint));
  ASSERT_EQ(p.client.closed.size(), 1u);  // the server's bad_certificate alert
  EXPECT_EQ(p.client.closed[0], make_error(errc::dtls_failed));
  EXPECT_TRUE(p.server.t->closed());
  EXPECT_FALSE(p.server.t->timeout_ms());
  Bytes one{1};
  EXPECT_FALSE(p.server.t->send(one));
}

TEST(DtlsTransport, ServerWithAnotherCertificateIsRefusedByTheClient) {
  Pair p(1200, std::nullopt, std::array<uint8_t, 32>{});
  p.connect();
  EXPECT_EQ(p.server.connected, 0);
  EXPECT_EQ(p.client.connected, 0);
  ASSERT_EQ(p.client.closed.size(), 1u);
  EXPECT_EQ(p.client.closed[0], make_error(errc::bad_fingerprint));
  ASSERT_EQ(p.server.closed.size(), 1u);
  EXPECT_EQ(p.server.closed[0], make_error(errc::dtls_failed));
}

// Drives both timers with a frozen clock until the pair connects (or `limit` timer rounds).
void run_timers(Pair& p, FakeClock& clock, const Pair::Drop& drop, int limit = 40) {
  for (int i = 0; i < limit && !(p.server.t->connected() && p.client.t->connected()); ++i) {
    auto a = p.server.t->timeout_ms();
    auto b = p.client.t->timeout_ms();
    if (!a && !b) break;
    clock.advance_ms(std::min(a.value_or(INT64_MAX), b.value_or(INT64_MAX)));
    p.server.t->on_timer();
    p.client.t->on_timer();
    p.pump(drop);
  }
}

TEST(DtlsTransport, LostFlightsAreResentOnTimer) {
  FakeClock clock;
  Pair p;
  // Every flight is lost once: the ClientHello, the server's first flight, the client's second
  // one (certificate to Finished) and the server's Finished.
  auto drop = [](const Peer&, size_t batch) { return batch == 0 || batch == 2; };
  p.client.t->start();
  ASSERT_EQ(p.client.t->timeout_ms(), 400);
  p.pump(drop);
  EXPECT_TRUE(p.server.sent.empty());
  clock.advance_ms(100);
  p.client.t->on_timer();  // early: nothing
  EXPECT_EQ(p.client.sent.size(), 1u);
  EXPECT_EQ(p.client.t->timeout_ms(), 300);
  clock.advance_ms(300);
  p.client.t->on_timer();
  ASSERT_EQ(p.client.sent.size(), 2u);  // the ClientHello again
  EXPECT_EQ(p.client.sent[0].size(), p.client.sent[1].size());
  EXPECT_EQ(p.client.t->timeout_ms(), 800);  // doubled
  p.pump(drop);
  run_timers(p, clock, drop);
  EXPECT_EQ(p.server.connected, 1);
  EXPECT_EQ(p.client.connected, 1);
  EXPECT_GE(p.server.batches, 4u);
  EXPECT_GE(p.client.batches, 4u);
  Bytes hello{'h', 'i'};
  ASSERT_TRUE(p.client.t->send(hello));
  p.pump();
  ASSERT_EQ(p.server.data.size(), 1u);
  EXPECT_EQ(p.server.data[0], hello);
}

TEST(DtlsTransport, LostServerFinishedIsResentWhenTheClientRetransmits) {
  FakeClock clock;
  Pair p;
  // The server's last flight (its second batch) is lost; the server is connected by then and
  // runs no timer: the client's retransmitted Finished makes it resend.
  auto drop = [&](const Peer& from, size_t batch) { return &from == &p.server && batch == 1; };
  p.client.t->start();
  p.pump(drop);
  EXPECT_TRUE(p.server.t->connected());
  EXPECT_FALSE(p.client.t->connected());
  EXPECT_FALSE(p.server.t->timeout_ms());
  run_timers(p, clock, drop);
  EXPECT_TRUE(p.client.t->connected());
  EXPECT_EQ(p.server.connected, 1);  // once
  EXPECT_EQ(p.client.connected, 1);
}

TEST(DtlsTransport, HandshakeFailsAfterItsRetransmissions) {
  FakeClock clock;
  Peer alone;
  alone.t = std::make_unique<DtlsTransport>(DtlsTransport::Role::client, client_cert(),
                                            server_cert()->fingerprint(), alone);
  alone.t->start();
  std::vector<int64_t> delays;
  while (auto ms = alone.t->timeout_ms()) {
    delays.push_back(*ms);
    clock.advance_ms(*ms);
    alone.t->on_timer();
    ASSERT_LT(delays.size(), 20u);
  }
  std::vector<int64_t> expected{400,  800,  1600, 3200, 3200, 3200, 3200,
                                3200, 3200, 3200, 3200, 3200, 3200};
  EXPECT_EQ(delays, expected);
  ASSERT_EQ(alone.closed.size(), 1u);
  EXPECT_EQ(alone.closed[0], make_error(errc::dtls_failed));
  EXPECT_EQ(alone.sent.size(), 13u);  // the ClientHello and 12 retransmissions
  EXPECT_TRUE(alone.t->closed());
}

TEST(DtlsTransport, GarbageAndTruncatedRecordsAreHarmless) {
  std::mt19937 rng(11);
  Pair p;
  // Garbage before the handshake: random bytes behind each record type's first byte.
  for (int i = 0; i < 200; ++i) {
    Bytes g = random_bytes(rng, rng() % 300);
    if (!g.empty() && i % 2) g[0] = static_cast<uint8_t>(20 + rng() % 4);
    p.server.t->receive(g);
  }
  EXPECT_FALSE(p.server.t->closed());
  // During the handshake every datagram arrives cut short first (records whose length runs
  // past the datagram), then whole.
  p.client.t->start();
  for (int round = 0; round < 100 && (!p.server.out.empty() || !p.client.out.empty()); ++round) {
    for (Peer* from : {&p.client, &p.server}) {
      Peer& to = from == &p.client ? p.server : p.client;
      while (!from->out.empty()) {
        Bytes d = std::move(from->out.front());
        from->out.pop_front();
        for (size_t cut : {size_t{1}, size_t{13}, d.size() / 2, d.size() - 1})
          if (cut < d.size()) to.t->receive(std::span(d.data(), cut));
        to.t->receive(d);
      }
    }
  }
  ASSERT_TRUE(p.server.t->connected());
  ASSERT_TRUE(p.client.t->connected());
  // After it: garbage, truncated and bit-flipped application records are dropped.
  Bytes msg = random_bytes(rng, 500);
  ASSERT_TRUE(p.client.t->send(msg));
  Bytes record = p.client.out.back();
  p.client.out.clear();
  for (size_t cut = 0; cut < record.size(); cut += 7)
    p.server.t->receive(std::span(record.data(), cut));
  for (int i = 0; i < 50; ++i) {
    Bytes flipped = record;
    flipped[13 + rng() % (flipped.size() - 13)] ^= static_cast<uint8_t>(1 + rng() % 255);
    p.server.t->receive(flipped);  // fails authentication: dropped
    p.server.t->receive(random_bytes(rng, 1 + rng() % 1500));
  }
  EXPECT_TRUE(p.server.data.empty());
  EXPECT_TRUE(p.server.closed.empty());
  p.server.t->receive(record);
  ASSERT_EQ(p.server.data.size(), 1u);
  EXPECT_EQ(p.server.data[0], msg);
  p.server.t->receive(record);  // a replay: dropped
  EXPECT_EQ(p.server.data.size(), 1u);
  EXPECT_TRUE(p.server.t->connected());
}

// A DTLS 1.2 record: type, version 1.2, epoch, 48-bit sequence number, length, body.
Bytes record(uint8_t type, uint16_t epoch, uint64_t seq, const Bytes& body) {
  Bytes r{type, 0xfe, 0xfd, static_cast<uint8_t>(epoch >> 8), static_cast<uint8_t>(epoch)};
  for (int i = 5; i >= 0; --i) r.push_back(static_cast<uint8_t>(seq >> (8 * i)));
  r.push_back(static_cast<uint8_t>(body.size() >> 8));
  r.push_back(static_cast<uint8_t>(body.size()));
  r.insert(r.end(), body.begin(), body.end());
  return r;
}

TEST(DtlsTransport, ForgedNextEpochRecordsDuringTheHandshake) {
  std::mt19937 rng(5);
  {
    // OpenSSL holds such records until the keys change; a few do not get in the way.
    Pair p;
    p.client.t->start();
    Pair::deliver(p.client, p.server, {});  // the server has answered; the client has not yet
    for (uint64_t seq = 0; seq < 5; ++seq)
      p.server.t->receive(record(22, 1, seq, random_bytes(rng, 48)));
    p.pump();
    EXPECT_TRUE(p.server.t->connected());
    EXPECT_TRUE(p.client.t->connected());
  }
  // A flood is cut short before OpenSSL (it would hold ~17 KiB per record, 100 of them): the
  // transport neither fails nor grows (the memory is measured outside the tests).
  Pair p;
  p.client.t->start();
  Pair::deliver(p.client, p.server, {});
  for (uint64_t seq = 0; seq < 1000; ++seq) {
    p.server.t->receive(record(22, 1, seq, random_bytes(rng, 48)));
    p.server.t->receive(record(23, 1, seq, random_bytes(rng, 48)));
  }
  EXPECT_FALSE(p.server.t->closed());
  EXPECT_EQ(p.server.connected, 0);
}

TEST(DtlsTransport, ReplayedClientHelloAfterTheHandshakeIsHarmless) {
  Pair p;
  p.client.t->start();
  Bytes client_hello = p.client.out.front();
  p.pump();
  ASSERT_TRUE(p.server.t->connected());
  std::vector<Bytes> handshake(p.client.sent.begin(), p.client.sent.end());
  size_t server_sent = p.server.sent.size();
  p.server.t->receive(client_hello);
  for (const auto& d : handshake) p.server.t->receive(d);  // the whole client side again
  EXPECT_TRUE(p.server.t->connected());
  EXPECT_TRUE(p.server.closed.empty());
  EXPECT_EQ(p.server.connected, 1);
  // A repeated Finished may make the server repeat its last flight (RFC 6347 4.2.4), nothing
  // more: no new handshake.
  EXPECT_LE(p.server.sent.size(), server_sent + 2 * handshake.size());
  p.pump();
  EXPECT_TRUE(p.client.t->connected());
  EXPECT_TRUE(p.client.closed.empty());
  Bytes msg{1, 2, 3};
  ASSERT_TRUE(p.server.t->send(msg));
  p.pump();
  ASSERT_EQ(p.client.data.size(), 1u);
  EXPECT_EQ(p.client.data[0], msg);
}

TEST(DtlsTransport, ApplicationRecordsBeforeTheHandshakeAreHarmless) {
  Pair p;
  p.connect();
  Bytes msg{9, 9, 9};
  ASSERT_TRUE(p.client.t->send(msg));
  Bytes record = p.client.out.back();
  p.client.out.clear();
  // The record, epoch 1, reaches a fresh server that has not seen a ClientHello.
  Peer fresh;
  fresh.t = std::make_unique<DtlsTransport>(DtlsTransport::Role::server, server_cert(),
                                            client_cert()->fingerprint(), fresh);
  fresh.t->receive(record);
  EXPECT_TRUE(fresh.data.empty());
  EXPECT_EQ(fresh.connected, 0);
  EXPECT_FALSE(fresh.t->closed());
}

TEST(DtlsTransport, CloseNotifyReachesThePeer) {
  Pair p;
  p.connect();
  p.client.t->close();
  EXPECT_TRUE(p.client.t->closed());
  EXPECT_TRUE(p.client.closed.empty());  // no dtls_closed for our own close()
  ASSERT_FALSE(p.client.out.empty());    // the close_notify
  p.pump();
  ASSERT_EQ(p.server.closed.size(), 1u);
  EXPECT_EQ(p.server.closed[0], make_error(errc::closed));
  EXPECT_TRUE(p.server.t->closed());
  // Nothing moves after closing, either way.
  Bytes msg{1};
  EXPECT_FALSE(p.server.t->send(msg));
  EXPECT_FALSE(p.client.t->send(msg));
  size_t sent = p.server.sent.size();
  p.server.t->receive(p.client.sent.back());
  p.server.t->on_timer();
  p.server.t->close();
  EXPECT_EQ(p.server.sent.size(), sent);
  EXPECT_EQ(p.server.closed.size(), 1u);
}

TEST(DtlsTransport, CloseDuringTheHandshakeSendsNothing) {
  Pair p;
  p.client.t->start();
  p.client.out.clear();
  size_t sent = p.client.sent.size();
  p.client.t->close();
  EXPECT_TRUE(p.client.t->closed());
  EXPECT_EQ(p.client.sent.size(), sent);
  EXPECT_FALSE(p.client.t->timeout_ms());
  EXPECT_TRUE(p.client.closed.empty());
}

TEST(DtlsTransport, DatagramsFitTheMtu) {
  // OpenSSL packs a flight's records into datagrams of at most the MTU and fragments the
  // certificates across them when needed; each BIO write is one datagram.
  std::map<size_t, size_t> handshake_datagrams;
  for (size_t mtu : {1200, 600, 300, 256}) {
    SCOPED_TRACE(mtu);
    Pair p(mtu);
    p.connect();
    ASSERT_TRUE(p.server.t->connected());
    ASSERT_TRUE(p.client.t->connected());
    EXPECT_LE(p.server.largest_datagram(), mtu);
    EXPECT_LE(p.client.largest_datagram(), mtu);
    handshake_datagrams[mtu] = p.server.sent.size() + p.client.sent.size();
    Bytes full(p.client.t->max_data(), 0x5a);
    ASSERT_TRUE(p.client.t->send(full));
    EXPECT_EQ(p.client.sent.back().size(), mtu);  // exactly fills the datagram
    p.pump();
    ASSERT_EQ(p.server.data.size(), 1u);
    EXPECT_EQ(p.server.data[0], full);
  }
  EXPECT_EQ(handshake_datagrams[1200], 4u);  // one per flight
  EXPECT_GT(handshake_datagrams[256], handshake_datagrams[600]);
  Pair small(100);  // raised to OpenSSL's smallest
  small.connect();
  EXPECT_TRUE(small.server.t->connected());
  EXPECT_LE(small.client.largest_datagram(), 256u);
  EXPECT_LE(small.server.largest_datagram(), 256u);
}

TEST(DtlsTransport, HandlerMaySendAndCloseFromItsCallbacks) {
  Pair p;
  // The server greets from dtls_connected and echoes from dtls_data; the client sends from
  // inside dtls_send (queued, written after the OpenSSL call under way).
  Bytes greeting{'g'};
  p.server.on_connected = [&] { EXPECT_TRUE(p.server.t->send(greeting)); };
  p.server.on_data = [&](std::span<const uint8_t> d) {
    Bytes copy(d.begin(), d.end());
    EXPECT_TRUE(p.server.t->send(copy));
  };
  int nested = 0;
  p.client.on_send = [&](std::span<const uint8_t>) {
    if (p.client.t->connected() && nested < 3) {
      Bytes n{static_cast<uint8_t>('0' + nested++)};
      EXPECT_TRUE(p.client.t->send(n));
    }
  };
  p.connect();
  ASSERT_TRUE(p.client.t->connected());
  Bytes first{'a'};
  ASSERT_TRUE(p.client.t->send(first));  // its dtls_send sends "0", whose sends "1", then "2"
  p.pump();
  std::vector<Bytes> expected{greeting, first, {'0'}, {'1'}, {'2'}};
  EXPECT_EQ(p.client.data, expected);
  // Closing from dtls_data stops the datagram's remaining records.
  p.server.on_data = [&](std::span<const uint8_t>) { p.server.t->close(); };
  p.client.on_send = {};
  ASSERT_TRUE(p.client.t->send(first));
  ASSERT_TRUE(p.client.t->send(first));
  p.pump();
  EXPECT_EQ(p.server.data.size(), 5u);  // "a", "0", "1", "2", then one "a": closed
  EXPECT_TRUE(p.server.t->closed());
  EXPECT_TRUE(p.server.closed.empty());
  ASSERT_EQ(p.client.closed.size(), 1u);
  EXPECT_EQ(p.client.closed[0], make_error(errc::closed));
}

TEST(DtlsTransport, ReceiveFromInsideACallbackIsQueued) {
  Pair p;
  p.connect();
  Bytes a{'a'}, b{'b'};
  ASSERT_TRUE(p.client.t->send(a));
  ASSERT_TRUE(p.client.t->send(b));
  Bytes second = p.client.out.back();
  p.client.out.pop_back();
  bool fed = false;
  p.server.on_data = [&](std::span<const uint8_t>) {
    if (!fed) {
      fed = true;
      p.server.t->receive(second);  // read after the current datagram
      EXPECT_EQ(p.server.data.size(), 1u);
    }
  };
  p.pump();
  std::vector<Bytes> expected{a, b};
  EXPECT_EQ(p.server.data, expected);
}

}  // namespace
}  // namespace seedcast::rtc
