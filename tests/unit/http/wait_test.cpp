#include "seedcast/http/wait.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <atomic>
#include <optional>
#include <thread>

namespace seedcast::http {
namespace {

using Clock = std::chrono::steady_clock;

// Runs wait_until on a fresh io_context and returns its answer.
std::optional<bool> run(Clock::time_point deadline, std::function<bool()> ready,
                        std::function<void(std::function<void()>)> subscribe) {
  asio::io_context io;
  std::optional<bool> answer;
  asio::co_spawn(io, wait_until(deadline, std::move(ready), std::move(subscribe)),
                 [&answer](std::exception_ptr e, bool ok) {
                   if (!e) answer = ok;
                 });
  io.run();
  return answer;
}

TEST(WaitUntil, ReadyAtOnceNeverSubscribes) {
  int subscribed = 0;
  auto r = run(Clock::now() + std::chrono::hours(1), [] { return true; },
               [&](std::function<void()>) { ++subscribed; });
  EXPECT_EQ(r, std::optional<bool>(true));
  EXPECT_EQ(subscribed, 0);
}

TEST(WaitUntil, PastDeadlineIsFalse) {
  auto r = run(Clock::now() - std::chrono::seconds(1), [] { return false; }, [](std::function<void()>) {});
  EXPECT_EQ(r, std::optional<bool>(false));
}

TEST(WaitUntil, WokenFromAnotherThreadLooksAgain) {
  std::atomic<bool> flag{false};
  std::thread waker;
  int subscribed = 0;
  auto r = run(Clock::now() + std::chrono::hours(1), [&] { return flag.load(); },
               [&](std::function<void()> wake) {
                 ++subscribed;
                 waker = std::thread([&flag, wake = std::move(wake)] {
                   flag = true;
                   wake();
                 });
               });
  waker.join();
  EXPECT_EQ(r, std::optional<bool>(true));
  EXPECT_EQ(subscribed, 1);
}

TEST(WaitUntil, ImmediateWakeWithoutChangeSubscribesAgain) {
  // A wake-up that comes before the event (e.g. "torrent removed") makes it look again; once
  // it sees the event it stops.
  int looks = 0;
  auto r = run(Clock::now() + std::chrono::hours(1), [&] { return ++looks >= 3; },
               [](std::function<void()> wake) { wake(); });
  EXPECT_EQ(r, std::optional<bool>(true));
  EXPECT_EQ(looks, 3);
}

}  // namespace
}  // namespace seedcast::http
