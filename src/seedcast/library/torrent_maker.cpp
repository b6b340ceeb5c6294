#include "seedcast/library/torrent_maker.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <libtorrent/bencode.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/entry.hpp>
#include <libtorrent/file_storage.hpp>
#include <libtorrent/hasher.hpp>
#include <memory>
#include <mutex>
#include <thread>

namespace seedcast::library {
namespace fs = std::filesystem;

namespace {

int64_t mtime_ns(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

bool hidden(const fs::path& p) {
  std::string n = p.filename().string();
  return !n.empty() && n[0] == '.';
}

error_code sys_error(int e) { return error_code(e, boost::system::system_category()); }

struct OpenFiles {
  std::vector<int> fds;
  ~OpenFiles() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
};

// Reads [offset, offset + n) of the concatenated files into buf. False when a file is shorter
// than described (it changed) or cannot be read.
bool read_span(const EntrySpec& spec, const std::vector<uint64_t>& starts, const OpenFiles& files,
               uint64_t offset, size_t n, char* buf) {
  size_t i = static_cast<size_t>(std::upper_bound(starts.begin(), starts.end(), offset) - starts.begin()) - 1;
  while (n > 0 && i < spec.files.size()) {
    uint64_t in_file = offset - starts[i];
    uint64_t avail = spec.files[i].length - in_file;
    size_t want = static_cast<size_t>(std::min<uint64_t>(avail, n));
    size_t got = 0;
    while (got < want) {
      ssize_t r = ::pread(files.fds[i], buf + got, want - got, static_cast<off_t>(in_file + got));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      got += static_cast<size_t>(r);
    }
    buf += want;
    offset += want;
    n -= want;
    ++i;
  }
  return n == 0;
}

}  // namespace

uint64_t EntrySpec::total() const {
  uint64_t t = 0;
  for (const auto& f : files) t += f.length;
  return t;
}

result<EntrySpec> describe(const std::string& path_text) {
  std::error_code ec;
  fs::path path = fs::absolute(path_text, ec).lexically_normal();
  if (ec) return fail(sys_error(ec.value()));
  if (path.has_filename() == false) path = path.parent_path();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail(sys_error(errno));
  EntrySpec spec;
  spec.name = path.filename().string();
  if (S_ISREG(st.st_mode)) {
    spec.root = path.parent_path().string();
    spec.files.push_back({spec.name, static_cast<uint64_t>(st.st_size), mtime_ns(st)});
    return spec;
  }
  if (!S_ISDIR(st.st_mode)) return fail(make_error(errc::bad_path));
  spec.multi_file = true;
  spec.root = path.string();
  fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec), end;
  if (ec) return fail(sys_error(ec.value()));
  for (; it != end; it.increment(ec)) {
    if (ec) return fail(sys_error(ec.value()));
    if (hidden(it->path())) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    struct stat fst {};
    if (::stat(it->path().c_str(), &fst) != 0 || !S_ISREG(fst.st_mode)) continue;
    spec.files.push_back({it->path().lexically_relative(path).generic_string(),
                          static_cast<uint64_t>(fst.st_size), mtime_ns(fst)});
  }
  std::sort(spec.files.begin(), spec.files.end(),
            [](const FileSpec& a, const FileSpec& b) { return a.path < b.path; });
  return spec;
}

uint32_t choose_piece_length(uint64_t total) {
  uint32_t pl = 16 * 1024;
  while (pl < 2 * 1024 * 1024 && total / pl > 1500) pl *= 2;
  return pl;
}

result<catalog::Torrent> make_torrent(const EntrySpec& spec, const MakeOptions& options) {
  const uint64_t total = spec.total();
  if (spec.files.empty() || total == 0) return fail(make_error(errc::empty_torrent));
  const uint32_t piece_length = options.piece_length ? options.piece_length : choose_piece_length(total);
  const uint64_t num_pieces = (total + piece_length - 1) / piece_length;

  OpenFiles files;
  std::vector<uint64_t> starts;
  uint64_t offset = 0;
  for (const auto& f : spec.files) {
    std::string p = spec.root + "/" + f.path;
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(sys_error(errno));
    files.fds.push_back(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    starts.push_back(offset);
    offset += f.length;
  }

  // Pieces are handed out in order from one counter; each thread reads and hashes whole pieces.
  std::vector<PieceHash> hashes(num_pieces);
  std::atomic<uint64_t> next{0}, done_bytes{0};
  std::atomic<bool> failed{false};
  std::mutex progress_mutex;
  int threads = options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  threads = static_cast<int>(std::clamp<uint64_t>(static_cast<uint64_t>(std::max(threads, 1)), 1, num_pieces));
  auto work = [&] {
    std::unique_ptr<char[]> buf(new char[piece_length]);
    for (;;) {
      if (failed.load(std::memory_order_relaxed) || (options.cancel && options.cancel->load())) return;
      uint64_t i = next.fetch_add(1);
      if (i >= num_pieces) return;
      uint64_t start = i * piece_length;
      size_t n = static_cast<size_t>(std::min<uint64_t>(piece_length, total - start));
      if (!read_span(spec, starts, files, start, n, buf.get())) {
        failed = true;
        return;
      }
      unsigned int len = 0;
      EVP_Digest(buf.get(), n, hashes[i].data(), &len, EVP_sha1(), nullptr);
      uint64_t d = done_bytes.fetch_add(n) + n;
      if (options.progress) {
        std::lock_guard lock(progress_mutex);
        options.progress(d, total);
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (options.cancel && options.cancel->load()) return fail(make_error(errc::io_error));

  // A file that changed while it was read would give hashes of mixed content.
  for (size_t i = 0; i < spec.files.size(); ++i) {
    struct stat st {};
    if (failed || ::fstat(files.fds[i], &st) != 0 || static_cast<uint64_t>(st.st_size) != spec.files[i].length ||
        mtime_ns(st) != spec.files[i].mtime_ns)
      return fail(make_error(errc::changed_on_disk));
  }

  return build_torrent(spec, piece_length, hashes, options);
}

result<catalog::Torrent> build_torrent(const EntrySpec& spec, uint32_t piece_length,
                                       const std::vector<PieceHash>& hashes, const MakeOptions& options) {
  const uint64_t total = spec.total();
  const uint64_t num_pieces = hashes.size();
  if (spec.files.empty() || total == 0) return fail(make_error(errc::empty_torrent));
  if (piece_length == 0 || (total + piece_length - 1) / piece_length != num_pieces) return fail(make_error(errc::io_error));
  lt::file_storage storage;
  for (const auto& f : spec.files) {
    storage.add_file(spec.multi_file ? spec.name + "/" + f.path : f.path, static_cast<std::int64_t>(f.length));
  }
  lt::create_torrent ct(storage, static_cast<int>(piece_length), lt::create_torrent::v1_only);
  if (static_cast<uint64_t>(ct.num_pieces()) != num_pieces || ct.files().num_files() != static_cast<int>(spec.files.size()))
    return fail(make_error(errc::io_error));
  for (uint64_t i = 0; i < num_pieces; ++i) {
    ct.set_hash(lt::piece_index_t(static_cast<int>(i)),
                lt::sha1_hash(reinterpret_cast<const char*>(hashes[i].data())));
  }
  if (options.private_torrent) ct.set_priv(true);
  std::string info;
  try {
    lt::entry e = ct.generate();  // throws on a piece hash of all zeros (libtorrent's "unset")
    lt::bencode(std::back_inserter(info), e["info"]);
  } catch (const std::exception&) {
    return fail(make_error(errc::io_error));
  }

  catalog::Torrent t;
  lt::hasher h(info.data(), static_cast<int>(info.size()));
  lt::sha1_hash ih = h.final();
  t.info_hash = InfoHash::from_bytes(ih.data());
  t.name = spec.name;
  t.multi_file = spec.multi_file;
  t.private_torrent = options.private_torrent;
  uint64_t off = 0;
  for (const auto& f : spec.files) {
    t.files.push_back({f.path, f.length, off, f.mtime_ns});
    off += f.length;
  }
  t.info = std::move(info);
  t.length = total;
  t.piece_length = piece_length;
  t.num_pieces = static_cast<uint32_t>(num_pieces);
  t.created = options.created ? options.created : static_cast<int64_t>(::time(nullptr));
  t.created_by = options.created_by;
  t.comment = options.comment;
  t.root = spec.root;
  return t;
}

std::string torrent_file(const catalog::Torrent& t, const Links& links) {
  lt::entry e(lt::entry::dictionary_t);
  if (!links.announce.empty()) {
    e["announce"] = links.announce.front();
    lt::entry::list_type tiers;
    for (const auto& a : links.announce) tiers.emplace_back(lt::entry::list_type{lt::entry(a)});
    e["announce-list"] = std::move(tiers);
  }
  if (!t.comment.empty()) e["comment"] = t.comment;
  if (!t.created_by.empty()) e["created by"] = t.created_by;
  e["creation date"] = static_cast<std::int64_t>(t.created);
  e["info"] = lt::entry(lt::entry::preformatted_type(t.info.begin(), t.info.end()));
  if (links.url_list.size() == 1) {
    e["url-list"] = links.url_list.front();
  } else if (!links.url_list.empty()) {
    lt::entry::list_type l;
    for (const auto& u : links.url_list) l.emplace_back(u);
    e["url-list"] = std::move(l);
  }
  std::string out;
  lt::bencode(std::back_inserter(out), e);
  return out;
}

}  // namespace seedcast::library
