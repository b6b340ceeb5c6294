#include "seedcast/library/torrent_maker.hpp"

#include <gtest/gtest.h>

#include <libtorrent/hasher.hpp>
#include <libtorrent/torrent_info.hpp>

#include "test_util.hpp"

namespace seedcast::library {
namespace {

// Checks `t` against libtorrent's reading of the .torrent and against SHA-1 of the data.
void expect_valid(const catalog::Torrent& t, const std::string& concatenated) {
  std::string file = torrent_file(t, {{}, {"http://127.0.0.1:1/file/x/"}});
  lt::error_code ec;
  lt::torrent_info ti(file.data(), static_cast<int>(file.size()), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(ti.info_hashes().v1.to_string(), std::string(reinterpret_cast<const char*>(t.info_hash.bytes().data()), 20));
  EXPECT_FALSE(ti.info_hashes().has_v2());
  EXPECT_EQ(ti.num_pieces(), static_cast<int>(t.num_pieces));
  EXPECT_EQ(static_cast<uint64_t>(ti.total_size()), concatenated.size());
  ASSERT_EQ(ti.files().num_files(), static_cast<int>(t.files.size()));  // no pad files
  for (int i = 0; i < ti.num_pieces(); ++i) {
    size_t start = static_cast<size_t>(i) * t.piece_length;
    std::string piece = concatenated.substr(start, t.piece_length);
    lt::hasher h(piece.data(), static_cast<int>(piece.size()));
    EXPECT_EQ(h.final(), ti.hash_for_piece(lt::piece_index_t(i))) << "piece " << i;
  }
  ASSERT_EQ(ti.web_seeds().size(), 1u);
  EXPECT_EQ(ti.web_seeds()[0].url, "http://127.0.0.1:1/file/x/");
}

TEST(TorrentMaker, SingleFile) {
  test::TempDir dir;
  std::string data = test::random_bytes(100000, 1);
  test::write_file(dir / "clip.mp4", data);
  auto spec = describe(dir / "clip.mp4");
  ASSERT_TRUE(spec);
  EXPECT_FALSE(spec->multi_file);
  EXPECT_EQ(spec->name, "clip.mp4");
  MakeOptions mo;
  mo.piece_length = 16384;
  mo.threads = 3;
  uint64_t last_progress = 0;
  mo.progress = [&](uint64_t done, uint64_t) { last_progress = std::max(last_progress, done); };
  auto t = make_torrent(*spec, mo);
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(last_progress, data.size());
  EXPECT_EQ(t->num_pieces, 7u);
  EXPECT_EQ(t->last_piece_length(), 100000u - 6 * 16384);
  ASSERT_EQ(t->files.size(), 1u);
  EXPECT_EQ(t->files[0].path, "clip.mp4");
  expect_valid(*t, data);
}

TEST(TorrentMaker, MultiFileWithNestingSpacesUnicodeEmptyAndHiddenFiles) {
  test::TempDir dir;
  std::string a = test::random_bytes(40000, 2), b = test::random_bytes(30001, 3), c = "hello";
  test::write_file(dir / "My Show ünï/Season 1/Épisode 01.mp4", a);
  test::write_file(dir / "My Show ünï/extras/deep/nested/notes.txt", c);
  test::write_file(dir / "My Show ünï/a b.mkv", b);
  test::write_file(dir / "My Show ünï/empty.dat", "");
  test::write_file(dir / "My Show ünï/.hidden", "secret");
  test::write_file(dir / "My Show ünï/.git/config", "secret");
  auto spec = describe(dir / "My Show ünï");
  ASSERT_TRUE(spec);
  ASSERT_TRUE(spec->multi_file);
  std::vector<std::string> paths;
  for (const auto& f : spec->files) paths.push_back(f.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"Season 1/Épisode 01.mp4", "a b.mkv", "empty.dat",
                                             "extras/deep/nested/notes.txt"}));
  auto t = make_torrent(*spec, {.piece_length = 16384});
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->files[1].offset, a.size());
  EXPECT_EQ(t->files[2].length, 0u);
  expect_valid(*t, a + b + c);
}

TEST(TorrentMaker, SameContentSameInfoHash) {
  test::TempDir dir;
  test::write_file(dir / "x.bin", test::random_bytes(50000, 4));
  auto t1 = make_torrent(*describe(dir / "x.bin"), {.piece_length = 16384, .created = 1});
  auto t2 = make_torrent(*describe(dir / "x.bin"), {.piece_length = 16384, .threads = 1, .created = 2});
  ASSERT_TRUE(t1 && t2);
  EXPECT_EQ(t1->info_hash, t2->info_hash);  // the creation date is outside the info dictionary
  EXPECT_EQ(t1->info, t2->info);
}

TEST(TorrentMaker, NothingToHashIsAnError) {
  test::TempDir dir;
  test::write_file(dir / "empty/zero.bin", "");
  auto spec = describe(dir / "empty");
  ASSERT_TRUE(spec);
  auto t = make_torrent(*spec, {});
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error(), make_error(errc::empty_torrent));
  EXPECT_FALSE(describe(dir / "missing"));
}

TEST(TorrentMaker, PieceLengthSuitsStreaming) {
  EXPECT_EQ(choose_piece_length(1000), 16384u);
  EXPECT_EQ(choose_piece_length(100ull << 20), 128u * 1024);
  EXPECT_EQ(choose_piece_length(1ull << 30), 1024u * 1024);
  EXPECT_EQ(choose_piece_length(100ull << 30), 2048u * 1024);
}

}  // namespace
}  // namespace seedcast::library
