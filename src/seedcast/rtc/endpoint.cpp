#include "seedcast/rtc/endpoint.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <utility>  // before Asio (GCC 12 and Boost 1.74)

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "seedcast/rtc/dcep.hpp"
#include "seedcast/rtc/dtls.hpp"
#include "seedcast/rtc/ice_lite.hpp"
#include "seedcast/rtc/sctp.hpp"
#include "seedcast/rtc/sdp.hpp"
#include "seedcast/rtc/stun.hpp"

namespace seedcast::rtc {
namespace asio = boost::asio;
using udp = asio::ip::udp;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr int64_t kTickMs = 10;

}  // namespace

class Session;

struct Endpoint::Impl : std::enable_shared_from_this<Endpoint::Impl> {
  EndpointOptions options;
  asio::io_context io{1};
  std::vector<std::unique_ptr<udp::socket>> sockets;
  std::vector<Address> bound;  // per socket: its local address (port included)
  std::vector<bool> dual;      // per socket: an IPv6 "any" socket that takes IPv4 too
  uint16_t port = 0;
  std::shared_ptr<const Certificate> certificate;
  asio::steady_timer timer{io};
  int64_t last_tick = 0;
  int64_t last_sweep = 0;
  std::thread thread;
  std::function<void(int64_t)> on_tick;  // set before offers arrive
  bool stopping = false;                 // rtc thread: nothing re-arms once set

  // rtc thread only
  std::unordered_map<std::string, std::shared_ptr<Session>> by_ufrag;  // owner of every session
  std::unordered_map<Address, Session*, AddressHash> by_address;        // authenticated paths
  std::vector<uint8_t> scratch;

  // any thread
  mutable std::mutex caps_mutex;
  size_t sessions = 0;
  size_t pending = 0;
  std::unordered_map<std::string, size_t> pending_by_source;
  std::atomic<size_t> channels{0};
  std::atomic<uint64_t> answered{0}, refused{0}, failed{0}, bytes_sent{0}, bytes_received{0}, stun_refused{0};

  void start_receive(size_t i);
  void read_ready(size_t i);
  void datagram(size_t socket, std::span<const uint8_t> d, const Address& from);
  void send(size_t socket, const Address& to, std::span<const uint8_t> d);
  void tick();
  void arm_timer();
  void finished_handshake(const std::string& source, bool ok);
  void forget(Session& s);
};

// One browser's peer connection: ICE-lite, DTLS, SCTP, its data channels. rtc thread only.
class Session final : public DtlsTransport::Handler,
                      public SctpAssociation::Handler,
                      public std::enable_shared_from_this<Session> {
 public:
  Session(Endpoint::Impl& ep, IceCredentials local, const Offer& offer, OfferContext context, int64_t now)
      : ep_(ep),
        ice_(std::move(local), IceCredentials{offer.ice_ufrag, offer.ice_pwd}),
        remote_max_message_(offer.max_message_size == 0 ? UINT32_MAX : offer.max_message_size),
        remote_fingerprint_(offer.fingerprint),
        remote_sctp_port_(offer.sctp_port),
        context_(std::move(context)),
        deadline_(now + ep.options.handshake_timeout.count()) {
    ice_.start(now);
  }

  const std::string& ufrag() const { return ice_.local().ufrag; }
  const std::string& source() const { return context_.source; }
  bool dead() const { return dead_; }
  bool handshaking() const { return handshaking_; }

  void start() {
    dtls_ = std::make_unique<DtlsTransport>(DtlsTransport::Role::server, ep_.certificate, remote_fingerprint_, *this,
                                            ep_.options.mtu);
    dtls_->start();
  }

  void on_stun(size_t socket, std::span<const uint8_t> d, const stun::Message& m, const Address& from, int64_t now) {
    if (dead_) return;
    IceLite::Reply r = ice_.on_stun(d, m, from, now);
    if (!r.datagram.empty()) ep_.send(socket, from, r.datagram);
    if (!r.authenticated) {
      if (!r.datagram.empty() && m.type == stun::kBindingRequest) ++ep_.stun_refused;
      return;
    }
    // The path is the browser's: DTLS may come from it now. A nomination moves the data there.
    if (ep_.by_address.emplace(from, this).second) paths_.push_back(from);
    if (!have_path_ || (ice_.selected() && *ice_.selected() == from)) {
      path_ = from;
      path_socket_ = socket;
      have_path_ = true;
    }
  }

  void on_dtls(size_t socket, std::span<const uint8_t> d, const Address& from) {
    if (dead_ || !dtls_) return;
    if (!ice_.selected()) {  // before nomination, answer where the handshake comes from
      path_ = from;
      path_socket_ = socket;
      have_path_ = true;
    }
    dtls_->receive(d);
  }

  void tick(int64_t now) {
    if (dead_) return;
    if (handshaking_ && now >= deadline_) return end(make_error(errc::handshake_timeout));
    if (ice_.consent_expired(now)) return end(make_error(errc::consent_expired));
    if (dtls_ && !dtls_->connected()) {
      if (auto t = dtls_->timeout_ms(); t && *t <= 0) dtls_->on_timer();
    }
  }

  // Ends the session: every channel hears on_closed(why) (unless !notify: the endpoint is going
  // away), the transports close quietly.
  void end(error_code why, bool notify = true);

  // Forgets the paths in the endpoint's map (at destruction).
  const std::vector<Address>& paths() const { return paths_; }

  // ---- data channels
  class Channel;
  bool send_message(uint16_t stream, std::span<const uint8_t> message, bool binary, bool ordered) {
    if (dead_ || !sctp_) return false;
    if (message.size() > max_message_size()) return false;
    uint32_t ppid = binary ? dcep::kPpidBinary : dcep::kPpidString;
    static const uint8_t zero = 0;
    if (message.empty()) {
      ppid = binary ? dcep::kPpidBinaryEmpty : dcep::kPpidStringEmpty;
      message = std::span<const uint8_t>(&zero, 1);
    }
    if (!sctp_->send(stream, ppid, message, ordered)) {
      wants_writable_ = true;
      return false;
    }
    return true;
  }
  size_t buffered() const { return sctp_ ? sctp_->buffered() : 0; }
  size_t max_message_size() const { return std::min<size_t>(remote_max_message_, ep_.options.max_message_size); }
  void close_stream(uint16_t stream) {
    channels_.erase(stream);
    if (sctp_ && !dead_) sctp_->reset_stream(stream);
  }
  const Address& path() const { return path_; }

  // ---- DtlsTransport::Handler
  void dtls_send(std::span<const uint8_t> datagram) override {
    if (have_path_) ep_.send(path_socket_, path_, datagram);
  }
  void dtls_data(std::span<const uint8_t> data) override {
    if (sctp_) sctp_->receive(data);
  }
  void dtls_connected() override {
    SctpOptions o;
    o.local_port = 5000;
    o.remote_port = remote_sctp_port_;
    o.streams = ep_.options.sctp_streams;
    o.max_message_size = static_cast<uint32_t>(ep_.options.max_message_size);
    o.send_buffer = ep_.options.send_buffer;
    o.low_water = ep_.options.send_buffer / 4;
    // Each SCTP packet travels in one DTLS record, which must fit a datagram.
    o.mtu = static_cast<uint16_t>(std::min<size_t>(dtls_->max_data(), 65535));
    try {
      sctp_ = SctpAssociation::create(SctpAssociation::Role::server, o, *this);
      sctp_->start();
    } catch (const std::exception& e) {
      spdlog::warn("rtc {}: cannot start SCTP: {}", context_.source, e.what());
      end(make_error(errc::sctp_failed));
    }
  }
  void dtls_closed(error_code why) override {
    spdlog::debug("rtc {}: DTLS ended: {}", context_.source, why.message());
    end(why);
  }

  // ---- SctpAssociation::Handler
  void sctp_send(std::span<const uint8_t> packet) override {
    if (dtls_) dtls_->send(packet);
  }
  void sctp_connected() override {}
  void sctp_message(uint16_t stream, uint32_t ppid, std::span<const uint8_t> message) override;
  void sctp_writable() override;
  void sctp_stream_reset(uint16_t stream) override;
  void sctp_closed(error_code why) override { end(why); }

 private:
  void close_channel(Channel& c, error_code why);

  Endpoint::Impl& ep_;
  IceLite ice_;
  uint32_t remote_max_message_;
  std::array<uint8_t, 32> remote_fingerprint_;
  uint16_t remote_sctp_port_;
  OfferContext context_;
  int64_t deadline_;
  std::unique_ptr<DtlsTransport> dtls_;
  std::unique_ptr<SctpAssociation> sctp_;
  std::unordered_map<uint16_t, std::shared_ptr<Channel>> channels_;
  std::vector<Address> paths_;
  Address path_;
  size_t path_socket_ = 0;
  bool have_path_ = false;
  bool handshaking_ = true;
  bool dead_ = false;
  bool wants_writable_ = false;
};

class Session::Channel final : public DataChannel {
 public:
  Channel(std::weak_ptr<Session> s, uint16_t stream, dcep::Open open, Address remote, size_t max_message)
      : session_(std::move(s)),
        stream_(stream),
        ordered_(open.ordered()),
        label_(std::move(open.label)),
        remote_(remote),
        max_message_(max_message) {}

  void set_handler(Handler* h) override { handler_ = h; }
  bool send(std::span<const uint8_t> message, bool binary) override {
    auto s = session_.lock();
    return open_ && s && s->send_message(stream_, message, binary, ordered_);
  }
  size_t buffered() const override {
    auto s = session_.lock();
    return s ? s->buffered() : 0;
  }
  size_t max_message_size() const override { return max_message_; }
  void close() override {
    if (!open_) return;
    open_ = false;
    handler_ = nullptr;
    if (auto s = session_.lock()) s->close_stream(stream_);
  }
  bool open() const override { return open_; }
  const std::string& label() const override { return label_; }
  const Address& remote() const override { return remote_; }

  // From the session.
  void deliver(std::span<const uint8_t> m, bool binary) {
    if (open_ && handler_) handler_->on_message(m, binary);
  }
  void writable() {
    if (open_ && handler_) handler_->on_writable();
  }
  void closed(error_code why) {
    if (!open_) return;
    open_ = false;
    Handler* h = std::exchange(handler_, nullptr);
    if (h) h->on_closed(why);
  }

 private:
  std::weak_ptr<Session> session_;
  uint16_t stream_;
  bool ordered_;
  std::string label_;
  Address remote_;
  size_t max_message_;
  Handler* handler_ = nullptr;
  bool open_ = true;
};

void Session::end(error_code why, bool notify) {
  if (dead_) return;
  dead_ = true;
  if (handshaking_) {
    handshaking_ = false;
    ++ep_.failed;
    ep_.finished_handshake(context_.source, false);
  }
  auto channels = std::move(channels_);
  channels_.clear();
  for (auto& [stream, c] : channels) {
    if (!notify) c->set_handler(nullptr);
    close_channel(*c, why);
  }
  if (sctp_) sctp_->close();
  if (dtls_) dtls_->close();
  ep_.forget(*this);
  if (notify && context_.on_end) context_.on_end(why);
}

void Session::close_channel(Channel& c, error_code why) {
  if (c.open()) --ep_.channels;
  c.closed(why);
}

void Session::sctp_message(uint16_t stream, uint32_t ppid, std::span<const uint8_t> message) {
  if (dead_) return;
  if (ppid == dcep::kPpidControl) {
    if (message.empty() || message[0] != dcep::kOpen) return;  // an ACK (we never open) or junk
    auto open = dcep::parse_open(message);
    if (!open) return;
    auto ack = dcep::ack_message();
    sctp_->send(stream, dcep::kPpidControl, ack, true);
    if (channels_.count(stream)) return;  // a second OPEN on a live stream: already answered
    auto c = std::make_shared<Channel>(weak_from_this(), stream, std::move(*open), path_, max_message_size());
    channels_.emplace(stream, c);
    ++ep_.channels;
    if (handshaking_) {
      handshaking_ = false;
      ep_.finished_handshake(context_.source, true);
    }
    if (context_.on_channel) context_.on_channel(c);
    return;
  }
  auto it = channels_.find(stream);
  if (it == channels_.end()) return;  // data before OPEN, or on a closed stream
  auto c = it->second;                // the handler may close it
  switch (ppid) {
    case dcep::kPpidString: c->deliver(message, false); break;
    case dcep::kPpidBinary: c->deliver(message, true); break;
    case dcep::kPpidStringEmpty: c->deliver({}, false); break;
    case dcep::kPpidBinaryEmpty: c->deliver({}, true); break;
    default: break;  // deprecated partial PPIDs (52, 54) and others: not spoken by browsers now
  }
}

void Session::sctp_writable() {
  if (!wants_writable_) return;
  wants_writable_ = false;
  std::vector<std::shared_ptr<Channel>> live;
  live.reserve(channels_.size());
  for (auto& [_, c] : channels_) live.push_back(c);
  for (auto& c : live) c->writable();
}

void Session::sctp_stream_reset(uint16_t stream) {
  auto it = channels_.find(stream);
  if (it == channels_.end()) return;
  auto c = it->second;
  channels_.erase(it);
  close_channel(*c, make_error(errc::closed));
  if (sctp_ && !dead_) sctp_->reset_stream(stream);  // close our half too (RFC 8831 §6.7)
}

// ---- Endpoint::Impl

void Endpoint::Impl::send(size_t socket, const Address& to, std::span<const uint8_t> d) {
  if (socket >= sockets.size()) return;
  udp::socket& s = *sockets[socket];
  sockaddr_storage ss;
  const int family = bound[socket].v6 ? AF_INET6 : AF_INET;
  if (to.v6 && family == AF_INET) return;
  if (!to.v6 && family == AF_INET6 && !dual[socket]) return;
  socklen_t len = to.to_sockaddr(ss, family);
  for (;;) {
    ssize_t n = ::sendto(s.native_handle(), d.data(), d.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                         reinterpret_cast<sockaddr*>(&ss), len);
    if (n >= 0) {
      bytes_sent += static_cast<uint64_t>(n);
      return;
    }
    if (errno == EINTR) continue;
    // EAGAIN: the socket buffer is full; UDP may drop, and SCTP retransmits what it needs.
    return;
  }
}

void Endpoint::Impl::start_receive(size_t i) {
  auto self = shared_from_this();
  sockets[i]->async_wait(udp::socket::wait_read, [self, i](const boost::system::error_code& ec) {
    if (ec || self->stopping) return;
    self->read_ready(i);
    self->start_receive(i);
  });
}

void Endpoint::Impl::read_ready(size_t i) {
  constexpr size_t kBatch = 32, kSize = 2048;
  if (scratch.size() < kBatch * kSize) scratch.resize(kBatch * kSize);
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  sockaddr_storage from[kBatch];
  // A few batches per wake-up, so that one busy socket does not starve the timers.
  for (int round = 0; round < 8; ++round) {
    for (size_t k = 0; k < kBatch; ++k) {
      iov[k] = {scratch.data() + k * kSize, kSize};
      std::memset(&msgs[k], 0, sizeof msgs[k]);
      msgs[k].msg_hdr.msg_iov = &iov[k];
      msgs[k].msg_hdr.msg_iovlen = 1;
      msgs[k].msg_hdr.msg_name = &from[k];
      msgs[k].msg_hdr.msg_namelen = sizeof from[k];
    }
    int n = ::recvmmsg(sockets[i]->native_handle(), msgs, kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    for (int k = 0; k < n; ++k) {
      if (msgs[k].msg_hdr.msg_flags & MSG_TRUNC) continue;  // larger than any WebRTC datagram
      auto addr = Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&from[k]));
      if (!addr) continue;
      bytes_received += msgs[k].msg_len;
      datagram(i, std::span<const uint8_t>(scratch.data() + static_cast<size_t>(k) * kSize, msgs[k].msg_len), *addr);
    }
    if (static_cast<size_t>(n) < kBatch) return;
  }
}

void Endpoint::Impl::datagram(size_t socket, std::span<const uint8_t> d, const Address& from) {
  if (d.empty()) return;
  if (stun::is_stun(d)) {
    auto m = stun::parse(d);
    if (!m) return;
    if (auto it = by_address.find(from); it != by_address.end()) {
      it->second->on_stun(socket, d, *m, from, now_ms());
      return;
    }
    // An unknown path: the session is the one whose ufrag starts USERNAME ("ours:theirs").
    if (!m->username) return;
    std::string_view user = *m->username;
    auto colon = user.find(':');
    if (colon == std::string_view::npos) return;
    auto it = by_ufrag.find(std::string(user.substr(0, colon)));
    if (it == by_ufrag.end()) return;
    it->second->on_stun(socket, d, *m, from, now_ms());
    return;
  }
  if (d[0] >= 20 && d[0] <= 63) {
    // DTLS only from a path that passed an authenticated check.
    auto it = by_address.find(from);
    if (it != by_address.end()) it->second->on_dtls(socket, d, from);
  }
}

void Endpoint::Impl::finished_handshake(const std::string& source, bool ok) {
  std::lock_guard lock(caps_mutex);
  if (pending > 0) --pending;
  if (auto it = pending_by_source.find(source); it != pending_by_source.end() && --it->second == 0)
    pending_by_source.erase(it);
}

void Endpoint::Impl::forget(Session& s) {
  for (const auto& a : s.paths()) {
    auto it = by_address.find(a);
    if (it != by_address.end() && it->second == &s) by_address.erase(it);
  }
  // The session itself goes at the next sweep (we may be inside one of its calls).
}

void Endpoint::Impl::arm_timer() {
  timer.expires_after(std::chrono::milliseconds(kTickMs));
  auto self = shared_from_this();
  timer.async_wait([self](const boost::system::error_code& ec) {
    // A wait that had already completed when the timer was cancelled still comes with success.
    if (ec || self->stopping) return;
    self->tick();
    self->arm_timer();
  });
}

void Endpoint::Impl::tick() {
  const int64_t now = now_ms();
  const int64_t elapsed = last_tick == 0 ? kTickMs : now - last_tick;
  last_tick = now;
  sctp_handle_timers(static_cast<uint32_t>(std::clamp<int64_t>(elapsed, 0, 1000)));
  if (on_tick) on_tick(now);
  // Handshaking sessions every tick (DTLS retransmissions); the others once a second.
  const bool sweep = now - last_sweep >= 1000;
  if (sweep) last_sweep = now;
  std::vector<std::string> gone;
  for (auto& [ufrag, s] : by_ufrag) {
    if (s->handshaking() || sweep) s->tick(now);
    if (s->dead()) gone.push_back(ufrag);
  }
  for (const auto& u : gone) {
    auto it = by_ufrag.find(u);
    if (it == by_ufrag.end()) continue;
    forget(*it->second);
    by_ufrag.erase(it);
    std::lock_guard lock(caps_mutex);
    if (sessions > 0) --sessions;
  }
}

// ---- Endpoint

Endpoint::Endpoint(EndpointOptions options) : impl_(std::make_shared<Impl>()) {
  auto& m = *impl_;
  m.options = std::move(options);
  m.certificate = Certificate::generate();
  uint16_t port = m.options.port;
  std::string errors;
  for (const auto& host : m.options.bind) {
    auto a = Address::parse(host, port);
    if (!a) {
      errors += " " + host + ": not an address;";
      continue;
    }
    try {
      auto s = std::make_unique<udp::socket>(m.io);
      const bool v6 = a->v6 || host == "::";
      // "::" alone takes IPv4 too (as the HTTP server's dual-stack socket does), unless
      // "0.0.0.0" has its own socket.
      const bool any4 = std::find(m.options.bind.begin(), m.options.bind.end(), "0.0.0.0") != m.options.bind.end();
      const bool dual = host == "::" && !any4;
      s->open(v6 ? udp::v6() : udp::v4());
      if (v6) s->set_option(asio::ip::v6_only(!dual));
      s->set_option(udp::socket::reuse_address(false));
      udp::endpoint ep(asio::ip::make_address(host), port);
      s->bind(ep);
      s->non_blocking(true);
      // Room for bursts: many peers' datagrams arrive between two wake-ups.
      s->set_option(asio::socket_base::receive_buffer_size(4 << 20));
      s->set_option(asio::socket_base::send_buffer_size(4 << 20));
      if (port == 0) port = s->local_endpoint().port();
      Address local = *a;
      local.port = port;
      local.v6 = v6;
      m.bound.push_back(local);
      m.dual.push_back(dual);
      m.sockets.push_back(std::move(s));
    } catch (const std::exception& e) {
      errors += " " + host + ": " + e.what() + ";";
    }
  }
  if (m.sockets.empty()) throw std::runtime_error("RTC_PORT: cannot bind a UDP socket:" + errors);
  if (!errors.empty()) spdlog::warn("rtc: some addresses could not be bound:{}", errors);
  m.port = port;
  for (size_t i = 0; i < m.sockets.size(); ++i) m.start_receive(i);
  m.arm_timer();
  m.thread = std::thread([impl = impl_] { impl->io.run(); });
}

Endpoint::~Endpoint() {
  auto impl = impl_;
  asio::post(impl->io, [impl] {
    impl->stopping = true;
    for (auto& [_, s] : impl->by_ufrag) s->end(make_error(errc::closed), false);
    impl->by_ufrag.clear();
    impl->by_address.clear();
    impl->timer.cancel();
    impl->on_tick = nullptr;
    for (auto& s : impl->sockets) {
      boost::system::error_code ec;
      s->close(ec);
    }
    // No stop(): the aborted waits run and return without re-arming, so run() ends once nothing
    // is left, and no handler (each holds the Impl) outlives it.
  });
  if (impl->thread.joinable()) impl->thread.join();
}

uint16_t Endpoint::port() const { return impl_->port; }

void Endpoint::post(std::function<void()> f) { asio::post(impl_->io, std::move(f)); }

void Endpoint::on_tick(std::function<void(int64_t)> f) {
  asio::post(impl_->io, [impl = impl_, f = std::move(f)]() mutable { impl->on_tick = std::move(f); });
}

result<std::string> Endpoint::answer(std::string_view offer_sdp, OfferContext context, std::string* why) {
  auto& m = *impl_;
  auto offer = parse_offer(offer_sdp, why);
  if (!offer) {
    ++m.refused;
    return fail(offer.error());
  }
  {
    std::lock_guard lock(m.caps_mutex);
    size_t& from_source = m.pending_by_source[context.source];
    if (m.sessions >= m.options.max_peers || m.pending >= m.options.max_pending ||
        from_source >= m.options.max_pending_per_source) {
      if (from_source == 0) m.pending_by_source.erase(context.source);
      ++m.refused;
      if (why) *why = "too many WebRTC peers or pending offers";
      return fail(make_error(errc::too_many_peers));
    }
    ++m.sessions;
    ++m.pending;
    ++from_source;
  }
  Answer a;
  IceCredentials local = random_ice_credentials();
  a.ice_ufrag = local.ufrag;
  a.ice_pwd = local.pwd;
  a.fingerprint = m.certificate->fingerprint();
  a.max_message_size = m.options.max_message_size;
  RAND_bytes(reinterpret_cast<unsigned char*>(&a.session_id), sizeof a.session_id);
  a.session_id &= 0x7fffffffffffffffull;
  auto add_candidate = [&](const std::string& ip) {
    auto addr = Address::parse(ip, m.port);
    if (!addr) return;
    for (size_t i = 0; i < m.bound.size(); ++i) {
      const Address& b = m.bound[i];
      const bool any = std::all_of(b.ip.begin(), b.ip.end(), [](uint8_t x) { return x == 0; });
      if (b.v6 != addr->v6 && !(m.dual[i] && !addr->v6)) continue;
      if (any || b.ip == addr->ip) {
        if (std::find(a.candidates.begin(), a.candidates.end(), *addr) == a.candidates.end())
          a.candidates.push_back(*addr);
        return;
      }
    }
  };
  if (!m.options.advertised.empty()) {
    for (const auto& ip : m.options.advertised) {
      if (auto addr = Address::parse(ip, m.port)) a.candidates.push_back(*addr);
    }
  } else {
    add_candidate(context.local_address);
    // Also the other bound addresses that are not "any": loopback pairs (127.0.0.1 and ::1).
    for (const auto& b : m.bound) {
      const bool any = std::all_of(b.ip.begin(), b.ip.end(), [](uint8_t x) { return x == 0; });
      if (!any) add_candidate(b.ip_string());
    }
  }
  std::string text = write_answer(*offer, a);
  ++m.answered;
  auto impl = impl_;
  asio::post(m.io, [impl, local = std::move(local), offer = std::move(*offer), context = std::move(context)]() mutable {
    if (impl->stopping) return;  // answered as the endpoint closed: the browser's checks find nobody
    auto s = std::make_shared<Session>(*impl, local, offer, std::move(context), now_ms());
    if (!impl->by_ufrag.emplace(s->ufrag(), s).second) {  // a 48-bit collision: refuse this one
      s->end(make_error(errc::closed), false);
      std::lock_guard lock(impl->caps_mutex);
      if (impl->sessions > 0) --impl->sessions;
      return;
    }
    s->start();
  });
  return text;
}

Endpoint::Stats Endpoint::stats() const {
  auto& m = *impl_;
  Stats s;
  {
    std::lock_guard lock(m.caps_mutex);
    s.sessions = m.sessions;
    s.pending = m.pending;
  }
  s.channels = m.channels.load();
  s.answered = m.answered.load();
  s.refused = m.refused.load();
  s.failed = m.failed.load();
  s.bytes_sent = m.bytes_sent.load();
  s.bytes_received = m.bytes_received.load();
  s.stun_refused = m.stun_refused.load();
  return s;
}

}  // namespace seedcast::rtc
