#pragma once
// Making v1 torrents from files on disk: describe a file or folder, hash its pieces on every
// core, and produce the catalog record and .torrent bytes (bencoded by libtorrent).
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "seedcast/catalog/torrent.hpp"
#include "seedcast/core/error.hpp"

namespace seedcast::library {

struct FileSpec {
  std::string path;  // inside the torrent ('/'-separated); a single-file torrent's is its name
  uint64_t length = 0;
  int64_t mtime_ns = 0;
};

struct EntrySpec {
  std::string name;
  std::string root;  // directory the file paths are relative to
  bool multi_file = false;
  std::vector<FileSpec> files;  // sorted by path
  uint64_t total() const;
};

// Describes a file (single-file torrent) or a folder (multi-file: every regular file below
// it, nested folders included, sorted by path). Names starting with '.' are skipped.
result<EntrySpec> describe(const std::string& path);

// A piece length for streaming: about 1,500 pieces, a power of two from 16 KiB to 2 MiB.
uint32_t choose_piece_length(uint64_t total);

struct MakeOptions {
  uint32_t piece_length = 0;  // 0: choose_piece_length
  int threads = 0;            // 0: one per core
  std::string comment;
  std::string created_by = "seedcast/0.1.0";
  int64_t created = 0;  // 0: now
  bool private_torrent = false;  // BEP 27: private=1 in the info dictionary
  // Called from hashing threads as bytes are hashed (done, total); keep it cheap.
  std::function<void(uint64_t, uint64_t)> progress;
  const std::atomic<bool>* cancel = nullptr;
};

using PieceHash = std::array<unsigned char, 20>;  // SHA-1 of one piece

// The catalog record of a v1 torrent (no pad files) whose pieces are already hashed: the info
// dictionary is built around `hashes` by libtorrent. Used by make_torrent and by anything that
// hashes as bytes arrive (URL torrents). Only the info-dictionary options of `options` apply.
result<catalog::Torrent> build_torrent(const EntrySpec& spec, uint32_t piece_length,
                                       const std::vector<PieceHash>& hashes, const MakeOptions& options);

// Hashes and builds a v1 torrent (no pad files). Fails with errc::changed_on_disk when a file
// changes while it is being read, errc::empty_torrent when there is no data.
result<catalog::Torrent> make_torrent(const EntrySpec& spec, const MakeOptions& options);

struct Links {
  std::vector<std::string> announce;  // one tracker a tier
  std::vector<std::string> url_list;  // BEP 19 webseeds
};

// The .torrent file for `t`: its info dictionary byte for byte, plus announce, url-list,
// comment, created by and creation date.
std::string torrent_file(const catalog::Torrent& t, const Links& links);

}  // namespace seedcast::library
