#pragma once
// DTLS 1.2 for WebRTC (RFC 8827, 8842) through OpenSSL, sans-I/O: datagrams in through
// receive(), datagrams out through Handler::dtls_send() (one call per datagram, each at most
// the MTU), application data (SCTP packets) both ways. The peer's certificate is self-signed
// and is checked against the SHA-256 fingerprint its SDP carried. OpenSSL types stay out of
// this header.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "seedcast/rtc/error.hpp"

namespace seedcast::rtc {

// A self-signed ECDSA P-256 certificate and its key; one per process is normal (browsers pin
// it through the answer's fingerprint, not through a CA). Immutable once made; shareable
// across threads.
class Certificate {
 public:
  // Throws std::runtime_error when OpenSSL cannot make one.
  static std::shared_ptr<const Certificate> generate();
  ~Certificate();
  Certificate(const Certificate&) = delete;
  Certificate& operator=(const Certificate&) = delete;

  // SHA-256 of the certificate's DER encoding (the SDP a=fingerprint).
  const std::array<uint8_t, 32>& fingerprint() const { return fingerprint_; }

  struct Impl;  // OpenSSL objects (dtls.cpp)
  const Impl& impl() const { return *impl_; }

 private:
  Certificate();
  std::unique_ptr<Impl> impl_;
  std::array<uint8_t, 32> fingerprint_{};
};

class DtlsTransport {
 public:
  // server: a=setup:passive, waits for the ClientHello (seedcast). client: sends it (tests,
  // load generators).
  enum class Role { server, client };

  // Called synchronously from receive(), send(), start(), on_timer() and close(); a handler must
  // not destroy the transport from inside a call (defer it).
  struct Handler {
    virtual ~Handler() = default;
    virtual void dtls_send(std::span<const uint8_t> datagram) = 0;  // one datagram for the peer
    virtual void dtls_data(std::span<const uint8_t> data) = 0;      // one decrypted record's data
    virtual void dtls_connected() = 0;  // handshake done, peer fingerprint verified
    // Failure (errc::dtls_failed, errc::bad_fingerprint), an alert, or the peer's close_notify
    // (errc::closed). Called once; nothing is sent or received afterwards.
    virtual void dtls_closed(error_code why) = 0;
  };

  // `remote_fingerprint`: SHA-256 the peer's certificate must have. `mtu`: the largest datagram
  // written (WebRTC keeps records around 1200 bytes).
  DtlsTransport(Role role, std::shared_ptr<const Certificate> local, const std::array<uint8_t, 32>& remote_fingerprint,
                Handler& handler, size_t mtu = 1200);
  ~DtlsTransport();
  DtlsTransport(const DtlsTransport&) = delete;
  DtlsTransport& operator=(const DtlsTransport&) = delete;

  void start();  // client: sends the ClientHello; server: nothing
  // A datagram from the peer (first byte 20..63). Garbage, replays and records after closing
  // are dropped or end the transport with dtls_closed; never a crash.
  void receive(std::span<const uint8_t> datagram);
  // Application data as one record; false when not connected (or closed).
  bool send(std::span<const uint8_t> data);
  // Milliseconds until on_timer() must run (handshake retransmission); nullopt: no timer.
  std::optional<int64_t> timeout_ms() const;
  void on_timer();
  // Sends close_notify (when connected) and ends the transport; no dtls_closed call follows.
  void close();

  bool connected() const;
  bool closed() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace seedcast::rtc
