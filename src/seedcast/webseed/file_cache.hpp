#pragma once
// Open file descriptors for the hot path, so a request costs an fstat, not an open. Entries
// are re-opened after `ttl`, so a file replaced on disk (a new inode) is picked up.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "seedcast/core/file.hpp"

namespace seedcast::webseed {

class FileCache {
 public:
  explicit FileCache(std::chrono::milliseconds ttl = std::chrono::seconds(1), size_t max_entries = 4096)
      : ttl_(ttl), max_entries_(max_entries) {}
  // nullptr when the file cannot be opened. Thread-safe.
  std::shared_ptr<FileHandle> open(const std::string& path);

 private:
  struct Entry {
    std::shared_ptr<FileHandle> file;
    std::chrono::steady_clock::time_point opened;
  };
  std::chrono::milliseconds ttl_;
  size_t max_entries_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace seedcast::webseed
