#pragma once
// Info-hashes that must not be served. Read from a text file (one hex info-hash per line,
// '#' starts a comment); reload() re-reads it when its mtime or size changed.
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include "seedcast/core/info_hash.hpp"

namespace seedcast::catalog {

class Blacklist {
 public:
  explicit Blacklist(std::string path);
  bool contains(const InfoHash& h) const;  // thread-safe
  // Returns true when the file changed and was read again. A missing file is an empty list.
  // Thread-safe.
  bool reload();
  // Reads `path` now, whatever its mtime (SIGHUP); it becomes the file reload() watches.
  // Thread-safe.
  void read(std::string path);
  size_t size() const;

  static std::unordered_set<InfoHash> parse(std::string_view text);

 private:
  bool reload_locked(bool force);

  std::mutex mutex_;  // reload() and read(); readers use set_ alone
  std::string path_;
  int64_t mtime_ns_ = -1;
  int64_t size_ = -1;
  std::shared_ptr<const std::unordered_set<InfoHash>> set_;
};

}  // namespace seedcast::catalog
