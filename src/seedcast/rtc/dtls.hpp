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
// it through the answer's fingerprint, not through a CA). Valid from a day before it was made
// to 30 days after (nobody checks: WebRTC peers check the fingerprint only). Immutable once
// made; shareable across threads (it also holds the one OpenSSL context every transport
// made with it shares).
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

// One DTLS 1.2 association with one peer. Not thread-safe: every call on one thread at a time
// (handler calls come synchronously on it). Cheap to make: the OpenSSL context is the
// certificate's, shared by every transport made with it.
class DtlsTransport {
 public:
  // server: a=setup:passive, waits for the ClientHello (seedcast). client: sends it (tests,
  // load generators).
  enum class Role { server, client };

  // Called synchronously from receive(), send(), start(), on_timer() and close(); a handler must
  // not destroy the transport from inside a call (defer it). It may call send() and close() from
  // inside any of them (from inside dtls_send() a send() is queued and written right after the
  // OpenSSL call that is under way, and a close() sends no close_notify); a receive() made from
  // inside a call is queued and read after the current datagram.
  struct Handler {
    virtual ~Handler() = default;
    virtual void dtls_send(std::span<const uint8_t> datagram) = 0;  // one datagram for the peer
    virtual void dtls_data(std::span<const uint8_t> data) = 0;      // one decrypted record's data
    virtual void dtls_connected() = 0;  // handshake done, peer fingerprint verified
    // Failure (errc::dtls_failed: a failed or timed-out handshake, a fatal alert;
    // errc::bad_fingerprint), or the peer's close_notify (errc::closed). Called once; nothing is
    // sent or received afterwards.
    virtual void dtls_closed(error_code why) = 0;
  };

  // `remote_fingerprint`: SHA-256 the peer's certificate must have. `mtu`: the largest datagram
  // written, UDP payload (WebRTC keeps records around 1200 bytes), within 256..4096 (raised or
  // lowered to fit). Throws std::runtime_error only when OpenSSL cannot allocate.
  DtlsTransport(Role role, std::shared_ptr<const Certificate> local,
                const std::array<uint8_t, 32>& remote_fingerprint, Handler& handler,
                size_t mtu = 1200);
  ~DtlsTransport();
  DtlsTransport(const DtlsTransport&) = delete;
  DtlsTransport& operator=(const DtlsTransport&) = delete;

  void start();  // client: sends the ClientHello; server: nothing
  // A datagram from the peer (first byte 20..63; others are dropped). Garbage, replays and
  // records after closing are dropped or end the transport with dtls_closed; never a crash.
  void receive(std::span<const uint8_t> datagram);
  // Application data as one record in one datagram; false when not connected (or closed) or
  // longer than max_data(). Empty data sends nothing (OpenSSL writes no empty records) and
  // returns true when connected; an empty record from the peer delivers nothing either.
  bool send(std::span<const uint8_t> data);
  // The largest send() accepted: the MTU less the negotiated cipher's record overhead (37 bytes
  // for AES-GCM); 0 when not connected. SCTP's packets must fit in it.
  size_t max_data() const;
  // Milliseconds until on_timer() must run (handshake retransmission: 400 ms, doubling up to
  // 3.2 s; the handshake fails after 12 retransmissions, ~35 s); nullopt: no timer. The clock is
  // OpenSSL's (the system's real-time clock, gettimeofday): a call to on_timer() before the
  // delay has passed does nothing, so a coarse periodic tick is fine.
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
