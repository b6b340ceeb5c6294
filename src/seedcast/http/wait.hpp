#pragma once
// Waiting in a request's coroutine for something another thread (the BitTorrent engine, a
// fetcher) makes happen, with a deadline.
#include <chrono>
#include <functional>

#include "seedcast/http/asio.hpp"

namespace seedcast::http {

// Returns true as soon as `ready()` holds, false once `deadline` passed without it. Each time
// `ready()` is false, `subscribe(wake)` is called once: it must arrange for `wake()` to be
// called (from any thread, at most once, possibly at once) when it is worth looking again.
// `ready` runs on the calling coroutine's executor, which must outlive every `wake` call.
asio::awaitable<bool> wait_until(std::chrono::steady_clock::time_point deadline, std::function<bool()> ready,
                                 std::function<void(std::function<void()>)> subscribe);

}  // namespace seedcast::http
