#pragma once
// SctpAssociation over Debian's libusrsctp (AF_CONN, threadless). Private to rtc: usrsctp.h is
// included by the .cpp only; its socket type is only named here.
//
// How it is driven (all on the rtc thread, see sctp.hpp):
// - usrsctp calls back from inside its own calls (usrsctp_conninput, usrsctp_sendv,
//   usrsctp_handle_timers, …) with its locks held. The only work done there is the output
//   callback (the packet goes straight to Handler::sctp_send) and the socket upcall, which
//   only marks the association "dirty".
// - After every usrsctp call returns, the dirty associations are pumped: their socket is read
//   (usrsctp_recvv) until it would block, and messages and notifications are turned into
//   handler calls. Handler code therefore never runs inside usrsctp and may call send(),
//   reset_stream() or close(), or create and destroy other associations.
// - usrsctp knows an association by a random 64-bit id registered as its AF_CONN address (the
//   stack only compares it, never dereferences it); callbacks look the id up in a table, so
//   one that arrives for an association already destroyed finds nothing and is dropped.
#include <cstdint>
#include <vector>

#include "seedcast/rtc/sctp.hpp"

struct socket;  // usrsctp's

namespace seedcast::rtc::detail {

class UsrsctpAssociation final : public SctpAssociation {
 public:
  // Throws std::runtime_error when usrsctp cannot make or set up the socket.
  UsrsctpAssociation(Role role, const SctpOptions& options, Handler& handler);
  ~UsrsctpAssociation() override;
  UsrsctpAssociation(const UsrsctpAssociation&) = delete;
  UsrsctpAssociation& operator=(const UsrsctpAssociation&) = delete;

  void start() override;
  void receive(std::span<const uint8_t> packet) override;
  bool send(uint16_t stream, uint32_t ppid, std::span<const uint8_t> message,
            bool ordered) override;
  size_t buffered() const override;
  void reset_stream(uint16_t stream) override;
  void close() override;

  // sctp_handle_timers().
  static void handle_timers(uint32_t elapsed_ms);

 private:
  friend struct UsrsctpStack;  // the process-wide part: callbacks, the id table, the pump
  // idle: made; connecting: INIT sent; open: COMM_UP; closing: close() sent SHUTDOWN;
  // done: ended (the socket may stay until destruction).
  enum class State { idle, connecting, open, closing, done };

  void configure();
  void output(std::span<const uint8_t> packet);  // from usrsctp's output callback
  // Reads the socket until it would block, turning what it holds into handler calls.
  void pump();
  // Reads one notification; false when the association ended and the pump must stop.
  bool notification(std::span<const uint8_t> bytes);
  // Appends part of a message; delivers it at its end. false when the pump must stop.
  bool data(uint16_t stream, uint32_t ppid, std::span<const uint8_t> part, bool end);
  // Ends the association and reports it (once, and not after close()). With `abort`, sends an
  // ABORT and closes the socket now; otherwise the socket stays until destruction. Returns
  // false when the handler destroyed the association from inside (nothing may be touched).
  bool finish(error_code why, bool abort);
  void release_socket(bool abort);
  // buffered(); when zero, the message count starts again.
  size_t queued_bytes();
  // Whether association `id` still exists: checked after every handler call, since a handler
  // that breaks the contract may have destroyed it from inside.
  static bool alive(uint64_t id);

  [[maybe_unused]] Role role_;  // both roles behave alike (sctp.hpp)
  SctpOptions options_;
  Handler& handler_;
  uint64_t id_ = 0;
  struct ::socket* so_ = nullptr;
  State state_ = State::idle;
  bool dirty_ = false;          // queued for pump()
  bool user_closed_ = false;    // close() called, or sctp_closed() made: no more handler calls
  bool want_writable_ = false;  // send() refused; sctp_writable() owed
  // Messages accepted since usrsctp's queue was last empty (SCTP_SENDER_DRY_EVENT), and the
  // cap on them (see the constructor).
  uint32_t queued_messages_ = 0;
  uint32_t max_queued_messages_ = 0;
  uint16_t outbound_streams_ = 0;  // negotiated, from COMM_UP
  uint16_t inbound_streams_ = 0;
  // The message being reassembled from partial deliveries (usrsctp hands out one message at
  // a time: fragment interleaving is off). Never longer than max_message_size.
  std::vector<uint8_t> partial_;
  uint16_t partial_stream_ = 0;
  uint32_t partial_ppid_ = 0;
};

}  // namespace seedcast::rtc::detail
