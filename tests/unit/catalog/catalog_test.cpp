#include "seedcast/catalog/catalog.hpp"

#include <gtest/gtest.h>
#include <filesystem>
#include <sqlite3.h>

#include "seedcast/catalog/blacklist.hpp"
#include "test_util.hpp"

namespace seedcast::catalog {
namespace {

Torrent sample(const std::string& hex, const std::string& name) {
  Torrent t;
  t.info_hash = *InfoHash::from_hex(hex);
  t.name = name;
  t.multi_file = true;
  t.files = {{"a/b.mp4", 100, 0, 111}, {"c d.txt", 5, 100, 222}};
  t.info = std::string("d4:name3:abce\0binary", 20);
  t.length = 105;
  t.piece_length = 16384;
  t.num_pieces = 1;
  t.created = 1700000000;
  t.created_by = "seedcast/test";
  t.comment = "c";
  t.source = name;
  t.root = "/lib/" + name;
  return t;
}

const std::string kA = "053178313d2010436197e454511d8473bf30c616";
const std::string kB = "07e50f8e12b3ace7ab8afb387089dd5491cd515d";

TEST(Catalog, PersistsEveryFieldAcrossReopen) {
  test::TempDir dir;
  {
    Catalog c(dir / "catalog.db");
    ASSERT_TRUE(c.put(sample(kA, "Show")));
    ASSERT_TRUE(c.put(sample(kB, "Another")));
    EXPECT_EQ(c.size(), 2u);
  }
  Catalog c(dir / "catalog.db");
  ASSERT_EQ(c.size(), 2u);
  auto t = c.find(*InfoHash::from_hex(kA));
  ASSERT_TRUE(t);
  Torrent want = sample(kA, "Show");
  EXPECT_EQ(t->name, want.name);
  EXPECT_EQ(t->info, want.info);  // binary-safe
  EXPECT_EQ(t->multi_file, true);
  ASSERT_EQ(t->files.size(), 2u);
  EXPECT_EQ(t->files[1].path, "c d.txt");
  EXPECT_EQ(t->files[1].offset, 100u);
  EXPECT_EQ(t->files[1].mtime_ns, 222);
  EXPECT_EQ(t->length, 105u);
  EXPECT_EQ(t->last_piece_length(), 105u);
  EXPECT_EQ(t->created, 1700000000);
  EXPECT_EQ(t->root, "/lib/Show");
  EXPECT_EQ(c.find_source("Another")->info_hash.hex(), kB);
  auto all = c.all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]->name, "Another");  // sorted by name
}

TEST(Catalog, PutReplacesAndRemoveForgets) {
  test::TempDir dir;
  Catalog c(dir / "catalog.db");
  auto t = sample(kA, "Show");
  ASSERT_TRUE(c.put(t));
  auto before = c.find(t.info_hash);
  t.files.pop_back();
  ASSERT_TRUE(c.put(t));
  EXPECT_EQ(c.find(t.info_hash)->files.size(), 1u);
  EXPECT_EQ(before->files.size(), 2u);  // a published snapshot never changes
  ASSERT_TRUE(c.remove(t.info_hash));
  EXPECT_FALSE(c.find(t.info_hash));
  Catalog reopened(dir / "catalog.db");
  EXPECT_EQ(reopened.size(), 0u);
}

TEST(Catalog, FindSourceFollowsAReHashedEntry) {
  // The library puts the new torrent of a changed entry, then removes the old one.
  test::TempDir dir;
  Catalog c(dir / "catalog.db");
  ASSERT_TRUE(c.put(sample(kA, "Show")));
  ASSERT_TRUE(c.put(sample(kB, "Show")));
  EXPECT_EQ(c.find_source("Show")->info_hash.hex(), kB);
  ASSERT_TRUE(c.remove(*InfoHash::from_hex(kA)));
  ASSERT_TRUE(c.find_source("Show"));
  EXPECT_EQ(c.find_source("Show")->info_hash.hex(), kB);
  ASSERT_TRUE(c.remove(*InfoHash::from_hex(kB)));
  EXPECT_FALSE(c.find_source("Show"));
  EXPECT_FALSE(c.find_source("Other"));
}

TEST(Catalog, UnopenableDatabaseThrows) {
  EXPECT_THROW(Catalog("/nonexistent-dir/x/catalog.db"), std::runtime_error);
}

TEST(Blacklist, ParsesHashesAndReloadsOnChange) {
  auto set = Blacklist::parse("# comment\n" + kA + "  # trailing\n\nnot-a-hash\n" + kB.substr(0, 39) + "\n");
  EXPECT_EQ(set.size(), 1u);
  EXPECT_TRUE(set.count(*InfoHash::from_hex(kA)));

  test::TempDir dir;
  Blacklist b(dir / "blacklist.txt");  // missing file: empty
  EXPECT_EQ(b.size(), 0u);
  test::write_file(dir / "blacklist.txt", kB + "\n");
  EXPECT_TRUE(b.reload());
  EXPECT_TRUE(b.contains(*InfoHash::from_hex(kB)));
  EXPECT_FALSE(b.reload());  // unchanged
}

// SIGHUP: read() reads even a file whose mtime and size did not change, and may switch files.
TEST(Blacklist, ReadRereadsNowAndSwitchesFiles) {
  test::TempDir dir;
  test::write_file(dir / "a.txt", kA + "\n");
  Blacklist b(dir / "a.txt");
  ASSERT_TRUE(b.contains(*InfoHash::from_hex(kA)));
  auto mtime = std::filesystem::last_write_time(dir / "a.txt");
  test::write_file(dir / "a.txt", kB + "\n");  // same size
  std::filesystem::last_write_time(dir / "a.txt", mtime);
  EXPECT_FALSE(b.reload());  // looks unchanged
  b.read(dir / "a.txt");
  EXPECT_TRUE(b.contains(*InfoHash::from_hex(kB)));
  EXPECT_FALSE(b.contains(*InfoHash::from_hex(kA)));

  test::write_file(dir / "b.txt", kA + "\n" + kB + "\n");
  b.read(dir / "b.txt");
  EXPECT_EQ(b.size(), 2u);
  b.read(dir / "missing.txt");
  EXPECT_EQ(b.size(), 0u);
  test::write_file(dir / "missing.txt", kA + "\n");
  EXPECT_TRUE(b.reload());  // the new file is the one watched
  EXPECT_EQ(b.size(), 1u);
}

}  // namespace
}  // namespace seedcast::catalog

namespace seedcast::catalog {
namespace {

// A catalog written by schema 2 (before URL torrents) opens, keeps its rows, and then stores the
// origin fields.
TEST(Catalog, MigratesSchema2AndPersistsOriginFields) {
  test::TempDir dir;
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir / "catalog.db").c_str(), &db), SQLITE_OK);
    const char* v2 = R"sql(
CREATE TABLE torrents(info_hash TEXT PRIMARY KEY, name TEXT NOT NULL, multi_file INTEGER NOT NULL,
  info BLOB NOT NULL, length INTEGER NOT NULL, piece_length INTEGER NOT NULL, num_pieces INTEGER NOT NULL,
  created INTEGER NOT NULL, created_by TEXT NOT NULL, comment TEXT NOT NULL, source TEXT NOT NULL,
  root TEXT NOT NULL, private INTEGER NOT NULL DEFAULT 0);
CREATE TABLE files(info_hash TEXT NOT NULL, idx INTEGER NOT NULL, path TEXT NOT NULL, length INTEGER NOT NULL,
  offset INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, PRIMARY KEY(info_hash, idx)) WITHOUT ROWID;
INSERT INTO torrents VALUES('053178313d2010436197e454511d8473bf30c616','Old',0,'d4:infoe',5,16384,1,1,'x','','Old','/lib',0);
INSERT INTO files VALUES('053178313d2010436197e454511d8473bf30c616',0,'Old',5,0,7);
PRAGMA user_version=2;
)sql";
    ASSERT_EQ(sqlite3_exec(db, v2, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  {
    Catalog c(dir / "catalog.db");
    auto old = c.find(*InfoHash::from_hex(kA));
    ASSERT_TRUE(old);
    EXPECT_EQ(old->name, "Old");
    EXPECT_EQ(old->origin, "");
    Torrent u = sample(kB, "clip.mp4");
    u.source = "url:https://cdn.example.com/v/clip.mp4";
    u.origin = "https://cdn.example.com/v/clip.mp4";
    u.origin_etag = "\"abc\"";
    u.origin_last_modified = "Sun, 06 Nov 1994 08:49:37 GMT";
    ASSERT_TRUE(c.put(u));
  }
  Catalog c(dir / "catalog.db");
  auto u = c.find_source("url:https://cdn.example.com/v/clip.mp4");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->origin, "https://cdn.example.com/v/clip.mp4");
  EXPECT_EQ(u->origin_etag, "\"abc\"");
  EXPECT_EQ(u->origin_last_modified, "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(c.size(), 2u);
}

}  // namespace
}  // namespace seedcast::catalog
