#pragma once
// The catalog: every torrent seedcast serves, persisted in SQLite (<DATA_DIR>/catalog.db) and
// published to request threads as immutable snapshots.
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "seedcast/catalog/torrent.hpp"
#include "seedcast/core/error.hpp"

struct sqlite3;

namespace seedcast::catalog {

class Catalog {
 public:
  // Opens (creating when missing) the database. Throws std::runtime_error when it cannot.
  explicit Catalog(const std::string& db_path);
  ~Catalog();
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  // Thread-safe, lock-free for readers: the snapshot that was current when called.
  TorrentPtr find(const InfoHash& h) const;
  std::vector<TorrentPtr> all() const;  // sorted by name
  TorrentPtr find_source(const std::string& source) const;

  // Writers (the library indexer): persist, then publish a new snapshot.
  result<void> put(const Torrent& t);
  result<void> remove(const InfoHash& h);
  size_t size() const;

 private:
  // An immutable snapshot, indexed by info-hash and by library entry.
  struct Map {
    std::unordered_map<InfoHash, TorrentPtr> by_hash;
    std::unordered_map<std::string, TorrentPtr> by_source;
    void insert(TorrentPtr t);
    void erase(const InfoHash& h);
  };
  void migrate();
  void load();
  void publish(std::shared_ptr<const Map> m);
  std::shared_ptr<const Map> snapshot() const;

  sqlite3* db_ = nullptr;
  std::mutex write_mutex_;
  std::shared_ptr<const Map> map_;  // accessed with std::atomic_load/store
};

}  // namespace seedcast::catalog
