#include "seedcast/webseed/file_cache.hpp"

namespace seedcast::webseed {

std::shared_ptr<FileHandle> FileCache::open(const std::string& path) {
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(path);
    if (it != entries_.end() && now - it->second.opened < ttl_) return it->second.file;
  }
  auto f = FileHandle::open(path);
  std::lock_guard lock(mutex_);
  if (!f) {
    entries_.erase(path);
    return nullptr;
  }
  if (entries_.size() >= max_entries_) {
    for (auto it = entries_.begin(); it != entries_.end();)
      it = now - it->second.opened >= ttl_ ? entries_.erase(it) : std::next(it);
    if (entries_.size() >= max_entries_) entries_.clear();
  }
  entries_[path] = Entry{f, now};
  return f;
}

}  // namespace seedcast::webseed
