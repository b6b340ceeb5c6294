#include "seedcast/origin/piece_hasher.hpp"

#include <gtest/gtest.h>

#include "seedcast/library/torrent_maker.hpp"
#include "test_util.hpp"

namespace seedcast::origin {
namespace {

// The torrent made while bytes arrive, in chunks of any size, is the one the library makes from
// the same bytes on disk.
TEST(PieceHasher, IncrementalTorrentEqualsLibraryTorrent) {
  test::TempDir dir;
  for (size_t size : {size_t{1}, size_t{16383}, size_t{16384}, size_t{16385}, size_t{100000}, size_t{3 * 16384}}) {
    std::string data = test::random_bytes(size, static_cast<unsigned>(size));
    test::write_file(dir / "clip.mp4", data);
    auto spec = library::describe(dir / "clip.mp4");
    ASSERT_TRUE(spec);
    library::MakeOptions mo;
    mo.piece_length = 16384;
    mo.created = 1700000000;
    auto want = library::make_torrent(*spec, mo);
    ASSERT_TRUE(want) << want.error().message();
    for (size_t chunk : {size_t{1}, size_t{7}, size_t{4096}, size_t{16384}, size_t{65536}}) {
      if (chunk == 1 && size > 20000) continue;
      PieceHasher h(16384);
      for (size_t off = 0; off < data.size(); off += chunk) h.update(std::string_view(data).substr(off, chunk));
      EXPECT_EQ(h.bytes(), data.size());
      auto hashes = h.finish();
      auto got = library::build_torrent(*spec, 16384, hashes, mo);
      ASSERT_TRUE(got) << got.error().message();
      EXPECT_EQ(got->info_hash, want->info_hash) << "size " << size << " chunk " << chunk;
      EXPECT_EQ(got->info, want->info);
      EXPECT_EQ(got->num_pieces, want->num_pieces);
    }
  }
}

TEST(PieceHasher, BuildRefusesAMismatchedPieceCount) {
  library::EntrySpec spec;
  spec.name = "x";
  spec.files.push_back({"x", 20000, 0});
  library::PieceHash h{};
  h.fill(0xab);
  EXPECT_FALSE(library::build_torrent(spec, 16384, {h}, {}));
  EXPECT_FALSE(library::build_torrent(spec, 16384, {h, h, h}, {}));
  EXPECT_TRUE(library::build_torrent(spec, 16384, {h, h}, {}));
}

}  // namespace
}  // namespace seedcast::origin
