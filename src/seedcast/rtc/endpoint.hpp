#pragma once
// A WebRTC data-channel endpoint for a server: one UDP port that carries every browser peer,
// ICE-lite (nothing gathered, so an offer is answered at once), DTLS as the passive side, SCTP
// and DCEP; each data channel a browser opens is handed to protocol code as an ordered message
// stream with back-pressure. Knows nothing of torrents.
//
// Threads: the endpoint runs one thread of its own (the "rtc thread"): every session, all of
// usrsctp, every DataChannel and every callback below run on it. answer(), post() and stats()
// may be called from any thread. usrsctp is one stack per process, so a process has at most one
// Endpoint at a time.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "seedcast/rtc/address.hpp"
#include "seedcast/rtc/error.hpp"

namespace seedcast::rtc {

// One data channel: whole messages in order, both ways. Used on the rtc thread only.
class DataChannel {
 public:
  struct Handler {
    virtual ~Handler() = default;
    virtual void on_message(std::span<const uint8_t> message, bool binary) = 0;
    // buffered() fell to the low-water mark after a send() was refused.
    virtual void on_writable() = 0;
    // The channel, or its whole peer connection, ended. Called once; after it, send() fails.
    virtual void on_closed(error_code why) = 0;
  };
  virtual ~DataChannel() = default;
  // Messages that arrive while no handler is set are dropped. nullptr detaches.
  virtual void set_handler(Handler* handler) = 0;
  // Queues one message; false when it cannot be queued now (wait for on_writable) or ever
  // (closed, longer than max_message_size()).
  virtual bool send(std::span<const uint8_t> message, bool binary = true) = 0;
  virtual size_t buffered() const = 0;       // bytes queued and not yet acknowledged
  virtual size_t max_message_size() const = 0;  // the smaller of the browser's and ours
  virtual void close() = 0;                  // no on_closed call follows
  virtual bool open() const = 0;
  virtual const std::string& label() const = 0;
  virtual const Address& remote() const = 0;  // the browser's nominated address
};

struct EndpointOptions {
  // Addresses to bind the UDP socket on (one socket per address; "0.0.0.0" and "::" are all
  // interfaces). The default: both loopbacks.
  std::vector<std::string> bind = {"127.0.0.1", "::1"};
  uint16_t port = 0;  // RTC_PORT; 0: any free port (the same on every bound address)
  // The addresses put in answers as host candidates (RTC_ADDRESSES: public addresses behind a
  // NAT); empty: the address the browser reached the server on (OfferContext::local_address).
  std::vector<std::string> advertised;
  size_t max_peers = 10000;               // RTC_MAX_PEERS: sessions, connected or not
  size_t max_pending = 2000;              // sessions whose handshake has not completed
  size_t max_pending_per_source = 32;     // of those, from one source (a browser's address)
  std::chrono::milliseconds handshake_timeout{20000};  // offer answered → data channel open
  uint16_t sctp_streams = 64;             // announced in and out; memory grows with them
  uint32_t max_message_size = 262144;     // a=max-message-size of our answers
  size_t send_buffer = 1 << 20;           // per peer connection, for back-pressure
  size_t mtu = 1200;                      // largest datagram sent
};

struct OfferContext {
  // Who sent the offer, for the per-source cap (the signalling connection's remote address).
  std::string source;
  // The address the browser reached the server on: the host candidate when no addresses are
  // advertised. An address the endpoint is not bound to (or "any") is skipped.
  std::string local_address;
  // Called on the rtc thread for each data channel the browser opens on this connection.
  std::function<void(std::shared_ptr<DataChannel>)> on_channel;
  // Called once on the rtc thread when the peer connection ends, whether a channel opened or not
  // (its channels have heard on_closed first). Not called when the endpoint is destroyed.
  std::function<void(error_code)> on_end;
};

class Endpoint {
 public:
  // Binds and starts the rtc thread. Throws std::runtime_error when no address can be bound.
  explicit Endpoint(EndpointOptions options);
  // Closes every session (no callbacks) and joins the rtc thread.
  ~Endpoint();
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  uint16_t port() const;

  // Answers a browser's offer at once: the answer's SDP, or errc::bad_sdp (`why` says more) or
  // errc::too_many_peers. The session waits for the browser's checks; it is dropped when no data
  // channel opens within handshake_timeout. Thread-safe.
  result<std::string> answer(std::string_view offer_sdp, OfferContext context, std::string* why = nullptr);

  // Runs `f` on the rtc thread (for protocol code that lives there).
  void post(std::function<void()> f);
  // Calls `f(now_ms)` on the rtc thread about every 10 ms (rate limits, policies' timers).
  // Set it before offers arrive; one at a time.
  void on_tick(std::function<void(int64_t now_ms)> f);

  struct Stats {
    size_t sessions = 0;  // every peer connection, handshaking or connected
    size_t pending = 0;   // of which handshaking
    size_t channels = 0;  // open data channels
    uint64_t answered = 0;
    uint64_t refused = 0;    // offers refused (bad SDP, caps)
    uint64_t failed = 0;     // sessions that ended before a channel opened
    uint64_t bytes_sent = 0;      // UDP payload bytes
    uint64_t bytes_received = 0;
    uint64_t stun_refused = 0;    // checks answered with an error (bad credentials, …)
  };
  Stats stats() const;  // thread-safe, cheap

 private:
  friend class Session;  // endpoint.cpp
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace seedcast::rtc
