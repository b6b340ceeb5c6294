#include "seedcast/rtc/dtls.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/time.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace seedcast::rtc {
namespace {

// WebRTC's suites (RFC 8827 §6.5): ECDSA first, as browsers' certificates are P-256; the RSA
// ones for peers that still present RSA certificates. AES-128-GCM first (AES-NI).
constexpr char kCipherList[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384";
constexpr char kGroups[] = "X25519:P-256";

// Retransmission: browsers start well under RFC 6347's 1 s; the cap keeps OpenSSL's limit of 12
// retransmissions at ~35 s in all (0.4 + 0.8 + 1.6 + 10 x 3.2) instead of several minutes.
constexpr unsigned kInitialTimeoutUs = 400'000;
constexpr unsigned kMaxTimeoutUs = 3'200'000;

constexpr size_t kMinMtu = 256;  // OpenSSL refuses smaller ones (dtls1_link_min_mtu)
// During the handshake OpenSSL packs a flight's records through a 4 KiB buffering BIO: larger
// datagrams could be cut by it.
constexpr size_t kMaxMtu = 4096;
// The largest certificate list a peer may send: browsers send one certificate of ~500 bytes.
// It also bounds each handshake message OpenSSL reassembles (at least 16 KiB anyway).
constexpr long kMaxCertList = 16 * 1024;
constexpr size_t kMaxRecord = 16384;  // a record's largest plaintext (SSL3_RT_MAX_PLAIN_LENGTH)
// While the handshake runs, OpenSSL keeps each record of the next epoch that arrives (up to 100,
// each in a whole ~17 KiB read buffer: 1.7 MB for a few KB a peer sends). A client sends one
// such record per transmission of its last flight (its Finished, after the ChangeCipherSpec
// that usually lets it through at once); later ones are dropped before OpenSSL sees them.
constexpr int kMaxEarlyRecords = 8;
// Datagrams a handler may queue through receive() from inside a call, and sends from inside
// dtls_send(): a bound, not a working size (neither happens in seedcast's own glue).
constexpr size_t kMaxDeferred = 64;

using Digest = std::array<uint8_t, 32>;

bool sha256_of(X509* cert, Digest& out) {
  unsigned len = 0;
  return X509_digest(cert, EVP_sha256(), out.data(), &len) == 1 && len == out.size();
}

[[noreturn]] void openssl_failed(const char* what) {
  ERR_clear_error();
  throw std::runtime_error(std::string("rtc dtls: ") + what);
}

// What a transport's handshake checks of the peer's certificate (the SSL's app data).
struct PeerCheck {
  Digest expected;
  bool mismatch = false;  // the leaf seen during the handshake was another one

  bool matches(X509* cert) const {
    Digest d;
    return sha256_of(cert, d) && CRYPTO_memcmp(d.data(), expected.data(), d.size()) == 0;
  }
};

// The peer's chain is self-signed, so OpenSSL's own verdict is ignored; what counts is that the
// leaf's SHA-256 is the one the peer's SDP announced, checked here (so an impostor's handshake
// fails with a bad_certificate alert) and once more after the handshake.
int verify_peer(int, X509_STORE_CTX* store) {
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;  // only the leaf is pinned
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* check = ssl ? static_cast<PeerCheck*>(SSL_get_app_data(ssl)) : nullptr;
  X509* leaf = X509_STORE_CTX_get_current_cert(store);
  if (!check) return 0;
  if (leaf && check->matches(leaf)) return 1;
  check->mismatch = true;
  return 0;
}

unsigned timer_duration(SSL*, unsigned previous_us) {
  if (previous_us == 0) return kInitialTimeoutUs;
  return std::min(previous_us * 2, kMaxTimeoutUs);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Certificate

struct Certificate::Impl {
  EVP_PKEY* key = nullptr;
  X509* x509 = nullptr;
  // One context for both roles (DTLS_method() serves either; every setting below applies to
  // both): SSL_new on it is thread-safe, and it never changes once made.
  SSL_CTX* ctx = nullptr;

  ~Impl() {
    SSL_CTX_free(ctx);
    X509_free(x509);
    EVP_PKEY_free(key);
  }
};

namespace {

SSL_CTX* make_context(EVP_PKEY* key, X509* x509) {
  SSL_CTX* ctx = SSL_CTX_new(DTLS_method());
  if (!ctx) return nullptr;
  bool ok = SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) == 1 &&
            SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) == 1 &&
            SSL_CTX_set_cipher_list(ctx, kCipherList) == 1 &&
            SSL_CTX_set1_groups_list(ctx, kGroups) == 1 &&
            SSL_CTX_use_certificate(ctx, x509) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
            SSL_CTX_check_private_key(ctx) == 1;
  if (!ok) {
    SSL_CTX_free(ctx);
    return nullptr;
  }
  // No resumption (every browser connection is new), no renegotiation (RFC 8827 has none, and
  // it is a CPU lever for a peer), no compression; the MTU is ours, never the kernel's.
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                               SSL_OP_NO_QUERY_MTU | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_read_ahead(ctx, 0);
  SSL_CTX_set_max_cert_list(ctx, kMaxCertList);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_peer);
  return ctx;
}

}  // namespace

Certificate::Certificate() : impl_(std::make_unique<Impl>()) {}
Certificate::~Certificate() = default;

std::shared_ptr<const Certificate> Certificate::generate() {
  std::shared_ptr<Certificate> c(new Certificate());
  Impl& m = *c->impl_;
  m.key = EVP_EC_gen("P-256");
  if (!m.key) openssl_failed("cannot make a P-256 key");
  m.x509 = X509_new();
  if (!m.x509) openssl_failed("cannot allocate a certificate");
  X509* x = m.x509;

  // A random positive 64-bit serial: a browser meeting two of our certificates with one
  // subject and serial (after a restart) must not take one for the other.
  BIGNUM* bn = BN_new();
  bool ok = bn && BN_rand(bn, 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
            BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != nullptr;
  BN_free(bn);
  X509_NAME* name = X509_get_subject_name(x);
  ok = ok && X509_set_version(x, 2) == 1 &&  // v3
       X509_gmtime_adj(X509_getm_notBefore(x), -24L * 3600) != nullptr &&
       X509_gmtime_adj(X509_getm_notAfter(x), 30L * 24 * 3600) != nullptr &&
       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                  reinterpret_cast<const unsigned char*>("seedcast"), -1, -1,
                                  0) == 1 &&
       X509_set_issuer_name(x, name) == 1 && X509_set_pubkey(x, m.key) == 1 &&
       X509_sign(x, m.key, EVP_sha256()) > 0 && sha256_of(x, c->fingerprint_);
  if (!ok) openssl_failed("cannot make a self-signed certificate");
  m.ctx = make_context(m.key, x);
  if (!m.ctx) openssl_failed("cannot make a DTLS context");
  return c;
}

// ---------------------------------------------------------------------------------------------
// DtlsTransport

struct DtlsTransport::Impl {
  enum class State : uint8_t { handshaking, connected, closed };

  Impl(Role role, std::shared_ptr<const Certificate> local, const Digest& remote, Handler& handler,
       size_t mtu)
      : handler(handler),
        local(std::move(local)),
        peer{remote},
        mtu(std::clamp(mtu, kMinMtu, kMaxMtu)),
        role(role) {}
  ~Impl() { SSL_free(ssl); }

  Handler& handler;
  std::shared_ptr<const Certificate> local;  // owns the SSL_CTX (OpenSSL counts it too)
  PeerCheck peer;
  SSL* ssl = nullptr;  // freed as soon as the transport closes (a closed one costs ~nothing)
  size_t mtu;
  Role role;
  State state = State::handshaking;
  bool started = false;
  bool in_ssl = false;             // inside an OpenSSL call: the handler is reached through the BIO
  bool in_receive = false;         // receive() is reading a datagram
  bool closing = false;            // close() is sending close_notify: no more sends
  int early_records = 0;           // epoch-1 records let through while handshaking
  int depth = 0;                   // public calls under way (re-entered through the handler)
  std::span<const uint8_t> input;  // the datagram OpenSSL reads next through the BIO
  std::vector<std::vector<uint8_t>> deferred_in, deferred_out;

  // Counts a public call; the last one out frees OpenSSL's state once closed, so a close() or
  // a failure deep inside a callback never frees what an outer frame still uses.
  struct Entry {
    explicit Entry(Impl& m) : m(m) { ++m.depth; }
    ~Entry() {
      if (--m.depth != 0) return;
      if (m.state == State::closed)
        m.release();
      else
        SSL_free_buffers(m.ssl);  // the ~17 KiB read buffer an idle transport does not need
    }
    Impl& m;
  };

  void release() {
    SSL_free(ssl);  // also frees the BIO; nothing is written by it
    ssl = nullptr;
    deferred_in = {};
    deferred_out = {};
  }

  // One OpenSSL I/O call. The error queue is empty before (SSL_get_error needs it) and after
  // (one peer's errors never show up in another's), and the handler's sends queued meanwhile
  // go out right after.
  template <class F>
  int io(F&& f, int& error) {
    ERR_clear_error();
    // Entry frees the record buffers between calls; DTLS writes in OpenSSL 3.0 do not make
    // them again by themselves (reads do).
    if (SSL_alloc_buffers(ssl) != 1) {
      error = SSL_ERROR_SSL;
      return -1;
    }
    in_ssl = true;
    int r = f();
    in_ssl = false;
    error = r > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl, r);
    ERR_clear_error();
    if (!deferred_out.empty() && state == State::connected && !closing &&
        (error == SSL_ERROR_NONE || error == SSL_ERROR_WANT_READ))
      flush_deferred_out();
    return r;
  }

  void flush_deferred_out() {
    while (!deferred_out.empty() && state == State::connected && !closing) {
      std::vector<uint8_t> d = std::move(deferred_out.front());
      deferred_out.erase(deferred_out.begin());
      write(d);
    }
  }

  void fail(errc why) {
    if (state == State::closed) return;
    state = State::closed;
    handler.dtls_closed(make_error(why));
  }

  void handshake() {
    int error;
    int r = io([&] { return SSL_do_handshake(ssl); }, error);
    if (state == State::closed) return;  // the handler closed from inside dtls_send
    if (r == 1) return handshake_done();
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return;
    fail(peer.mismatch ? errc::bad_fingerprint : errc::dtls_failed);
  }

  void handshake_done() {
    // verify_peer has seen the leaf already; this also covers a handshake where it was not
    // called (no certificate cannot happen: SSL_VERIFY_FAIL_IF_NO_PEER_CERT, and a server
    // always sends one).
    X509* leaf = SSL_get0_peer_certificate(ssl);
    if (!leaf || !peer.matches(leaf)) return fail(errc::bad_fingerprint);
    state = State::connected;
    handler.dtls_connected();
  }

  // Every record the current datagram holds, each record's data to the handler as it comes.
  void read_records() {
    uint8_t buf[kMaxRecord];
    while (state == State::connected) {
      int error;
      size_t n = 0;
      // SSL_read_ex, not SSL_read: an empty record (DTLS allows them) reads as success with no
      // bytes, where SSL_read returns 0 with no error queued, which reads as a failure.
      int r = io([&] { return SSL_read_ex(ssl, buf, sizeof buf, &n); }, error);
      if (state == State::closed) return;
      if (r == 1) {
        if (n > 0) handler.dtls_data({buf, n});
        continue;
      }
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return;
      if (error == SSL_ERROR_ZERO_RETURN) {  // close_notify: answer it, then report
        io([&] { return SSL_shutdown(ssl); }, error);
        return fail(errc::closed);
      }
      return fail(errc::dtls_failed);
    }
  }

  // Whether OpenSSL may see `d` during the handshake (kMaxEarlyRecords). Only the record
  // headers are read, and only records OpenSSL could hold count: whole DTLS records of epoch 1
  // carrying an alert, handshake or application data. Garbage is OpenSSL's to drop.
  bool admit_during_handshake(std::span<const uint8_t> d) {
    int held = 0;
    for (size_t at = 0; at + 13 <= d.size();) {
      const uint8_t* h = d.data() + at;
      size_t end = at + 13 + (size_t{h[11]} << 8 | h[12]);
      if (end > d.size()) break;
      if (h[0] >= 21 && h[0] <= 23 && h[1] == 0xfe && h[3] == 0 && h[4] == 1) ++held;
      at = end;
    }
    if (held == 0) return true;
    if (early_records + held > kMaxEarlyRecords) return false;
    early_records += held;
    return true;
  }

  void read_datagram(std::span<const uint8_t> d) {
    if (state == State::handshaking && !admit_during_handshake(d)) return;
    input = d;
    if (state == State::handshaking) handshake();
    if (state == State::connected) read_records();
    input = {};  // what OpenSSL did not take (it stopped early) is dropped, as UDP would
  }

  // Datagrams a handler passed to receive() from inside a call, once no call reads any more.
  void drain_input() {
    if (in_ssl || in_receive) return;
    in_receive = true;
    while (!deferred_in.empty() && state != State::closed) {
      std::vector<uint8_t> d = std::move(deferred_in.front());
      deferred_in.erase(deferred_in.begin());
      read_datagram(d);
    }
    in_receive = false;
  }

  void write(std::span<const uint8_t> d) {
    int error;
    int r = io([&] { return SSL_write(ssl, d.data(), static_cast<int>(d.size())); }, error);
    if (r <= 0 && state != State::closed) fail(errc::dtls_failed);
  }

  size_t max_data() const { return state == State::connected ? DTLS_get_data_mtu(ssl) : 0; }

  // The BIO: reads hand OpenSSL the current datagram whole; each write goes to the handler as
  // one datagram (OpenSSL writes whole datagrams: during the handshake a flight's records
  // packed up to the MTU, afterwards one record per write).
  static Impl* of(BIO* b) { return static_cast<Impl*>(BIO_get_data(b)); }

  static int bio_read(BIO* b, char* out, int len) {
    BIO_clear_retry_flags(b);
    Impl* m = of(b);
    if (!m || m->input.empty() || len <= 0) {
      BIO_set_retry_read(b);
      return -1;
    }
    size_t n = std::min(m->input.size(), static_cast<size_t>(len));
    std::memcpy(out, m->input.data(), n);
    m->input = {};  // one datagram per read; a longer one is cut, as recv() would cut it
    return static_cast<int>(n);
  }

  static int bio_write(BIO* b, const char* data, int len) {
    BIO_clear_retry_flags(b);
    Impl* m = of(b);
    if (len <= 0) return 0;
    // After closing nothing leaves (a fatal alert is written before the state changes).
    if (m && m->state != State::closed)
      m->handler.dtls_send({reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(len)});
    return len;
  }

  static long bio_ctrl(BIO* b, int cmd, long num, void*) {
    Impl* m = of(b);
    switch (cmd) {
      case BIO_CTRL_FLUSH:
      case BIO_CTRL_DUP:
        return 1;
      case BIO_CTRL_PENDING:
        return m ? static_cast<long>(m->input.size()) : 0;
      case BIO_CTRL_WPENDING:  // nothing is ever held back: every write has left
        return 0;
      case BIO_CTRL_DGRAM_QUERY_MTU:
      case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:  // never lower than ours: the path is the glue's
        return m ? static_cast<long>(m->mtu) : static_cast<long>(kMinMtu);
      case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:  // our datagrams are UDP payloads: no IP/UDP header
        return 0;
      case BIO_CTRL_DGRAM_SET_MTU:
        return num;
      default:  // MTU_EXCEEDED, SET_NEXT_TIMEOUT, peers, EOF, ...: not ours, or nothing to do
        return 0;
    }
  }

  static int bio_create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
  }

  static BIO_METHOD* bio_method() {
    static BIO_METHOD* const method = [] {
      BIO_METHOD* bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "seedcast dtls");
      if (bm &&
          (BIO_meth_set_read(bm, bio_read) != 1 || BIO_meth_set_write(bm, bio_write) != 1 ||
           BIO_meth_set_ctrl(bm, bio_ctrl) != 1 || BIO_meth_set_create(bm, bio_create) != 1)) {
        BIO_meth_free(bm);
        bm = nullptr;
      }
      return bm;
    }();
    return method;
  }
};

DtlsTransport::DtlsTransport(Role role, std::shared_ptr<const Certificate> local,
                             const std::array<uint8_t, 32>& remote_fingerprint, Handler& handler,
                             size_t mtu)
    : impl_(std::make_unique<Impl>(role, std::move(local), remote_fingerprint, handler, mtu)) {
  Impl& m = *impl_;
  BIO_METHOD* method = Impl::bio_method();
  m.ssl = SSL_new(m.local->impl().ctx);
  BIO* bio = method ? BIO_new(method) : nullptr;
  if (!m.ssl || !bio) {
    BIO_free(bio);
    openssl_failed("cannot make a DTLS session");
  }
  BIO_set_data(bio, &m);
  SSL_set_bio(m.ssl, bio, bio);  // one BIO both ways: one reference, owned by the SSL
  SSL_set_app_data(m.ssl, &m.peer);
  if (role == Role::server)
    SSL_set_accept_state(m.ssl);
  else
    SSL_set_connect_state(m.ssl);
  SSL_set_mtu(m.ssl, static_cast<long>(m.mtu));
  // Our records never exceed the MTU: a write buffer to match (~1.5 KiB instead of ~17).
  SSL_set_max_send_fragment(m.ssl, std::max<long>(512, static_cast<long>(m.mtu)));
  DTLS_set_timer_cb(m.ssl, timer_duration);
}

DtlsTransport::~DtlsTransport() = default;

void DtlsTransport::start() {
  Impl& m = *impl_;
  if (m.started || m.state != Impl::State::handshaking || m.in_ssl || m.in_receive) return;
  m.started = true;
  if (m.role != Role::client) return;
  Impl::Entry e(m);
  m.handshake();
  m.drain_input();
}

void DtlsTransport::receive(std::span<const uint8_t> datagram) {
  Impl& m = *impl_;
  if (m.state == Impl::State::closed || datagram.empty() || datagram[0] < 20 || datagram[0] > 63)
    return;
  if (m.in_ssl || m.in_receive) {  // from inside a handler call: after the current datagram
    if (m.deferred_in.size() < kMaxDeferred)
      m.deferred_in.emplace_back(datagram.begin(), datagram.end());
    return;
  }
  Impl::Entry e(m);
  m.in_receive = true;
  m.read_datagram(datagram);
  m.in_receive = false;
  m.drain_input();
}

bool DtlsTransport::send(std::span<const uint8_t> data) {
  Impl& m = *impl_;
  if (m.state != Impl::State::connected || m.closing || data.size() > m.max_data()) return false;
  if (data.empty()) return true;
  if (m.in_ssl) {  // from inside dtls_send: OpenSSL is not re-entrant
    if (m.deferred_out.size() >= kMaxDeferred) return false;
    m.deferred_out.emplace_back(data.begin(), data.end());
    return true;
  }
  Impl::Entry e(m);
  m.write(data);
  bool ok = m.state == Impl::State::connected;
  m.drain_input();
  return ok;
}

size_t DtlsTransport::max_data() const { return impl_->max_data(); }

std::optional<int64_t> DtlsTransport::timeout_ms() const {
  const Impl& m = *impl_;
  if (m.state == Impl::State::closed || !m.ssl) return std::nullopt;
  timeval left{};
  if (DTLSv1_get_timeout(m.ssl, &left) != 1) return std::nullopt;
  return int64_t{left.tv_sec} * 1000 + (left.tv_usec + 999) / 1000;
}

void DtlsTransport::on_timer() {
  Impl& m = *impl_;
  if (m.state == Impl::State::closed || !m.ssl || m.in_ssl) return;
  Impl::Entry e(m);
  int error;
  int r = m.io([&] { return static_cast<int>(DTLSv1_handle_timeout(m.ssl)); }, error);
  if (m.state == Impl::State::closed) return;
  if (r < 0) return m.fail(errc::dtls_failed);  // too many retransmissions
  // A client still waiting for the ServerHello resends its ClientHello from the handshake call,
  // not from the timeout call; for other flights this finds nothing to read and returns.
  if (r > 0 && m.state == Impl::State::handshaking && !m.in_receive) m.handshake();
  m.drain_input();
}

void DtlsTransport::close() {
  Impl& m = *impl_;
  if (m.state == Impl::State::closed) return;
  if (m.state == Impl::State::connected && !m.in_ssl && !m.closing) {
    Impl::Entry e(m);
    m.closing = true;
    m.deferred_out.clear();
    int error;
    m.io([&] { return SSL_shutdown(m.ssl); }, error);
    m.state = Impl::State::closed;
    return;
  }
  Impl::Entry e(m);
  m.state = Impl::State::closed;
}

bool DtlsTransport::connected() const { return impl_->state == Impl::State::connected; }
bool DtlsTransport::closed() const { return impl_->state == Impl::State::closed; }

}  // namespace seedcast::rtc
