#include "seedcast/library/library.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <set>

#include "seedcast/catalog/blacklist.hpp"
#include "seedcast/catalog/catalog.hpp"
#include "seedcast/core/text.hpp"
#include "seedcast/library/torrent_maker.hpp"

namespace seedcast::library {
namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

namespace {

bool same_files(const catalog::Torrent& t, const EntrySpec& spec, bool private_torrent) {
  if (t.private_torrent != private_torrent || t.root != spec.root || t.multi_file != spec.multi_file || t.name != spec.name ||
      t.files.size() != spec.files.size())
    return false;
  for (size_t i = 0; i < t.files.size(); ++i) {
    const auto& a = t.files[i];
    const auto& b = spec.files[i];
    if (a.path != b.path || a.length != b.length || a.mtime_ns != b.mtime_ns) return false;
  }
  return true;
}

}  // namespace

Library::Library(LibraryOptions options, catalog::Catalog& catalog, catalog::Blacklist* blacklist)
    : options_(std::move(options)), catalog_(catalog), blacklist_(blacklist) {}

Library::~Library() { stop(); }

void Library::start() {
  thread_ = std::thread([this] { run(); });
}

void Library::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Library::rescan() {
  {
    std::lock_guard lock(mutex_);
    rescan_requested_ = true;
  }
  wake_.notify_all();
}

LibraryStats Library::stats() const {
  return LibraryStats{indexing_.load(), hashed_.load(), reused_.load(), failed_.load()};
}

void Library::run() {
  while (!stop_) {
    scan_once();
    std::unique_lock lock(mutex_);
    auto ready = [this] { return stop_.load() || rescan_requested_; };
    if (options_.rescan_interval > 0)
      wake_.wait_for(lock, std::chrono::seconds(options_.rescan_interval), ready);
    else
      wake_.wait(lock, ready);
    rescan_requested_ = false;
  }
}

void Library::scan_once() {
  if (blacklist_ && blacklist_->reload()) spdlog::info("blacklist: {} info-hashes", blacklist_->size());
  std::error_code ec;
  std::set<std::string> names;
  fs::directory_iterator it(options_.dir, ec), end;
  if (ec) {
    spdlog::error("library {}: {}", options_.dir, ec.message());
  } else {
    for (; it != end; it.increment(ec)) {
      if (ec) break;
      std::string n = it->path().filename().string();
      if (n.empty() || n[0] == '.') continue;
      names.insert(n);
    }
  }
  bool first = first_scan_;
  for (const auto& n : names) {
    if (stop_) return;
    index_entry(n, first);
  }
  if (!ec) {
    for (const auto& t : catalog_.all()) {
      if (t->source.empty() || !t->origin.empty() || names.count(t->source)) continue;  // URL torrents are not ours
      spdlog::info("library: {} is gone, removing {}", t->source, t->info_hash.hex());
      (void)catalog_.remove(t->info_hash);
    }
  }
  if (first) {
    spdlog::info("library {}: {} torrents ({} hashed, {} unchanged, {} failed)", options_.dir,
                 catalog_.size(), hashed_.load(), reused_.load(), failed_.load());
  }
  first_scan_ = false;
  indexing_ = false;
}

void Library::index_entry(const std::string& name, bool first) {
  std::string path = options_.dir + "/" + name;
  auto spec = describe(path);
  if (!spec) {
    spdlog::warn("library: skipping {}: {}", name, spec.error().message());
    return;
  }
  auto existing = catalog_.find_source(name);
  if (existing && same_files(*existing, *spec, options_.private_torrents)) {
    if (first) ++reused_;
    return;
  }
  if (spec->total() == 0) {
    if (existing) (void)catalog_.remove(existing->info_hash);
    return;
  }
  indexing_ = true;
  const uint64_t total = spec->total();
  auto started = steady::now();
  auto last_log = started;
  MakeOptions mo;
  mo.piece_length = options_.piece_length;
  mo.threads = options_.hash_threads;
  mo.cancel = &stop_;
  mo.private_torrent = options_.private_torrents;
  mo.progress = [&](uint64_t done, uint64_t all) {
    auto now = steady::now();
    if (now - last_log < std::chrono::seconds(2)) return;
    last_log = now;
    double secs = std::chrono::duration<double>(now - started).count();
    spdlog::info("hashing {}: {:.0f}% ({} of {}, {:.0f} MB/s)", name, 100.0 * done / all, text::human_size(done), text::human_size(all),
                 done / secs / 1e6);
  };
  spdlog::info("hashing {} ({}, {} files){}", name, text::human_size(total), spec->files.size(),
               existing ? " — changed on disk" : "");
  auto t = make_torrent(*spec, mo);
  if (!t) {
    if (stop_) return;
    ++failed_;
    spdlog::warn("library: cannot hash {}: {} (will retry)", name, t.error().message());
    return;
  }
  t->source = name;
  if (auto r = catalog_.put(*t); !r) {
    ++failed_;
    spdlog::error("library: cannot store {} in the catalog: {}", name, r.error().message());
    return;
  }
  if (existing && existing->info_hash != t->info_hash) (void)catalog_.remove(existing->info_hash);
  ++hashed_;
  double secs = std::chrono::duration<double>(steady::now() - started).count();
  spdlog::info("indexed {} → {} ({} pieces of {} KiB, {:.0f} MB/s)", name, t->info_hash.hex(), t->num_pieces,
               t->piece_length / 1024, secs > 0 ? total / secs / 1e6 : 0.0);
}

}  // namespace seedcast::library
