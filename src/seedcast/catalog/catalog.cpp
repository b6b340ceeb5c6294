#include "seedcast/catalog/catalog.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>

namespace seedcast::catalog {
namespace {

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE IF NOT EXISTS torrents(
  info_hash    TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  multi_file   INTEGER NOT NULL,
  info         BLOB NOT NULL,
  length       INTEGER NOT NULL,
  piece_length INTEGER NOT NULL,
  num_pieces   INTEGER NOT NULL,
  created      INTEGER NOT NULL,
  created_by   TEXT NOT NULL,
  comment      TEXT NOT NULL,
  source       TEXT NOT NULL,
  root         TEXT NOT NULL,
  private      INTEGER NOT NULL DEFAULT 0,
  origin       TEXT NOT NULL DEFAULT '',
  origin_etag  TEXT NOT NULL DEFAULT '',
  origin_last_modified TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS files(
  info_hash TEXT NOT NULL,
  idx       INTEGER NOT NULL,
  path      TEXT NOT NULL,
  length    INTEGER NOT NULL,
  offset    INTEGER NOT NULL,
  mtime_ns  INTEGER NOT NULL,
  PRIMARY KEY(info_hash, idx)) WITHOUT ROWID;
)sql";
constexpr int kSchemaVersion = 3;

// A prepared statement that finalizes itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("catalog: ") + sqlite3_errmsg(db));
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt& bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& blob(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  void reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  bool step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw std::runtime_error(std::string("catalog: ") + sqlite3_errmsg(db_));
  }
  int64_t i64(int col) const { return sqlite3_column_int64(s_, col); }
  std::string str(int col) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_blob(s_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, col))) : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error("catalog: " + msg);
  }
}

error_code db_error() { return make_error(errc::io_error); }

}  // namespace

const File* Torrent::find_file(std::string_view path) const {
  for (const File& f : files) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

Catalog::Catalog(const std::string& db_path) {
  if (sqlite3_open_v2(db_path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw std::runtime_error("cannot open catalog " + db_path + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 5000);
  exec(db_, kSchema);
  migrate();
  load();
}

Catalog::~Catalog() { sqlite3_close(db_); }

void Catalog::migrate() {
  Stmt v(db_, "PRAGMA user_version");
  int64_t version = v.step() ? v.i64(0) : 0;
  // A fresh database (version 0) was just created with every column.
  if (version == 1) exec(db_, "ALTER TABLE torrents ADD COLUMN private INTEGER NOT NULL DEFAULT 0");
  if (version >= 1 && version < 3) {
    exec(db_,
         "ALTER TABLE torrents ADD COLUMN origin TEXT NOT NULL DEFAULT '';"
         "ALTER TABLE torrents ADD COLUMN origin_etag TEXT NOT NULL DEFAULT '';"
         "ALTER TABLE torrents ADD COLUMN origin_last_modified TEXT NOT NULL DEFAULT ''");
  }
  if (version < kSchemaVersion) exec(db_, ("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str());
}

void Catalog::load() {
  auto map = std::make_shared<Map>();
  Stmt t(db_,
         "SELECT info_hash,name,multi_file,info,length,piece_length,num_pieces,created,created_by,"
         "comment,source,root,private,origin,origin_etag,origin_last_modified FROM torrents");
  while (t.step()) {
    auto h = InfoHash::from_hex(t.str(0));
    if (!h) continue;
    auto tor = std::make_shared<Torrent>();
    tor->info_hash = *h;
    tor->name = t.str(1);
    tor->multi_file = t.i64(2) != 0;
    tor->info = t.str(3);
    tor->length = static_cast<uint64_t>(t.i64(4));
    tor->piece_length = static_cast<uint32_t>(t.i64(5));
    tor->num_pieces = static_cast<uint32_t>(t.i64(6));
    tor->created = t.i64(7);
    tor->created_by = t.str(8);
    tor->comment = t.str(9);
    tor->source = t.str(10);
    tor->root = t.str(11);
    tor->private_torrent = t.i64(12) != 0;
    tor->origin = t.str(13);
    tor->origin_etag = t.str(14);
    tor->origin_last_modified = t.str(15);
    Stmt f(db_, "SELECT path,length,offset,mtime_ns FROM files WHERE info_hash=? ORDER BY idx");
    f.bind(1, h->hex());
    while (f.step())
      tor->files.push_back({f.str(0), static_cast<uint64_t>(f.i64(1)), static_cast<uint64_t>(f.i64(2)), f.i64(3)});
    if (tor->files.empty()) continue;  // a record without files cannot be served
    map->insert(std::move(tor));
  }
  publish(std::move(map));
}

std::shared_ptr<const Catalog::Map> Catalog::snapshot() const { return std::atomic_load(&map_); }
void Catalog::publish(std::shared_ptr<const Map> m) { std::atomic_store(&map_, std::move(m)); }

void Catalog::Map::insert(TorrentPtr t) {
  erase(t->info_hash);
  if (!t->source.empty()) by_source[t->source] = t;
  by_hash[t->info_hash] = std::move(t);
}

void Catalog::Map::erase(const InfoHash& h) {
  auto it = by_hash.find(h);
  if (it == by_hash.end()) return;
  if (auto s = by_source.find(it->second->source); s != by_source.end() && s->second == it->second) by_source.erase(s);
  by_hash.erase(it);
}

TorrentPtr Catalog::find(const InfoHash& h) const {
  auto m = snapshot();
  auto it = m->by_hash.find(h);
  return it == m->by_hash.end() ? nullptr : it->second;
}

std::vector<TorrentPtr> Catalog::all() const {
  auto m = snapshot();
  std::vector<TorrentPtr> out;
  out.reserve(m->by_hash.size());
  for (const auto& [h, t] : m->by_hash) out.push_back(t);
  std::sort(out.begin(), out.end(), [](const TorrentPtr& a, const TorrentPtr& b) {
    return a->name != b->name ? a->name < b->name : a->info_hash < b->info_hash;
  });
  return out;
}

TorrentPtr Catalog::find_source(const std::string& source) const {
  auto m = snapshot();
  auto it = m->by_source.find(source);
  return it == m->by_source.end() ? nullptr : it->second;
}

size_t Catalog::size() const { return snapshot()->by_hash.size(); }

result<void> Catalog::put(const Torrent& t) {
  std::lock_guard lock(write_mutex_);
  std::string hex = t.info_hash.hex();
  try {
    exec(db_, "BEGIN IMMEDIATE");
    Stmt(db_, "DELETE FROM files WHERE info_hash=?").bind(1, hex).step();
    Stmt ins(db_,
             "INSERT OR REPLACE INTO torrents(info_hash,name,multi_file,info,length,piece_length,"
             "num_pieces,created,created_by,comment,source,root,private,origin,origin_etag,origin_last_modified) "
             "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    ins.bind(1, hex).bind(2, t.name).bind(3, int64_t{t.multi_file}).blob(4, t.info);
    ins.bind(5, static_cast<int64_t>(t.length)).bind(6, int64_t{t.piece_length}).bind(7, int64_t{t.num_pieces});
    ins.bind(8, t.created).bind(9, t.created_by).bind(10, t.comment).bind(11, t.source).bind(12, t.root);
    ins.bind(13, int64_t{t.private_torrent}).bind(14, t.origin).bind(15, t.origin_etag).bind(16, t.origin_last_modified);
    ins.step();
    Stmt row(db_, "INSERT INTO files(info_hash,idx,path,length,offset,mtime_ns) VALUES(?,?,?,?,?,?)");
    for (size_t i = 0; i < t.files.size(); ++i) {
      const File& file = t.files[i];
      row.reset();
      row.bind(1, hex).bind(2, static_cast<int64_t>(i)).bind(3, file.path);
      row.bind(4, static_cast<int64_t>(file.length)).bind(5, static_cast<int64_t>(file.offset)).bind(6, file.mtime_ns);
      row.step();
    }
    exec(db_, "COMMIT");
  } catch (const std::exception&) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return fail(db_error());
  }
  auto next = std::make_shared<Map>(*snapshot());
  next->insert(std::make_shared<const Torrent>(t));
  publish(std::move(next));
  return {};
}

result<void> Catalog::remove(const InfoHash& h) {
  std::lock_guard lock(write_mutex_);
  std::string hex = h.hex();
  try {
    exec(db_, "BEGIN IMMEDIATE");
    Stmt(db_, "DELETE FROM files WHERE info_hash=?").bind(1, hex).step();
    Stmt(db_, "DELETE FROM torrents WHERE info_hash=?").bind(1, hex).step();
    exec(db_, "COMMIT");
  } catch (const std::exception&) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return fail(db_error());
  }
  auto next = std::make_shared<Map>(*snapshot());
  next->erase(h);
  publish(std::move(next));
  return {};
}

}  // namespace seedcast::catalog
