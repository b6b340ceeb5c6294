#include "seedcast/rtc/sctp.hpp"

#include "seedcast/rtc/detail/usrsctp_association.hpp"

namespace seedcast::rtc {

std::unique_ptr<SctpAssociation> SctpAssociation::create(Role role, const SctpOptions& options,
                                                         Handler& handler) {
  return std::make_unique<detail::UsrsctpAssociation>(role, options, handler);
}

void sctp_handle_timers(uint32_t elapsed_ms) {
  detail::UsrsctpAssociation::handle_timers(elapsed_ms);
}

}  // namespace seedcast::rtc
