#include "wall_clock.hpp"

#include <dlfcn.h>
#include <sys/time.h>
#include <time.h>
#include <usrsctp.h>

namespace seedcast::test {

std::atomic<bool> wall_clock_frozen{false};
std::atomic<int64_t> wall_clock_frozen_us{0};
std::atomic<uint64_t> usrsctp_shift_ms{0};

int64_t real_now_us() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000 + ts.tv_nsec / 1000;
}

}  // namespace seedcast::test

extern "C" int gettimeofday(struct timeval* __restrict tv, void* __restrict) noexcept {
  using namespace seedcast::test;
  int64_t now = wall_clock_frozen ? wall_clock_frozen_us.load() : real_now_us();
  if (!wall_clock_frozen && usrsctp_shift_ms != 0) {
    static const void* usrsctp_base = [] {
      Dl_info info{};
      dladdr(reinterpret_cast<void*>(&usrsctp_handle_timers), &info);
      return info.dli_fbase;
    }();
    Dl_info caller{};
    if (dladdr(__builtin_return_address(0), &caller) != 0 && caller.dli_fbase == usrsctp_base)
      now += static_cast<int64_t>(usrsctp_shift_ms.load()) * 1000;
  }
  tv->tv_sec = static_cast<time_t>(now / 1'000'000);
  tv->tv_usec = static_cast<suseconds_t>(now % 1'000'000);
  return 0;
}
