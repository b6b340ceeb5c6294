#pragma once
// A setting that SIGHUP may replace while other threads read it (the access token, the
// origins' allow list). Readers take a snapshot that stays valid however long they hold it;
// set() swaps in a new value for the readers that come after. Both are thread-safe.
#include <memory>
#include <mutex>
#include <utility>

namespace seedcast {

template <class T>
class Reloadable {
 public:
  explicit Reloadable(T value = T()) : value_(std::make_shared<const T>(std::move(value))) {}
  Reloadable(const Reloadable&) = delete;
  Reloadable& operator=(const Reloadable&) = delete;

  std::shared_ptr<const T> get() const {
    std::lock_guard lock(mutex_);
    return value_;
  }
  void set(T value) {
    auto fresh = std::make_shared<const T>(std::move(value));
    std::lock_guard lock(mutex_);
    value_.swap(fresh);  // the old value is released outside the lock
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const T> value_;
};

}  // namespace seedcast
