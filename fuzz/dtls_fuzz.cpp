// libFuzzer target: a server DtlsTransport (what a browser's datagrams reach) fed a sequence of
// datagrams and calls. Input: one byte choosing the MTU (256, 600, 900 or 1200), then items of a
// 2-byte big-endian length and that many bytes, a datagram for receive(); the lengths 0xFFF0..
// 0xFFF3 stand for on_timer(), send() of 100 bytes, close() and start() instead. Properties: no
// crash; never connected (the peer must present the certificate whose SHA-256 is all zeros,
// which nobody can); each datagram sent is 1..MTU bytes; no data delivered; dtls_closed at most
// once, and after it (or after close()) nothing is sent or delivered.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>

#include "seedcast/rtc/dtls.hpp"

namespace {

using seedcast::rtc::Certificate;
using seedcast::rtc::DtlsTransport;

struct Checker : DtlsTransport::Handler {
  size_t mtu = 0;
  bool ended = false;  // dtls_closed called, or close() made

  void dtls_send(std::span<const uint8_t> d) override {
    if (ended || d.empty() || d.size() > mtu) std::abort();
  }
  void dtls_data(std::span<const uint8_t>) override { std::abort(); }
  void dtls_connected() override { std::abort(); }
  void dtls_closed(seedcast::error_code) override {
    if (ended) std::abort();
    ended = true;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::shared_ptr<const Certificate> cert = Certificate::generate();
  if (size < 1) return 0;
  constexpr size_t kMtus[] = {256, 600, 900, 1200};
  Checker h;
  h.mtu = kMtus[data[0] % 4];
  DtlsTransport t(DtlsTransport::Role::server, cert, std::array<uint8_t, 32>{}, h, h.mtu);
  std::span<const uint8_t> in(data + 1, size - 1);
  static const std::array<uint8_t, 100> payload{};
  while (in.size() >= 2) {
    size_t n = size_t{in[0]} << 8 | in[1];
    in = in.subspan(2);
    switch (n) {
      case 0xfff0:
        t.on_timer();
        break;
      case 0xfff1:
        if (t.send(payload)) std::abort();  // never connected
        break;
      case 0xfff2:
        t.close();
        h.ended = true;
        break;
      case 0xfff3:
        t.start();
        break;
      default:
        n = std::min(n, in.size());
        t.receive(in.first(n));
        in = in.subspan(n);
    }
    if (t.connected() || t.timeout_ms().value_or(0) < 0) std::abort();
    if (h.ended && !t.closed()) std::abort();
  }
  return 0;
}
