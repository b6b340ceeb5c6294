#include "seedcast/rtc/detail/usrsctp_association.hpp"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>
#include <usrsctp.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace seedcast::rtc::detail {
namespace {

// usrsctp's getsockopt answers SCTP_GET_SNDBUF_USE (netinet/sctp_usrreq.c: the association's
// total_output_queue_size, i.e. queued and unacknowledged bytes), but usrsctp.h does not
// declare it.
constexpr int kGetSndbufUse = 0x00001101;
struct SndbufUse {
  sctp_assoc_t assoc_id;
  uint32_t total_sndbuf;
  uint32_t total_recv_buf;
};

// Receive window (SO_RCVBUF). Messages longer than half of it are handed out in parts (partial
// delivery) and reassembled here, so it need not hold the longest message; what a peer can
// make usrsctp keep per association (out-of-order data) is bounded by it and by usrsctp's
// 512 chunks per association (sctp_max_chunks_on_queue).
constexpr int kReceiveWindow = 256 << 10;

void* address_of(uint64_t id) { return reinterpret_cast<void*>(static_cast<uintptr_t>(id)); }
uint64_t id_of(void* address) { return reinterpret_cast<uintptr_t>(address); }

// CRC32c (RFC 9260 Appendix B) of a packet whose checksum field is zero, in the form the
// field holds (what usrsctp_crc32c returns). x86-64 servers have the SSE4.2 instruction for
// it, much faster than usrsctp's tables; other machines use those.
#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(const uint8_t* p, size_t n) {
  uint64_t crc = 0xffffffff;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    crc = _mm_crc32_u64(crc, word);
  }
  auto crc32 = static_cast<uint32_t>(crc);
  for (; n > 0; ++p, --n) crc32 = _mm_crc32_u8(crc32, *p);
  return ~crc32;  // little-endian: already in the field's byte order
}
#endif

uint32_t crc32c(uint8_t* p, size_t n) {
#if defined(__x86_64__)
  static const bool sse42 = __builtin_cpu_supports("sse4.2");
  if (sse42) return crc32c_sse42(p, n);
#endif
  return usrsctp_crc32c(p, n);
}

uint16_t load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t load32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// Whether a packet from the peer is well formed enough to reach usrsctp: every chunk's length
// at least its header and within the packet; an INIT or INIT-ACK alone in its packet (RFC 9260
// §6.10), with non-zero initiate tag and stream counts, and parameters that each hold at least
// their header and end within the chunk. Debian's usrsctp 0.9.5.0 loops for ever on an INIT
// with a zero-length parameter sent to an existing association (fixed upstream after that
// release, sctplab/usrsctp#570; found here by fuzz/sctp_fuzz.cpp): one peer could stop every
// association of the process. Malformed packets are dropped, as a lost packet would be.
bool well_formed(std::span<const uint8_t> p) {
  constexpr uint8_t kInit = 1, kInitAck = 2;
  constexpr size_t kCommonHeader = 12, kChunkHeader = 4, kInitChunk = 20, kParamHeader = 4;
  if (p.size() < kCommonHeader + kChunkHeader) return false;
  for (size_t at = kCommonHeader; at < p.size();) {
    if (p.size() - at < kChunkHeader) return false;
    size_t length = load16(&p[at + 2]);
    if (length < kChunkHeader || length > p.size() - at) return false;
    uint8_t type = p[at];
    if (type == kInit || type == kInitAck) {
      if (at != kCommonHeader || p.size() - at > ((length + 3) & ~size_t{3})) return false;
      if (length < kInitChunk || load32(&p[at + 4]) == 0 || load16(&p[at + 12]) == 0 ||
          load16(&p[at + 14]) == 0)
        return false;
      const size_t end = at + length;
      for (size_t q = at + kInitChunk; q < end;) {
        if (end - q < kParamHeader) return false;
        size_t plen = load16(&p[q + 2]);
        if (plen < kParamHeader || plen > end - q) return false;
        q += (plen + 3) & ~size_t{3};
      }
    }
    at += (length + 3) & ~size_t{3};  // the last chunk's padding may be missing
  }
  return true;
}

// Debug builds: every call must come from the thread of the first one (sctp.hpp). A call from
// another thread is logged, not stopped: release builds do not check.
void check_thread(const char* what) {
#ifndef NDEBUG
  static const std::thread::id owner = std::this_thread::get_id();
  if (std::this_thread::get_id() != owner)
    spdlog::error("sctp: {} called off the rtc thread; usrsctp must be driven from one thread",
                  what);
#else
  (void)what;
#endif
}

}  // namespace

// The process-wide part: usrsctp's global stack, set up once and never torn down (usrsctp
// cannot be re-initialised safely, and the process lives as long as it is needed).
struct UsrsctpStack {
  std::unordered_map<uint64_t, UsrsctpAssociation*> live;  // by id (= AF_CONN address)
  std::vector<uint64_t> dirty;                             // to pump, in order
  // Sockets to abort and close, and addresses (ids) to deregister, once usrsctp is not under
  // way: what associations destroyed or aborted from inside sctp_send left.
  std::vector<std::pair<struct socket*, uint64_t>> graveyard;
  int inside = 0;         // usrsctp calls under way (their callbacks may be running)
  bool draining = false;  // drain() under way (handler code may call in again)
  std::mt19937_64 random{std::random_device{}()};
  // One read buffer for every association: all run on one thread, and a buffer per
  // association would cost 64 KiB per viewer.
  std::array<uint8_t, 64 << 10> buffer{};

  static bool initialized;
  static UsrsctpStack& get() {
    static UsrsctpStack* stack = [] {
      init();
      initialized = true;
      return new UsrsctpStack;  // never freed: usrsctp may call back until the process ends
    }();
    return *stack;
  }

  // usrsctp_init_nothreads: no timer thread (sctp_handle_timers drives the timers) and no UDP
  // encapsulation sockets (port 0). usrsctp still starts its "iterator" thread (issue #471); for
  // AF_CONN addresses its only work, after an address is deregistered, touches no association
  // and sends nothing, so the output callback only ever runs on the rtc thread.
  static void init() {
    usrsctp_init_nothreads(0, &on_output, nullptr);
    // ECN needs CE marks from the IP layer, which never reach SCTP inside DTLS over UDP;
    // browsers' SCTP (dcSCTP) does not offer it either.
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    // ASCONF changes the addresses of a multi-homed association: an AF_CONN association has
    // one opaque address. AUTH (RFC 4895) only guards ASCONF here, and DTLS already
    // authenticates every packet; neither is needed by stream reset or PR-SCTP, and without
    // them a peer reaches less of usrsctp's parsing.
    usrsctp_sysctl_set_sctp_asconf_enable(0);
    usrsctp_sysctl_set_sctp_auto_asconf(0);
    usrsctp_sysctl_set_sctp_auth_enable(0);
    // PR-SCTP (RFC 3758): browsers open partially reliable channels and send FORWARD-TSN; RFC
    // 8831 §6.1 requires it. Stream reset (RFC 6525) closes data channels (RFC 8831 §6.7).
    usrsctp_sysctl_set_sctp_pr_enable(1);
    usrsctp_sysctl_set_sctp_reconfig_enable(1);
    // Neither extension is spoken by browsers (defaults, stated).
    usrsctp_sysctl_set_sctp_nrsack_enable(0);
    usrsctp_sysctl_set_sctp_pktdrop_enable(0);
    // Timers. Initial RTO 1 s (RFC 6298) instead of 3 s: a lost INIT or first DATA costs a
    // second, not three. Minimum RTO 400 ms instead of 1 s: tail losses (no fast retransmit
    // possible) recover sooner, while staying above the peer's delayed-SACK wait (200 ms)
    // plus a typical RTT, so a lone message is not retransmitted for nothing. Maximum 10 s
    // instead of 60 s: a path that comes back is used again within seconds; a dead peer is
    // noticed by ICE consent (30 s) anyway.
    usrsctp_sysctl_set_sctp_rto_initial_default(1000);
    usrsctp_sysctl_set_sctp_rto_min_default(400);
    usrsctp_sysctl_set_sctp_rto_max_default(10000);
    usrsctp_sysctl_set_sctp_init_rto_max_default(10000);
    // Initial congestion window of 10 packets (like TCP's RFC 6928 and dcSCTP) instead of 3:
    // the first video segment to a new viewer leaves in one round trip more, not three.
    usrsctp_sysctl_set_sctp_initial_cwnd(10);
    // At most 4 packets sent back to back per SACK or timer event (usrsctp's default,
    // stated): with cwnd-based bursting on, it only smooths bursts after idle periods or
    // losses, and the measured throughput is the same with 8 or 16.
    usrsctp_sysctl_set_sctp_max_burst_default(4);
    // CRC32c: browsers check it on what we send, so on_output fills it in (usrsctp's tables
    // cost a third of its CPU time at 16 KiB messages; the SSE4.2 instruction next to
    // nothing). On input it is not checked: DTLS has authenticated every packet before it
    // gets here, so the CRC cannot catch corruption, and a hostile peer computes it anyway.
    usrsctp_enable_crc32c_offload();
  }

  // `buffer` is usrsctp's own copy of the packet, ours to write into.
  static int on_output(void* address, void* buffer, size_t length, uint8_t, uint8_t) {
    auto& s = get();
    auto it = s.live.find(id_of(address));
    if (it == s.live.end() || length < sizeof(sctp_common_header))
      return 0;  // an association already gone: dropped, as a lost packet would be
    auto* packet = static_cast<uint8_t*>(buffer);
    uint32_t crc = crc32c(packet, length);  // usrsctp left the field zero (offload)
    std::memcpy(packet + offsetof(sctp_common_header, crc32c), &crc, sizeof crc);
    it->second->output({packet, length});
    return 0;
  }

  // usrsctp calls this when a socket has something to read, room to write, or an error. The
  // argument is the association's id, not a pointer.
  static void on_upcall(struct socket*, void* arg, int) {
    auto& s = get();
    uint64_t id = id_of(arg);
    auto it = s.live.find(id);
    if (it != s.live.end()) s.mark_dirty(it->second, id);
  }

  // Pumps every dirty association, including those that become dirty meanwhile. Not while
  // usrsctp is under way (its locks are held) nor from inside a pump (the outer loop goes on).
  void drain() {
    if (draining || inside > 0) return;
    draining = true;
    bury();
    for (size_t i = 0; i < dirty.size(); ++i) {  // grows while pumping
      auto it = live.find(dirty[i]);
      if (it == live.end()) continue;  // destroyed meanwhile
      it->second->dirty_ = false;
      it->second->pump();
    }
    dirty.clear();
    bury();
    draining = false;
  }

  void bury() {
    while (!graveyard.empty()) {
      auto [so, id] = graveyard.back();
      graveyard.pop_back();
      ++inside;
      if (so != nullptr) {
        linger l = {1, 0};  // ABORT, freed at once
        usrsctp_setsockopt(so, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        usrsctp_close(so);
      }
      if (id != 0) usrsctp_deregister_address(address_of(id));
      --inside;
    }
  }

  void mark_dirty(UsrsctpAssociation* a, uint64_t id) {
    if (a->dirty_) return;
    a->dirty_ = true;
    dirty.push_back(id);
  }

  // A public call made while usrsctp is under way, i.e. from inside Handler::sctp_send:
  // usrsctp's locks are held, and calling it again could deadlock. Refused.
  bool reentered(const char* what) {
    if (inside == 0) return false;
    spdlog::error("sctp: {} called from inside sctp_send; refused", what);
    return true;
  }
};

bool UsrsctpStack::initialized = false;

namespace {

// RAII: a usrsctp call that may call back is under way.
struct Inside {
  UsrsctpStack& s;
  explicit Inside(UsrsctpStack& stack) : s(stack) { ++s.inside; }
  ~Inside() { --s.inside; }
  Inside(const Inside&) = delete;
  Inside& operator=(const Inside&) = delete;
};

}  // namespace

UsrsctpAssociation::UsrsctpAssociation(Role role, const SctpOptions& options, Handler& handler)
    : role_(role), options_(options), handler_(handler) {
  check_thread("create");
  auto& s = UsrsctpStack::get();
  options_.streams = std::max<uint16_t>(options_.streams, 1);
  options_.mtu = std::max<uint16_t>(options_.mtu, 512);
  options_.send_buffer = std::max<size_t>(options_.send_buffer, 1);
  // usrsctp keeps ~400 bytes of bookkeeping per queued message beside its payload (measured),
  // which buffered() does not count: 1 MiB of 4-byte messages would cost 100 MB. Messages are
  // also capped by count, one per 256 bytes of send buffer (4096 for 1 MiB).
  max_queued_messages_ =
      static_cast<uint32_t>(std::clamp<size_t>(options_.send_buffer / 256, 256, 1 << 20));
  do id_ = s.random();
  while (id_ == 0 || s.live.count(id_) != 0);
  usrsctp_register_address(address_of(id_));
  so_ = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, nullptr, nullptr, 0, nullptr);
  if (so_ == nullptr) {
    usrsctp_deregister_address(address_of(id_));
    throw std::runtime_error("sctp: usrsctp_socket failed: " + std::string(std::strerror(errno)));
  }
  s.live.emplace(id_, this);
  try {
    configure();
  } catch (...) {
    s.live.erase(id_);
    Inside in(s);
    usrsctp_close(so_);
    usrsctp_deregister_address(address_of(id_));
    throw;
  }
}

void UsrsctpAssociation::configure() {
  auto set = [this](int level, int name, const void* value, socklen_t size, const char* what) {
    if (usrsctp_setsockopt(so_, level, name, value, size) != 0)
      throw std::runtime_error(std::string("sctp: setting ") + what + ": " + std::strerror(errno));
  };
  // Receive through the upcall and usrsctp_recvv, not usrsctp's receive callback: the
  // callback runs inside usrsctp (with its locks held) and hands over a buffer usrsctp
  // allocated for each read, so handler code there could not safely call send() or close();
  // the upcall only marks the association, and reading happens after usrsctp has returned,
  // into one shared buffer.
  if (usrsctp_set_non_blocking(so_, 1) != 0)
    throw std::runtime_error("sctp: usrsctp_set_non_blocking failed");
  usrsctp_set_upcall(so_, &UsrsctpStack::on_upcall, address_of(id_));

  // Whole messages per usrsctp_sendv (SCTP_EXPLICIT_EOR off): a non-blocking send then takes
  // all of a message or none of it. The send buffer holds send_buffer plus one longest
  // message, so whatever send() lets through below send_buffer fits.
  uint64_t sndbuf = uint64_t{options_.send_buffer} + options_.max_message_size;
  int sndbuf_int = static_cast<int>(std::min<uint64_t>(sndbuf, INT_MAX));
  set(SOL_SOCKET, SO_SNDBUF, &sndbuf_int, sizeof sndbuf_int, "SO_SNDBUF");
  int rcvbuf = kReceiveWindow;
  set(SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf, "SO_RCVBUF");

  int on = 1;
  // No Nagle: DCEP and the BitTorrent wire send small messages that must leave at once.
  set(IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on, "SCTP_NODELAY");
  // Stream id and PPID of each read (sctp_rcvinfo).
  set(IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof on, "SCTP_RECVRCVINFO");
  // One message at a time: a message delivered in parts is finished before another starts.
  uint32_t level = 0;
  set(IPPROTO_SCTP, SCTP_FRAGMENT_INTERLEAVE, &level, sizeof level, "SCTP_FRAGMENT_INTERLEAVE");
  // Accept the peer's requests to reset its outgoing streams (RFC 6525).
  sctp_assoc_value reset{};
  reset.assoc_id = SCTP_FUTURE_ASSOC;
  reset.assoc_value = SCTP_ENABLE_RESET_STREAM_REQ;
  set(IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &reset, sizeof reset, "SCTP_ENABLE_STREAM_RESET");

  sctp_initmsg init{};
  init.sinit_num_ostreams = options_.streams;
  init.sinit_max_instreams = options_.streams;
  set(IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof init, "SCTP_INITMSG");

  // Fixed path MTU, no PMTU discovery (usrsctp has no probing without ICMP, RFC 8831 §5):
  // each packet must fit one DTLS record in one datagram. For AF_CONN usrsctp adds the 12-byte
  // common header to the MTU it is given.
  sctp_paddrparams params{};
  params.spp_assoc_id = SCTP_FUTURE_ASSOC;
  params.spp_flags = SPP_PMTUD_DISABLE;
  params.spp_pathmtu = options_.mtu - sizeof(sctp_common_header);
  set(IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &params, sizeof params, "SCTP_PEER_ADDR_PARAMS");

  // Notifications read: the association's state, the peer's SHUTDOWN, streams reset by the
  // peer, partial deliveries cut short, and the send queue running dry (the message count
  // starts again). Not SCTP_SEND_FAILED_EVENT: it would carry back the bytes of every unsent
  // message, and the association fails anyway.
  for (uint16_t type : {SCTP_ASSOC_CHANGE, SCTP_SHUTDOWN_EVENT, SCTP_STREAM_RESET_EVENT,
                        SCTP_PARTIAL_DELIVERY_EVENT, SCTP_SENDER_DRY_EVENT}) {
    sctp_event event{};
    event.se_assoc_id = SCTP_FUTURE_ASSOC;
    event.se_type = type;
    event.se_on = 1;
    set(IPPROTO_SCTP, SCTP_EVENT, &event, sizeof event, "SCTP_EVENT");
  }

  sockaddr_conn local{};
  local.sconn_family = AF_CONN;
  local.sconn_port = htons(options_.local_port);
  local.sconn_addr = address_of(id_);
  if (usrsctp_bind(so_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
    throw std::runtime_error(std::string("sctp: usrsctp_bind: ") + std::strerror(errno));
}

UsrsctpAssociation::~UsrsctpAssociation() {
  check_thread("destroy");
  auto& s = UsrsctpStack::get();
  s.live.erase(id_);  // from here on, usrsctp's callbacks for this id find nothing
  // The socket goes with an ABORT that finds no handler (dropped), which frees usrsctp's
  // association at once; then the address. Both wait for usrsctp to return when it is under
  // way (a destruction from inside sctp_send).
  s.graveyard.emplace_back(std::exchange(so_, nullptr), id_);
  if (s.inside == 0) s.bury();
}

bool UsrsctpAssociation::alive(uint64_t id) { return UsrsctpStack::get().live.count(id) != 0; }

void UsrsctpAssociation::start() {
  check_thread("start");
  auto& s = UsrsctpStack::get();
  if (s.reentered("start") || state_ != State::idle) return;
  state_ = State::connecting;
  // Both roles connect (sctp.hpp): usrsctp answers a crossing INIT as RFC 9260 §5.2.1 says.
  sockaddr_conn remote{};
  remote.sconn_family = AF_CONN;
  remote.sconn_port = htons(options_.remote_port);
  remote.sconn_addr = address_of(id_);
  int rc;
  int error;
  {
    Inside in(s);
    rc = usrsctp_connect(so_, reinterpret_cast<sockaddr*>(&remote), sizeof remote);
    error = errno;
  }
  if (rc != 0 && error != EINPROGRESS) {
    spdlog::debug("sctp: usrsctp_connect: {}", std::strerror(error));
    if (!finish(make_error(errc::sctp_failed), false)) return;
  }
  s.drain();
}

void UsrsctpAssociation::receive(std::span<const uint8_t> packet) {
  check_thread("receive");
  auto& s = UsrsctpStack::get();
  if (s.reentered("receive")) return;
  if (!well_formed(packet)) {
    spdlog::debug("sctp: dropped a malformed packet of {} bytes", packet.size());
    return;
  }
  if (state_ == State::idle) {
    const uint64_t id = id_;
    start();
    if (!alive(id)) return;
  }
  if (state_ == State::done || so_ == nullptr) return;
  {
    Inside in(s);
    usrsctp_conninput(address_of(id_), packet.data(), packet.size(), 0);
  }
  s.mark_dirty(this, id_);  // SACKs may have made room even when nothing is to be read
  s.drain();
}

bool UsrsctpAssociation::send(uint16_t stream, uint32_t ppid, std::span<const uint8_t> message,
                              bool ordered) {
  check_thread("send");
  auto& s = UsrsctpStack::get();
  if (s.reentered("send")) return false;
  if (message.empty() || message.size() > options_.max_message_size) return false;
  if (state_ != State::open || user_closed_ || stream >= outbound_streams_) return false;
  if (queued_bytes() >= options_.send_buffer || queued_messages_ >= max_queued_messages_) {
    want_writable_ = true;
    return false;
  }
  sctp_sendv_spa spa{};
  spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
  spa.sendv_sndinfo.snd_sid = stream;
  spa.sendv_sndinfo.snd_ppid = htonl(ppid);  // carried as is into the DATA chunk
  spa.sendv_sndinfo.snd_flags = SCTP_EOR | (ordered ? 0 : SCTP_UNORDERED);
  ssize_t n;
  int error;
  {
    Inside in(s);
    n = usrsctp_sendv(so_, message.data(), message.size(), nullptr, 0, &spa, sizeof spa,
                      SCTP_SENDV_SPA, 0);
    error = errno;
  }
  if (n < 0) {
    if (error == EWOULDBLOCK || error == EAGAIN || error == ENOBUFS)
      want_writable_ = true;  // usrsctp's queue is full (bytes, or 512 chunks)
    else
      spdlog::debug("sctp: usrsctp_sendv: {}", std::strerror(error));
    // No drain() here: it could call sctp_writable() before this false reaches the caller,
    // who would then wait for a call that already came.
    return false;
  }
  ++queued_messages_;
  s.drain();
  return true;
}

size_t UsrsctpAssociation::queued_bytes() {
  size_t queued = buffered();
  // An empty queue also restarts the message count, should its SENDER_DRY notification have
  // been dropped (usrsctp drops notifications that do not fit the receive buffer).
  if (queued == 0) queued_messages_ = 0;
  return queued;
}

size_t UsrsctpAssociation::buffered() const {
  check_thread("buffered");
  auto& s = UsrsctpStack::get();
  if (so_ == nullptr || s.reentered("buffered")) return 0;
  if (state_ != State::open && state_ != State::closing) return 0;
  SndbufUse use{};
  socklen_t size = sizeof use;
  if (usrsctp_getsockopt(so_, IPPROTO_SCTP, kGetSndbufUse, &use, &size) != 0) return 0;
  return use.total_sndbuf;
}

void UsrsctpAssociation::reset_stream(uint16_t stream) {
  check_thread("reset_stream");
  auto& s = UsrsctpStack::get();
  if (s.reentered("reset_stream")) return;
  if (state_ != State::open || user_closed_ || stream >= outbound_streams_) return;
  // struct sctp_reset_streams ends in a flexible array: room for one stream id.
  alignas(sctp_reset_streams) uint8_t bytes[sizeof(sctp_reset_streams) + sizeof(uint16_t)]{};
  auto* request = reinterpret_cast<sctp_reset_streams*>(bytes);
  request->srs_assoc_id = SCTP_ALL_ASSOC;
  request->srs_flags = SCTP_STREAM_RESET_OUTGOING;
  request->srs_number_streams = 1;
  request->srs_stream_list[0] = stream;
  {
    Inside in(s);
    if (usrsctp_setsockopt(so_, IPPROTO_SCTP, SCTP_RESET_STREAMS, request, sizeof bytes) != 0)
      spdlog::debug("sctp: resetting stream {}: {}", stream, std::strerror(errno));
  }
  s.drain();
}

void UsrsctpAssociation::close() {
  check_thread("close");
  auto& s = UsrsctpStack::get();
  if (s.reentered("close") || user_closed_) return;
  user_closed_ = true;
  want_writable_ = false;
  if (state_ == State::open) {
    state_ = State::closing;  // read on (and discarded) until the peer's SHUTDOWN-ACK
    Inside in(s);
    usrsctp_shutdown(so_, SHUT_WR);
  } else if (state_ == State::connecting) {
    state_ = State::done;
    release_socket(true);
  } else {
    state_ = State::done;
  }
  s.drain();
}

void UsrsctpAssociation::handle_timers(uint32_t elapsed_ms) {
  if (!UsrsctpStack::initialized) return;
  check_thread("sctp_handle_timers");
  auto& s = UsrsctpStack::get();
  if (s.reentered("sctp_handle_timers")) return;
  {
    Inside in(s);
    usrsctp_handle_timers(elapsed_ms);
  }
  s.drain();
}

void UsrsctpAssociation::output(std::span<const uint8_t> packet) { handler_.sctp_send(packet); }

void UsrsctpAssociation::pump() {
  auto& s = UsrsctpStack::get();
  const uint64_t id = id_;
  while (so_ != nullptr && state_ != State::done) {
    sctp_rcvinfo info{};
    socklen_t info_size = sizeof info;
    unsigned int info_type = SCTP_RECVV_NOINFO;
    int flags = 0;
    ssize_t n;
    int error;
    {
      Inside in(s);  // reading may send a window update
      n = usrsctp_recvv(so_, s.buffer.data(), s.buffer.size(), nullptr, nullptr, &info, &info_size,
                        &info_type, &flags);
      error = errno;
    }
    if (n < 0) {
      if (error == EWOULDBLOCK || error == EAGAIN) break;
      spdlog::debug("sctp: usrsctp_recvv: {}", std::strerror(error));
      finish(make_error(errc::sctp_failed), false);
      return;
    }
    if (n == 0) {  // the peer has shut down: end of the stream
      finish(make_error(errc::closed), false);
      return;
    }
    std::span<const uint8_t> bytes(s.buffer.data(), static_cast<size_t>(n));
    if ((flags & MSG_NOTIFICATION) != 0) {
      // A notification is at most 2 KiB (one usrsctp cluster): always whole here.
      if ((flags & MSG_EOR) != 0 && !notification(bytes)) return;
      continue;
    }
    if (user_closed_ || info_type != SCTP_RECVV_RCVINFO) continue;  // discarded
    if (!data(info.rcv_sid, ntohl(info.rcv_ppid), bytes, (flags & MSG_EOR) != 0)) return;
  }
  if (!alive(id)) return;
  if (want_writable_ && state_ == State::open && !user_closed_ &&
      queued_bytes() <= options_.low_water && queued_messages_ < max_queued_messages_) {
    want_writable_ = false;
    handler_.sctp_writable();
  }
}

bool UsrsctpAssociation::data(uint16_t stream, uint32_t ppid, std::span<const uint8_t> part,
                              bool end) {
  const uint64_t id = id_;
  if (partial_.size() + part.size() > options_.max_message_size ||
      (!partial_.empty() && stream != partial_stream_)) {
    spdlog::debug("sctp: a message over {} bytes; aborting the association",
                  options_.max_message_size);
    finish(make_error(errc::sctp_failed), true);
    return false;
  }
  if (partial_.empty()) {
    partial_stream_ = stream;
    partial_ppid_ = ppid;
    if (end) {  // whole in one read: delivered from the shared buffer, no copy
      if (stream < options_.streams) handler_.sctp_message(stream, ppid, part);
      return alive(id) && so_ != nullptr;
    }
  }
  partial_.insert(partial_.end(), part.begin(), part.end());
  if (!end) return true;
  std::vector<uint8_t> message;
  message.swap(partial_);  // the next long message starts from an empty buffer, not 256 KiB
  if (partial_stream_ < options_.streams)
    handler_.sctp_message(partial_stream_, partial_ppid_, message);
  return alive(id) && so_ != nullptr;
}

bool UsrsctpAssociation::notification(std::span<const uint8_t> bytes) {
  const uint64_t id = id_;
  sctp_notification n;
  if (bytes.size() < sizeof n.sn_header) return true;
  std::memset(&n, 0, sizeof n);
  std::memcpy(&n, bytes.data(), std::min(bytes.size(), sizeof n));
  switch (n.sn_header.sn_type) {
    case SCTP_ASSOC_CHANGE: {
      const auto& change = n.sn_assoc_change;
      switch (change.sac_state) {
        case SCTP_COMM_UP:
          if (state_ != State::connecting) return true;
          state_ = State::open;
          outbound_streams_ = std::min(change.sac_outbound_streams, options_.streams);
          inbound_streams_ = std::min(change.sac_inbound_streams, options_.streams);
          if (user_closed_) return true;
          handler_.sctp_connected();
          return alive(id);
        case SCTP_COMM_LOST:       // aborted by the peer, or retransmissions exhausted
        case SCTP_CANT_STR_ASSOC:  // the handshake failed
          return finish(make_error(errc::sctp_failed), false) && false;
        case SCTP_RESTART:  // the peer restarted: its data channels are gone with it
          return finish(make_error(errc::sctp_failed), true) && false;
        case SCTP_SHUTDOWN_COMP:
          return finish(make_error(errc::closed), false) && false;
        default:
          return true;
      }
    }
    case SCTP_SHUTDOWN_EVENT:  // the peer sent SHUTDOWN: it sends nothing more
      return finish(make_error(errc::closed), false) && false;
    case SCTP_SENDER_DRY_EVENT:  // everything sent was acknowledged
      queued_messages_ = 0;
      return true;
    case SCTP_PARTIAL_DELIVERY_EVENT:
      partial_ = {};  // the message being delivered in parts was abandoned
      return true;
    case SCTP_STREAM_RESET_EVENT: {
      uint16_t flags = n.sn_strreset_event.strreset_flags;
      if ((flags & SCTP_STREAM_RESET_INCOMING_SSN) == 0 ||
          (flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) != 0 || user_closed_)
        return true;
      constexpr size_t head = offsetof(sctp_stream_reset_event, strreset_stream_list);
      size_t length = std::min<size_t>(n.sn_strreset_event.strreset_length, bytes.size());
      size_t count = length > head ? (length - head) / sizeof(uint16_t) : 0;
      auto reset = [&](uint16_t stream) {
        if (stream >= inbound_streams_) return true;
        handler_.sctp_stream_reset(stream);
        return alive(id) && !user_closed_;
      };
      if (count == 0) {  // every stream (RFC 6525 §4.1: an empty list)
        for (uint16_t stream = 0; stream < inbound_streams_; ++stream)
          if (!reset(stream)) return alive(id);
        return true;
      }
      for (size_t i = 0; i < count; ++i) {
        uint16_t stream;
        std::memcpy(&stream, bytes.data() + head + i * sizeof stream, sizeof stream);
        if (!reset(stream)) return alive(id);
      }
      return true;
    }
    default:
      return true;
  }
}

bool UsrsctpAssociation::finish(error_code why, bool abort) {
  const uint64_t id = id_;
  state_ = State::done;
  want_writable_ = false;
  partial_ = {};
  // An abort of ours goes out now (the peer must learn of it); otherwise the socket stays
  // until destruction, which frees usrsctp's association at once.
  if (abort) release_socket(true);
  if (user_closed_) return true;
  user_closed_ = true;
  handler_.sctp_closed(why);
  return alive(id);
}

void UsrsctpAssociation::release_socket(bool abort) {
  if (so_ == nullptr) return;
  auto& s = UsrsctpStack::get();
  struct ::socket* so = std::exchange(so_, nullptr);
  if (s.inside > 0) {
    s.graveyard.emplace_back(so, 0);
    return;
  }
  Inside in(s);
  if (abort) {
    linger l = {1, 0};
    usrsctp_setsockopt(so, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  usrsctp_close(so);
}

}  // namespace seedcast::rtc::detail
