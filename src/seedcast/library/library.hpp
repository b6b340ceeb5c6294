#pragma once
// The library indexer: keeps the catalog in step with the LIBRARY folder. Each top-level file
// is a single-file torrent and each top-level folder a multi-file one. A scan hashes only the
// entries whose files (paths, sizes, mtimes) differ from what the catalog recorded, so a
// restart re-hashes nothing; entries that vanished leave the catalog.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace seedcast::catalog {
class Catalog;
class Blacklist;
}  // namespace seedcast::catalog

namespace seedcast::library {

struct LibraryOptions {
  std::string dir;
  int hash_threads = 0;        // 0: one per core
  uint32_t piece_length = 0;   // 0: chosen per torrent
  int rescan_interval = 30;    // seconds; 0: scan only at start and when asked
  bool private_torrents = false;  // BEP 27; a catalog made in the other mode is re-hashed
};

struct LibraryStats {
  bool indexing = true;  // the first scan has not finished, or a scan is hashing
  uint64_t hashed = 0;   // torrents hashed since start
  uint64_t reused = 0;   // torrents taken unchanged from the catalog by the first scan
  uint64_t failed = 0;   // entries that could not be hashed (retried on the next scan)
};

class Library {
 public:
  Library(LibraryOptions options, catalog::Catalog& catalog, catalog::Blacklist* blacklist);
  ~Library();
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  void start();  // background thread: scan now, then every rescan_interval
  void stop();
  void rescan();  // thread-safe: scan again soon
  void scan_once();  // one synchronous scan (the background thread and tests)
  LibraryStats stats() const;

 private:
  void run();
  void index_entry(const std::string& name, bool first);

  LibraryOptions options_;
  catalog::Catalog& catalog_;
  catalog::Blacklist* blacklist_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> indexing_{true};
  std::atomic<uint64_t> hashed_{0}, reused_{0}, failed_{0};
  bool first_scan_ = true;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool rescan_requested_ = false;
  std::thread thread_;
};

}  // namespace seedcast::library
