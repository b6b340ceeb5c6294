#include "seedcast/origin/fetcher.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "seedcast/catalog/catalog.hpp"
#include "seedcast/core/reloadable.hpp"
#include "seedcast/origin/address.hpp"
#include "seedcast/origin/error.hpp"
#include "seedcast/origin/piece_hasher.hpp"
#include "seedcast/origin/url.hpp"

namespace seedcast::origin {
namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

namespace {

constexpr std::string_view kSourcePrefix = "url:";
constexpr std::chrono::seconds kRevalidateTimeout{20};

Answer failure(errc e, std::string message = {}) {
  error_code ec = make_error(e);
  return {nullptr, ec, message.empty() ? ec.message() : std::move(message)};
}

int64_t mtime_ns(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

// The torrent's data is on disk as it was when hashed.
bool data_present(const catalog::Torrent& t) {
  if (t.files.size() != 1) return false;
  struct stat st {};
  return ::stat(t.disk_path(t.files[0]).c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) == t.files[0].length &&
         mtime_ns(st) == t.files[0].mtime_ns;
}

std::optional<std::string> header(CURL* curl, const char* name) {
  curl_header* h = nullptr;
  if (curl_easy_header(curl, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h || !h->value) return std::nullopt;
  return std::string(h->value);
}

// The first address of `host` an origin may have; errc otherwise.
result<std::string> resolve_host(const std::string& host, bool allow_private) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || !res) return fail(make_error(errc::unresolvable));
  std::string chosen;
  for (addrinfo* a = res; a; a = a->ai_next) {
    if (!allow_private && is_private(a->ai_addr)) continue;
    chosen = to_string(a->ai_addr);
    if (!chosen.empty()) break;
  }
  ::freeaddrinfo(res);
  if (chosen.empty()) return fail(make_error(errc::address_not_allowed));
  return chosen;
}

// The body of a 200 answer: a temporary file in the cache folder and the piece hashes, made as
// bytes arrive. Its destructor deletes the file unless it was kept.
struct Body {
  std::string dir;
  uint32_t piece_length_option = 0;
  int fd = -1;
  std::string path;
  std::unique_ptr<PieceHasher> hasher;
  uint64_t bytes = 0;

  ~Body() {
    if (fd >= 0) ::close(fd);
    if (!path.empty()) ::unlink(path.c_str());
  }
  bool open(int64_t content_length) {
    std::string tmpl = dir + "/tmp-XXXXXX";
    fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd < 0) return false;
    path = tmpl;
    uint32_t pl = piece_length_option ? piece_length_option
                  : content_length > 0 ? library::choose_piece_length(static_cast<uint64_t>(content_length))
                                       : 1024 * 1024;
    hasher = std::make_unique<PieceHasher>(pl);
    return true;
  }
  bool write(const char* p, size_t n) {
    hasher->update({p, n});
    bytes += n;
    while (n > 0) {
      ssize_t w = ::write(fd, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }
  // Moves the file to `dest` and keeps it.
  bool keep(const std::string& dest) {
    if (::close(fd) != 0) {
      fd = -1;
      return false;
    }
    fd = -1;
    if (::rename(path.c_str(), dest.c_str()) != 0) return false;
    path.clear();
    return true;
  }
};

// One HTTP exchange (no redirects followed).
struct Exchange {
  CURL* curl = nullptr;
  const std::atomic<bool>* stopping = nullptr;
  bool allow_private = false;
  std::string pinned;  // the address checked before connecting; no other is connected to
  uint64_t max_bytes = 0;
  Body* body = nullptr;  // GET: where a 200's bytes go
  long status = 0;
  int64_t content_length = -1;
  bool skipped_body = false;  // a non-200 answer's body was not read
  std::optional<errc> abort;  // why a callback stopped the transfer
};

size_t on_header(char* p, size_t size, size_t n, void* user) {
  auto* x = static_cast<Exchange*>(user);
  size_t len = size * n;
  std::string_view line(p, len);
  if (line != "\r\n" && line != "\n") return len;
  // The end of a header block (there is one per 1xx answer too).
  curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status);
  if (x->status != 200 || !x->body || x->body->fd >= 0) return len;  // (trailers end with one too)
  curl_off_t cl = -1;
  curl_easy_getinfo(x->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
  x->content_length = cl;
  if (cl > 0 && static_cast<uint64_t>(cl) > x->max_bytes) {
    x->abort = errc::too_large;
    return 0;
  }
  if (!x->body->open(cl)) {
    x->abort = errc::storage;
    return 0;
  }
  return len;
}

size_t on_body(char* p, size_t size, size_t n, void* user) {
  auto* x = static_cast<Exchange*>(user);
  size_t len = size * n;
  if (x->status != 200 || !x->body || x->body->fd < 0) {
    x->skipped_body = true;  // a redirect's or an error's body: not wanted
    return 0;
  }
  if (x->body->bytes + len > x->max_bytes) {
    x->abort = errc::too_large;
    return 0;
  }
  if (!x->body->write(p, len)) {
    x->abort = errc::storage;
    return 0;
  }
  return len;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* x = static_cast<Exchange*>(user);
  return x->stopping->load() ? 1 : 0;
}

// Defence in depth behind the pinned address: a socket is only opened to the address that was
// checked, and never to a private one unless allowed.
curl_socket_t on_open_socket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* x = static_cast<Exchange*>(user);
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  const auto* sa = &address->addr;
  if ((!x->allow_private && is_private(sa)) || to_string(sa) != x->pinned) {
    spdlog::warn("origin: refusing to connect to {}", to_string(sa));
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

}  // namespace

struct Fetcher::Impl {
  Options options;  // options.allowed is the list at start; `allowed` is the current one
  Reloadable<AllowList> allowed;
  catalog::Catalog& catalog;
  std::atomic<bool> stopping{false};

  struct Flight {
    Url url;
    std::vector<std::function<void(Answer)>> waiters;
  };
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::shared_ptr<Flight>> queue;
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights;  // by normalised URL
  std::unordered_map<std::string, steady::time_point> checked;        // last asked the origin
  std::vector<std::thread> threads;
  std::atomic<uint64_t> fetches{0}, revalidations{0}, failures{0}, coalesced{0};

  Impl(Options o, catalog::Catalog& c) : options(std::move(o)), allowed(options.allowed), catalog(c) {}

  bool fresh(const std::string& key) {
    if (options.revalidate.count() <= 0) return false;
    std::lock_guard lock(mutex);
    auto it = checked.find(key);
    return it != checked.end() && steady::now() - it->second < options.revalidate;
  }
  void mark_checked(const std::string& key) {
    std::lock_guard lock(mutex);
    if (checked.size() > 100000) checked.clear();
    checked[key] = steady::now();
  }

  // What one request/answer of a fetch or revalidation ended with.
  struct Hop {
    error_code error;
    std::string message;
    long status = 0;
    Url url;  // the URL that answered
    std::string etag, last_modified;
    int64_t content_length = -1;
  };

  // GET (with `body`) or HEAD `start`, following redirects by hand: every hop's scheme, host
  // and address are checked before connecting.
  Hop exchange(const Url& start, Body* body, const catalog::Torrent* conditional, steady::time_point deadline) {
    Hop hop;
    hop.url = start;
    for (int redirects = 0;; ++redirects) {
      const Url& u = hop.url;
      if (!allowed.get()->allows(u.host)) {
        hop.error = make_error(errc::host_not_allowed);
        hop.message = "host not allowed: " + u.host;
        return hop;
      }
      auto address = resolve_host(u.host, options.allow_private);
      if (!address) {
        hop.error = address.error();
        hop.message = address.error().message() + ": " + u.host;
        return hop;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
      if (left.count() <= 0) {
        hop.error = make_error(errc::timeout);
        hop.message = hop.error.message();
        return hop;
      }
      Exchange x;
      x.curl = curl_easy_init();
      if (!x.curl) {
        hop.error = make_error(errc::unreachable);
        hop.message = "cannot start a transfer";
        return hop;
      }
      x.stopping = &stopping;
      x.allow_private = options.allow_private;
      x.pinned = *address;
      x.max_bytes = options.max_bytes;
      x.body = body;
      bool v6 = address->find(':') != std::string::npos;
      std::string pin = u.host + ":" + std::to_string(u.port) + ":" + (v6 ? "[" + *address + "]" : *address);
      // An IP literal needs no pinning (and cannot be written in CURLOPT_RESOLVE's syntax).
      bool literal = u.host == *address;
      curl_slist* resolve = literal ? nullptr : curl_slist_append(nullptr, pin.c_str());
      curl_slist* headers = nullptr;
      if (conditional) {
        if (!conditional->origin_etag.empty())
          headers = curl_slist_append(headers, ("If-None-Match: " + conditional->origin_etag).c_str());
        if (!conditional->origin_last_modified.empty())
          headers = curl_slist_append(headers, ("If-Modified-Since: " + conditional->origin_last_modified).c_str());
      }
      CURL* c = x.curl;
      curl_easy_setopt(c, CURLOPT_URL, u.url.c_str());
      curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
      curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
      curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
      curl_easy_setopt(c, CURLOPT_PROXY, "");  // never a proxy from the environment
      curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(c, CURLOPT_USERAGENT, "seedcast/0.1.0");
      curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(left.count()));
      curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<int64_t>(left.count(), 15000)));
      curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_bytes));
      if (resolve) curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
      if (headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
      curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
      curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &x);
      curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
      curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
      curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
      curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
      curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
      curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
      if (!body) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
      CURLcode rc = curl_easy_perform(c);
      if (x.status == 0) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x.status);
      hop.status = x.status;
      hop.content_length = x.content_length;
      if (!body) {
        curl_off_t cl = -1;
        curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        hop.content_length = cl;
      }
      hop.etag = header(c, "ETag").value_or("");
      hop.last_modified = header(c, "Last-Modified").value_or("");
      // Not CURLINFO_REDIRECT_URL: libcurl sets it only for a transfer that ran to its end, and
      // a redirect's body is not read.
      std::string next = header(c, "Location").value_or("");
      curl_slist_free_all(resolve);
      curl_slist_free_all(headers);
      curl_easy_cleanup(c);

      if (x.abort) {
        hop.error = make_error(*x.abort);
        hop.message = hop.error.message();
        return hop;
      }
      if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && x.skipped_body)) {
        errc e = rc == CURLE_OPERATION_TIMEDOUT        ? errc::timeout
                 : rc == CURLE_FILESIZE_EXCEEDED       ? errc::too_large
                 : rc == CURLE_ABORTED_BY_CALLBACK     ? errc::stopping
                 : rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR ? errc::truncated
                 : rc == CURLE_COULDNT_RESOLVE_HOST    ? errc::unresolvable
                                                       : errc::unreachable;
        hop.error = make_error(e);
        hop.message = hop.error.message() + " (" + curl_easy_strerror(rc) + ")";
        return hop;
      }
      bool redirect_status = hop.status == 301 || hop.status == 302 || hop.status == 303 || hop.status == 307 ||
                             hop.status == 308;
      if (!redirect_status) return hop;
      if (redirects >= options.max_redirects) {
        hop.error = make_error(errc::bad_redirect);
        hop.message = "more than " + std::to_string(options.max_redirects) + " redirects";
        return hop;
      }
      auto target = origin::resolve(hop.url, next);
      if (!target) {
        hop.error = make_error(errc::bad_redirect);
        hop.message = "the origin redirected to an unusable URL (" + target.error().message() + ")";
        return hop;
      }
      spdlog::debug("origin: {} redirects to {}", hop.url.url, target->url);
      hop.url = std::move(*target);
    }
  }

  enum class Check { current, changed, gone };

  // Asks the origin (HEAD, conditional) whether `t` is still what it serves. An origin that
  // cannot be asked right now leaves the cached torrent in place.
  Check revalidate(const Url& url, const catalog::Torrent& t) {
    ++revalidations;
    // A short bound: on no answer the cached copy is served anyway.
    Hop hop = exchange(url, nullptr, &t, steady::now() + std::min<std::chrono::seconds>(options.timeout, kRevalidateTimeout));
    if (hop.error) {
      spdlog::warn("origin: cannot revalidate {}: {}; serving the cached copy", url.url, hop.message);
      return Check::current;
    }
    if (hop.status == 304) return Check::current;
    if (hop.status == 404 || hop.status == 410) return Check::gone;
    if (hop.status != 200) {
      spdlog::warn("origin: revalidating {}: status {}; serving the cached copy", url.url, hop.status);
      return Check::current;
    }
    if (hop.content_length >= 0 && static_cast<uint64_t>(hop.content_length) != t.length) return Check::changed;
    if (!t.origin_etag.empty() || !hop.etag.empty()) return hop.etag == t.origin_etag ? Check::current : Check::changed;
    if (!t.origin_last_modified.empty() || !hop.last_modified.empty())
      return hop.last_modified == t.origin_last_modified ? Check::current : Check::changed;
    return hop.content_length >= 0 ? Check::current : Check::changed;
  }

  struct Made {
    catalog::Torrent torrent;
    bool new_data = false;  // its folder was made by this fetch (else: the same bytes were there)
  };

  // GETs the URL into the cache and makes its torrent (not yet in the catalog).
  result<Made> fetch(const Url& url, std::string& message) {
    ++fetches;
    Body body;
    body.dir = options.cache_dir;
    body.piece_length_option = options.piece_length;
    Hop hop = exchange(url, &body, nullptr, steady::now() + options.timeout);
    if (!hop.error && hop.status != 200) {
      hop.error = make_error(errc::origin_status);
      hop.message = "the origin answered " + std::to_string(hop.status);
    }
    if (!hop.error && (body.fd < 0 || body.bytes == 0)) hop.error = make_error(errc::empty);
    if (!hop.error && hop.content_length >= 0 && body.bytes != static_cast<uint64_t>(hop.content_length)) {
      hop.error = make_error(errc::truncated);
      hop.message = std::to_string(body.bytes) + " of " + std::to_string(hop.content_length) + " bytes";
    }
    if (hop.error) {
      message = hop.message.empty() ? hop.error.message() : hop.message;
      return fail(hop.error);
    }
    const std::string name = file_name(url);
    const uint32_t piece_length = body.hasher->piece_length();
    auto hashes = body.hasher->finish();
    library::EntrySpec spec;
    spec.name = name;
    spec.files.push_back({name, body.bytes, 0});
    library::MakeOptions mo;
    mo.private_torrent = options.private_torrent;
    auto t = library::build_torrent(spec, piece_length, hashes, mo);
    if (!t) {
      message = "cannot build the torrent: " + t.error().message();
      return fail(make_error(errc::storage));
    }
    std::string dir = options.cache_dir + "/" + t->info_hash.hex();
    Made made;
    auto same = catalog.find(t->info_hash);
    if (same && same->root == dir && data_present(*same)) {
      // The same bytes are already there (e.g. an origin without validators): keep them, so
      // nothing that is being served changes under a reader. The new copy is deleted.
      t->files = same->files;
      t->created = same->created;
    } else {
      std::error_code ec;
      fs::remove_all(dir, ec);  // a leftover of a torrent no longer in the catalog
      fs::create_directories(dir, ec);
      struct stat st {};
      if (ec || !body.keep(dir + "/" + name) || ::stat((dir + "/" + name).c_str(), &st) != 0) {
        fs::remove_all(dir, ec);
        message = "cannot store the file in " + dir;
        return fail(make_error(errc::storage));
      }
      t->files[0].mtime_ns = mtime_ns(st);
      made.new_data = true;
    }
    t->root = dir;
    t->source = std::string(kSourcePrefix) + url.url;
    t->origin = url.url;
    t->origin_etag = hop.etag;
    t->origin_last_modified = hop.last_modified;
    made.torrent = std::move(*t);
    return made;
  }

  void remove_torrent(const catalog::Torrent& t) {
    (void)catalog.remove(t.info_hash);
    std::error_code ec;
    fs::path root = fs::path(t.root).lexically_normal();
    if (root.parent_path() == fs::path(options.cache_dir).lexically_normal()) fs::remove_all(root, ec);
  }

  Answer run(const Url& url) {
    const std::string source = std::string(kSourcePrefix) + url.url;
    auto existing = catalog.find_source(source);
    if (existing && data_present(*existing)) {
      switch (revalidate(url, *existing)) {
        case Check::current:
          mark_checked(url.url);
          return {existing, {}, {}};
        case Check::gone:
          spdlog::info("origin: {} is gone, removing {}", url.url, existing->info_hash.hex());
          remove_torrent(*existing);
          return failure(errc::origin_status, "the origin no longer has this file");
        case Check::changed:
          spdlog::info("origin: {} changed since {} was made", url.url, existing->info_hash.hex());
          break;
      }
    }
    std::string message;
    auto made = fetch(url, message);
    if (!made) {
      ++failures;
      spdlog::info("origin: {}: {}", url.url, message);
      return {nullptr, made.error(), message};
    }
    const catalog::Torrent& t = made->torrent;
    if (auto r = catalog.put(t); !r) {
      std::error_code ec;
      if (made->new_data) fs::remove_all(t.root, ec);
      ++failures;
      return failure(errc::storage, "cannot store the torrent in the catalog");
    }
    if (existing && existing->info_hash != t.info_hash) remove_torrent(*existing);
    mark_checked(url.url);
    spdlog::info("origin: {} → {} ({} bytes, {} pieces)", url.url, t.info_hash.hex(), t.length, t.num_pieces);
    return {catalog.find(t.info_hash), {}, {}};
  }

  void work() {
    for (;;) {
      std::shared_ptr<Flight> f;
      {
        std::unique_lock lock(mutex);
        wake.wait(lock, [this] { return stopping || !queue.empty(); });
        if (queue.empty()) return;
        f = std::move(queue.front());
        queue.pop_front();
      }
      Answer a = stopping ? failure(errc::stopping) : Answer{};
      if (!stopping) {
        try {
          a = run(f->url);
        } catch (const std::exception& e) {
          spdlog::error("origin: {}: {}", f->url.url, e.what());
          a = failure(errc::storage, "internal error");
        }
      }
      std::vector<std::function<void(Answer)>> waiters;
      {
        std::lock_guard lock(mutex);
        flights.erase(f->url.url);
        waiters = std::move(f->waiters);
      }
      for (auto& w : waiters) w(a);
    }
  }

  void clean_cache() {
    std::error_code ec;
    for (fs::directory_iterator it(options.cache_dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::string n = it->path().filename().string();
      bool stale = n.rfind("tmp-", 0) == 0;  // a fetch the last run did not finish
      if (!stale) {
        auto h = InfoHash::from_hex(n);
        auto t = h ? catalog.find(*h) : nullptr;
        stale = !t || t->root != it->path().string();
      }
      if (stale) {
        std::error_code e2;
        fs::remove_all(it->path(), e2);
      }
    }
  }
};

Fetcher::Fetcher(Options options, catalog::Catalog& catalog) : impl_(std::make_shared<Impl>(std::move(options), catalog)) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::error_code ec;
  fs::create_directories(impl_->options.cache_dir, ec);
  if (ec) throw std::runtime_error("cannot create " + impl_->options.cache_dir + ": " + ec.message());
  impl_->options.cache_dir = fs::canonical(impl_->options.cache_dir).string();
  impl_->clean_cache();
  for (int i = 0; i < std::max(1, impl_->options.threads); ++i)
    impl_->threads.emplace_back([impl = impl_.get()] { impl->work(); });
}

Fetcher::~Fetcher() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  for (auto& t : impl_->threads) t.join();
}

void Fetcher::set_allowed(AllowList allowed) { impl_->allowed.set(std::move(allowed)); }

Stats Fetcher::stats() const {
  return {impl_->fetches.load(), impl_->revalidations.load(), impl_->failures.load(), impl_->coalesced.load()};
}

asio::awaitable<Answer> Fetcher::torrent(std::string text) {
  auto url = parse_url(text);
  if (!url) co_return failure(static_cast<errc>(url.error().value()));
  if (!impl_->allowed.get()->allows(url->host)) co_return failure(errc::host_not_allowed, "host not allowed: " + url->host);
  auto existing = impl_->catalog.find_source(std::string(kSourcePrefix) + url->url);
  if (existing && impl_->fresh(url->url) && data_present(*existing)) co_return Answer{existing, {}, {}};

  auto executor = co_await asio::this_coro::executor;
  // Built before the co_await: GCC 12 mishandles lambdas created inside a co_await expression.
  auto initiation = [impl = impl_, executor, url = std::move(*url)](auto handler) mutable {
    // The handler is move-only and was allocated by the request thread's allocator: its only
    // reference goes back to that thread's executor, which runs and releases it.
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    auto waiter = [h = std::move(h), executor](Answer a) mutable {
      asio::post(executor, [h = std::move(h), a = std::move(a)]() mutable { (*h)(std::move(a)); });
    };
    std::unique_lock lock(impl->mutex);
    if (impl->stopping) {
      lock.unlock();
      waiter(failure(errc::stopping));
      return;
    }
    auto& f = impl->flights[url.url];
    if (f) {
      ++impl->coalesced;
    } else {
      f = std::make_shared<Impl::Flight>();
      f->url = std::move(url);
      impl->queue.push_back(f);
      impl->wake.notify_one();
    }
    f->waiters.push_back(std::move(waiter));
  };
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Answer)>(std::move(initiation),
                                                                                      asio::use_awaitable);
}

}  // namespace seedcast::origin
