#pragma once
// SCTP over DTLS (RFC 8261) for data channels: one association per browser, behind an
// interface another SCTP implementation (dcSCTP) could take. The implementation here is
// Debian's libusrsctp in AF_CONN mode, threadless: packets in through receive(), packets out
// through Handler::sctp_send(), timers through sctp_handle_timers().
//
// Thread affinity: usrsctp is one stack per process with global state. Every association and
// every call below (create, receive, send, close, destruction, sctp_handle_timers) must run on
// one thread, the process's "rtc thread"; handler calls come on it, synchronously from those
// calls.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "seedcast/rtc/error.hpp"

namespace seedcast::rtc {

struct SctpOptions {
  uint16_t local_port = 5000;   // a=sctp-port of our answer
  uint16_t remote_port = 5000;  // a=sctp-port of the offer
  uint16_t streams = 256;       // inbound and outbound streams announced (memory grows with them)
  uint32_t max_message_size = 262144;  // largest message accepted or sent (a=max-message-size)
  // Bytes queued (sent, not yet acknowledged) above which send() refuses: back-pressure.
  size_t send_buffer = 1 << 20;
  // sctp_writable() is called once buffered() falls to this after a refusal.
  size_t low_water = 256 << 10;
};

class SctpAssociation {
 public:
  // server: waits for the peer's INIT (seedcast: the browser is the DTLS client and connects).
  // client: sends INIT (tests, load generators).
  enum class Role { server, client };

  // Called on the rtc thread, synchronously from the association's calls or from
  // sctp_handle_timers(); a handler must not destroy the association from inside (defer it).
  struct Handler {
    virtual ~Handler() = default;
    virtual void sctp_send(std::span<const uint8_t> packet) = 0;  // one SCTP packet, for DTLS
    virtual void sctp_connected() = 0;                              // the association is up
    // One whole message (reassembled; never more than max_message_size).
    virtual void sctp_message(uint16_t stream, uint32_t ppid, std::span<const uint8_t> message) = 0;
    virtual void sctp_writable() = 0;               // room again after send() refused
    virtual void sctp_stream_reset(uint16_t stream) = 0;  // the peer closed that stream
    // Aborted, shut down or failed (errc::sctp_failed, errc::closed). Called once.
    virtual void sctp_closed(error_code why) = 0;
  };

  // The usrsctp implementation. Throws std::runtime_error when usrsctp cannot make a socket.
  static std::unique_ptr<SctpAssociation> create(Role role, const SctpOptions& options, Handler& handler);
  virtual ~SctpAssociation() = default;

  virtual void start() = 0;  // client: sends INIT; server: starts listening for it
  // An SCTP packet from the peer (DTLS application data). Garbage is dropped by the stack.
  virtual void receive(std::span<const uint8_t> packet) = 0;
  // Queues one whole message, ordered (or not) and reliable. false when it cannot be queued now
  // (buffered() over send_buffer, or the association is not up); retry on sctp_writable().
  // A message longer than max_message_size is refused (false) for ever.
  virtual bool send(uint16_t stream, uint32_t ppid, std::span<const uint8_t> message, bool ordered = true) = 0;
  virtual size_t buffered() const = 0;
  // Resets an outgoing stream: closes that data channel (RFC 8831 §6.7).
  virtual void reset_stream(uint16_t stream) = 0;
  // Ends the association (SHUTDOWN when up); no sctp_closed call follows.
  virtual void close() = 0;
};

// Runs usrsctp's timers: call every ~10 ms on the rtc thread with the milliseconds elapsed
// since the last call. Does nothing when no association exists.
void sctp_handle_timers(uint32_t elapsed_ms);

}  // namespace seedcast::rtc
