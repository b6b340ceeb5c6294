#include "seedcast/http/wait.hpp"

#include <boost/asio/post.hpp>
#include <memory>

#include "seedcast/http/detail/asio_impl.hpp"

namespace seedcast::http {

asio::awaitable<bool> wait_until(std::chrono::steady_clock::time_point deadline, std::function<bool()> ready,
                                 std::function<void(std::function<void()>)> subscribe) {
  auto ex = co_await asio::this_coro::executor;
  while (!ready()) {
    if (std::chrono::steady_clock::now() >= deadline) co_return false;
    // The wake-up may come, or be dropped, on another thread and after this coroutine is gone:
    // it holds the timer weakly, so the timer only ever lives and dies on this executor.
    auto timer = std::make_shared<asio::steady_timer>(ex, deadline);
    std::weak_ptr<asio::steady_timer> weak = timer;
    std::function<void()> wake = [weak, ex] {
      asio::post(ex, [weak] {
        if (auto t = weak.lock()) t->cancel();
      });
    };
    subscribe(std::move(wake));
    error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return true;
}

}  // namespace seedcast::http
