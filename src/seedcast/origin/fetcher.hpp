#pragma once
// Torrents from URLs on allowed hosts. The first request for a URL fetches it (libcurl, on the
// fetcher's own threads) into <cache_dir>, hashing pieces as the bytes arrive, and puts the
// torrent in the catalog; requests that arrive meanwhile await the same fetch. Later requests
// get the catalog's torrent, revalidated with the origin at most every `revalidate`: a changed
// origin (ETag, Last-Modified or length) makes a new torrent and the old one leaves.
//
// Guard against server-side request forgery: http/https only; the host must be allowed, and
// every address it resolves to is checked (loopback, private, link-local, … refused unless
// allow_private) and the connection pinned to the checked address; redirects are followed by
// hand, each hop checked the same way; size and time are capped. A fetch that fails leaves
// nothing behind: the body goes to a temporary file that becomes the torrent's data only once
// every byte arrived.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "seedcast/catalog/torrent.hpp"
#include "seedcast/core/error.hpp"
#include "seedcast/http/asio.hpp"
#include "seedcast/origin/allow_list.hpp"

namespace seedcast::catalog {
class Catalog;
}

namespace seedcast::origin {

struct Options {
  std::string cache_dir;  // <DATA_DIR>/cache/url; created when missing
  AllowList allowed;
  bool allow_private = false;                   // ALLOW_PRIVATE_ORIGINS (tests)
  uint64_t max_bytes = uint64_t{8} << 30;       // ORIGIN_MAX_BYTES
  std::chrono::seconds timeout{600};            // ORIGIN_TIMEOUT: a whole fetch, redirects included
  std::chrono::seconds revalidate{60};          // ORIGIN_REVALIDATE; 0: ask the origin every time
  int max_redirects = 5;
  int threads = 4;               // fetches of different URLs at the same time
  uint32_t piece_length = 0;     // 0: chosen from Content-Length (1 MiB when unknown)
  bool private_torrent = false;  // BEP 27, as library torrents
};

struct Answer {
  catalog::TorrentPtr torrent;  // set on success
  error_code error;             // an origin::errc otherwise
  std::string message;          // for people: what went wrong
};

struct Stats {
  uint64_t fetches = 0;      // GETs of a body started
  uint64_t revalidations = 0;  // HEADs asking whether a cached torrent is current
  uint64_t failures = 0;
  uint64_t coalesced = 0;    // requests that joined a fetch already under way
};

class Fetcher {
 public:
  // Removes leftovers of interrupted fetches and cached data no catalog torrent refers to.
  Fetcher(Options options, catalog::Catalog& catalog);
  ~Fetcher();  // aborts transfers under way; their requests get errc::stopping
  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;

  // The torrent for `url`. Completes on the caller's executor.
  asio::awaitable<Answer> torrent(std::string url);
  // Replaces the allowed hosts (SIGHUP). Thread-safe: requests and redirect hops checked
  // after it use the new list; fetches already under way go on.
  void set_allowed(AllowList allowed);
  Stats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace seedcast::origin
