#pragma once
// The wall clock that libraries read with gettimeofday() — OpenSSL's DTLS timer and usrsctp's
// retransmission clock, neither of which takes another clock — as the unit-test binary gives it:
// wall_clock.cpp interposes gettimeofday() (an executable's symbols come first in lookup).
//  - frozen: every caller sees frozen_us (the DTLS tests' FakeClock moves it by hand);
//  - otherwise usrsctp's code (linked statically into this binary, hence told apart by the
//    image its return address lies in) sees the real time plus usrsctp_shift_ms, the simulated
//    time the SCTP tests have passed to sctp_handle_timers() so far.
#include <atomic>
#include <cstdint>

namespace seedcast::test {

extern std::atomic<bool> wall_clock_frozen;
extern std::atomic<int64_t> wall_clock_frozen_us;
extern std::atomic<uint64_t> usrsctp_shift_ms;

int64_t real_now_us();

}  // namespace seedcast::test
