#pragma once
// What the catalog knows of one torrent. Immutable once published.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "seedcast/core/file.hpp"
#include "seedcast/core/info_hash.hpp"

namespace seedcast::catalog {

struct File {
  std::string path;  // inside the torrent, '/'-separated; a single-file torrent's is its name
  uint64_t length = 0;
  uint64_t offset = 0;  // in the torrent's byte stream
  int64_t mtime_ns = 0;  // when it was hashed
  // Whether the file on disk is still the one that was hashed: the guard every reader of a
  // library file applies (the web seed, the WebRTC seed) before it sends a byte of it.
  bool unchanged(const FileStat& st) const { return st.size == length && st.mtime_ns == mtime_ns; }
};

struct Torrent {
  InfoHash info_hash;
  std::string name;
  bool multi_file = false;
  bool private_torrent = false;  // BEP 27 private=1 in the info dictionary
  std::vector<File> files;
  std::string info;  // the bencoded info dictionary, exactly as hashed
  uint64_t length = 0;
  uint32_t piece_length = 0;
  uint32_t num_pieces = 0;
  int64_t created = 0;  // unix seconds
  std::string created_by;
  std::string comment;
  // Where it came from: a library entry's top-level name; "swarm:<hex>" for a torrent the
  // gateway fetched from peers (data in the cache, maybe partial); "url:<url>" for a torrent made
  // from an origin URL.
  std::string source;
  std::string root;    // directory that file paths are relative to
  // Torrents made from a URL (source "url:" + origin): the URL and the validators it answered
  // with, to tell later whether the origin's bytes changed. Empty for library torrents.
  std::string origin;
  std::string origin_etag;
  std::string origin_last_modified;

  uint32_t last_piece_length() const {
    return num_pieces == 0 ? 0 : static_cast<uint32_t>(length - uint64_t(piece_length) * (num_pieces - 1));
  }
  bool from_library() const { return !source.empty() && !from_swarm() && origin.empty() && source.rfind("url:", 0) != 0; }
  bool from_swarm() const { return source.rfind("swarm:", 0) == 0; }
  std::string disk_path(const File& f) const { return root + "/" + f.path; }
  // The file at `path` (inside the torrent), or nullptr.
  const File* find_file(std::string_view path) const;
};

using TorrentPtr = std::shared_ptr<const Torrent>;

}  // namespace seedcast::catalog
