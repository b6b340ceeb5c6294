#include "seedcast/rtc/error.hpp"

namespace seedcast::rtc {
namespace {
class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "rtc"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::ok: return "ok";
      case errc::bad_sdp: return "the offer is not a usable WebRTC data-channel offer";
      case errc::too_many_peers: return "too many WebRTC peers or pending offers";
      case errc::handshake_timeout: return "the WebRTC handshake did not complete in time";
      case errc::consent_expired: return "the peer stopped answering (ICE consent expired)";
      case errc::dtls_failed: return "the DTLS handshake failed";
      case errc::bad_fingerprint: return "the peer's certificate does not match its offer's fingerprint";
      case errc::sctp_failed: return "the SCTP association failed";
      case errc::closed: return "closed";
    }
    return "unknown rtc error";
  }
};
}  // namespace

const boost::system::error_category& rtc_category() {
  static const category c;
  return c;
}

}  // namespace seedcast::rtc
