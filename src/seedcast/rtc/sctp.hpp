#pragma once
// SCTP over DTLS (RFC 8261) for data channels: one association per browser, behind an
// interface another SCTP implementation (dcSCTP) could take. The implementation here is
// Debian's libusrsctp in AF_CONN mode, threadless: packets in through receive(), packets out
// through Handler::sctp_send(), timers through sctp_handle_timers().
//
// Thread affinity: usrsctp is one stack per process with global state. Every association and
// every call below (create, receive, send, close, destruction, sctp_handle_timers) must run on
// one thread, the process's "rtc thread"; handler calls come on it, synchronously from those
// calls. Debug builds log an error when a call comes from another thread than the first one.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "seedcast/rtc/error.hpp"

namespace seedcast::rtc {

struct SctpOptions {
  uint16_t local_port = 5000;   // a=sctp-port of our answer
  uint16_t remote_port = 5000;  // a=sctp-port of the offer
  // Inbound and outbound streams announced. usrsctp's memory per association grows ~100 bytes
  // a stream (measured: 10 KiB at 16, 15 KiB at 64, 35 KiB at 256, 113 KiB at 1024); 64 leave
  // 32 channel ids to each side, and WebTorrent and p2p-media-loader open one channel a peer.
  uint16_t streams = 64;
  uint32_t max_message_size = 262144;  // largest message accepted or sent (a=max-message-size)
  // Bytes queued (sent, not yet acknowledged) above which send() refuses: back-pressure.
  size_t send_buffer = 1 << 20;
  // sctp_writable() is called once buffered() falls to this after a refusal.
  size_t low_water = 256 << 10;
  // Largest SCTP packet written: each one travels in one DTLS record, and the record must fit
  // the DTLS transport's datagrams (1200 bytes; a DTLS 1.2 record adds 29 to 77 bytes).
  uint16_t mtu = 1120;
};

class SctpAssociation {
 public:
  // Both roles send an INIT when started, and both answer the peer's INIT: browsers (Chrome,
  // Firefox) connect from both sides and handle the crossing INITs (RFC 9260 §5.2.1), so the
  // server need not wait for the browser's INIT. The role is kept for implementations that
  // would treat the two sides differently.
  // server: seedcast's side (the browser is the DTLS client). client: tests, load generators.
  enum class Role { server, client };

  // Called on the rtc thread, synchronously from the association's calls or from
  // sctp_handle_timers(); a handler must not destroy the association from inside (defer it).
  // sctp_send() is called from inside usrsctp, with its locks held: it must not call back into
  // any SctpAssociation (such a call is refused, and logged). The other handler calls come
  // after usrsctp has returned and may call send(), reset_stream() or close(). No handler call
  // may throw.
  struct Handler {
    virtual ~Handler() = default;
    virtual void sctp_send(std::span<const uint8_t> packet) = 0;  // one SCTP packet, for DTLS
    virtual void sctp_connected() = 0;                            // the association is up
    // One whole message (reassembled; never more than max_message_size; stream < streams).
    virtual void sctp_message(uint16_t stream, uint32_t ppid, std::span<const uint8_t> message) = 0;
    virtual void sctp_writable() = 0;                     // room again after send() refused
    virtual void sctp_stream_reset(uint16_t stream) = 0;  // the peer closed that stream
    // Aborted, shut down or failed (errc::sctp_failed, errc::closed). Called once; nothing is
    // sent or delivered afterwards.
    virtual void sctp_closed(error_code why) = 0;
  };

  // The usrsctp implementation. Throws std::runtime_error when usrsctp cannot make a socket.
  // Options out of range are clamped (streams to 1..65535, mtu to 512..65535).
  static std::unique_ptr<SctpAssociation> create(Role role, const SctpOptions& options,
                                                 Handler& handler);
  // Always safe: no handler call and no packet follow, whatever the state. An association
  // still up is aborted without telling the peer (its ABORT has no handler left to go out
  // through); close() first, and keep the object until the peer has answered, to end it
  // gracefully.
  virtual ~SctpAssociation() = default;

  // Sends INIT (both roles). receive() before start() starts the association first.
  virtual void start() = 0;
  // An SCTP packet from the peer (DTLS application data). Garbage is dropped: malformed chunks
  // here, unknown verification tags by usrsctp. The CRC32c is not checked (DTLS has already
  // authenticated the packet). A peer that breaks the protocol is aborted (sctp_closed with
  // errc::sctp_failed), e.g. one that sends a message longer than max_message_size.
  virtual void receive(std::span<const uint8_t> packet) = 0;
  // Queues one whole message, ordered (or not) and reliable. false when it cannot be queued now
  // (buffered() at or over send_buffer, too many messages queued: send_buffer / 256 and at
  // least 256, usrsctp's queue full, or the association not up yet); retry on sctp_writable()
  // (which follows every such refusal while the association is up).
  // Refused for ever: a message longer than max_message_size, an empty one (SCTP has no
  // empty messages: data channels send one byte with PPID 56 or 57), a stream id not
  // negotiated, and anything after close or failure.
  virtual bool send(uint16_t stream, uint32_t ppid, std::span<const uint8_t> message,
                    bool ordered = true) = 0;
  // Bytes queued in usrsctp and not yet acknowledged: payload, and the 16-byte header of each
  // chunk usrsctp has already cut.
  virtual size_t buffered() const = 0;
  // Resets an outgoing stream: closes that data channel (RFC 8831 §6.7). Queued messages of
  // the stream go out first; usrsctp holds the request while another one is outstanding.
  virtual void reset_stream(uint16_t stream) = 0;
  // Ends the association: SHUTDOWN once the queued messages are out when it is up, ABORT when
  // it is still being set up. No handler call but sctp_send (the packets of the shutdown)
  // follows, sctp_closed included.
  virtual void close() = 0;
};

// Runs usrsctp's timers: call every ~10 ms on the rtc thread with the milliseconds elapsed
// since the last call (retransmissions, delayed SACKs, heartbeats, and the freeing of
// associations already destroyed all run from here). Does nothing before the first
// association is created.
void sctp_handle_timers(uint32_t elapsed_ms);

}  // namespace seedcast::rtc
