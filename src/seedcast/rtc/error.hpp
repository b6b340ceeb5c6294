#pragma once
// Why a WebRTC peer could not be answered or was dropped.
#include "seedcast/core/error.hpp"

namespace seedcast::rtc {

enum class errc {
  ok = 0,
  bad_sdp = 1,          // the offer cannot be read, or offers no usable data channel
  too_many_peers,       // RTC_MAX_PEERS, or a per-address / per-torrent cap on pending offers
  handshake_timeout,    // ICE, DTLS or SCTP did not complete in time
  consent_expired,      // no valid STUN check for 30 s (RFC 7675)
  dtls_failed,          // the DTLS handshake failed, or an alert ended it
  bad_fingerprint,      // the browser's certificate does not match its offer's fingerprint
  sctp_failed,          // the association failed or was aborted
  closed,               // closed by either side
};

const boost::system::error_category& rtc_category();
inline error_code make_error(errc e) { return error_code(static_cast<int>(e), rtc_category()); }

}  // namespace seedcast::rtc
