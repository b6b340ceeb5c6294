// libFuzzer target: HTTP requests as seedcast reads and answers them. The input is a byte
// stream on one connection (its first byte sets the size of each read), parsed by Beast with the
// server's limits, read into seedcast's Request (http/detail/request_reader), then answered by
// a whole App in private mode: CORS, token extraction (header, Authorization, query, path
// segment), JWT verification, the router, the webseed's BEP 19 path mapping, Range and
// conditional headers, listings, .torrent files, the HTTP tracker, the pages.
// Properties, beyond "no crash":
//  - no handler throws (a connection would answer 500);
//  - a refusal before the handlers is 400, 413 or 431 and closes the connection;
//  - every 200/206/304 of a content route went to the holder of the fixture's valid token;
//  - every byte a file response sends is the file's byte at that offset (read back from the
//    descriptors the response would sendfile from), a single range's Content-Range matches it,
//    and Content-Length is the size of the body.
#include <unistd.h>

#include <utility>  // before Asio (GCC 12 and Boost 1.74 coroutines)
#include <sys/stat.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/buffers_prefix.hpp>
#include <boost/beast/http/error.hpp>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "seedcast/app/app.hpp"
#include "seedcast/auth/jwt.hpp"
#include "seedcast/catalog/catalog.hpp"
#include "seedcast/core/log.hpp"
#include "seedcast/http/detail/request_reader.hpp"
#include "seedcast/library/torrent_maker.hpp"

namespace {
namespace fs = std::filesystem;
using namespace seedcast;

// The library every input is asked about: a single-file torrent and a multi-file one. Every
// video holds the same bytes, so a response's bytes can be checked by the file's size alone.
struct Fixture {
  fs::path dir;
  std::string video;
  std::string notes = "notes, a small file\n";
  std::string token;
  std::unique_ptr<App> app;
  http::Handler handler;

  Fixture() {
    dir = fs::temp_directory_path() / ("seedcast-fuzz-http-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    std::mt19937 gen(7);
    video.resize(70000);
    for (auto& c : video) c = static_cast<char>(gen());
    write(dir / "library/clip.mp4", video);
    write(dir / "library/Show/Season 1/ep 1.mp4", video);
    write(dir / "library/Show/notes.txt", notes);
    fs::create_directories(dir / "data");
    {
      catalog::Catalog c((dir / "data/catalog.db").string());
      for (const char* p : {"library/clip.mp4", "library/Show"}) {
        auto t = library::make_torrent(*library::describe((dir / p).string()), {.piece_length = 16384, .private_torrent = true});
        if (!t || !c.put(*t)) std::abort();
        if (std::getenv("SEEDCAST_FUZZ_PRINT")) std::printf("%s %s\n", p, t->info_hash.hex().c_str());
      }
    }
    Config config;
    config.data_dir = (dir / "data").string();
    config.library = (dir / "library").string();
    config.web_dir = SEEDCAST_SOURCE_DIR "/web";
    config.peer_port = -1;
    config.rtc_port = -1;  // HTTP only: no UDP port to bind (fuzzers run side by side)
    config.secret = "fuzz-secret";
    config.access_token = "fuzz-access";
    config.rescan_interval = 0;
    config.log_level = "off";
    init_logging(config.log_level);
    app = std::make_unique<App>(config);
    handler = app->handler();
    // Valid until 2076 and the same in every run, so that corpus files carrying it stay good.
    token = auth::mint_hs256(config.secret, "fuzz-user", int64_t{50} * 365 * 86400, 1767225600);
    if (std::getenv("SEEDCAST_FUZZ_PRINT")) std::printf("token %s\n", token.c_str());
  }
  ~Fixture() {
    app.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  static void write(const fs::path& p, const std::string& bytes) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
  }
  const std::string* content_of_size(uint64_t size) const {
    if (size == video.size()) return &video;
    if (size == notes.size()) return &notes;
    return nullptr;
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

uint64_t number(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) std::abort();
  return v;
}

void check(const http::Request& req, const http::Response& res) {
  const Fixture& f = fixture();
  if (res.status < 100 || res.status > 599 || res.status == 500) std::abort();
  std::string_view path = req.path;
  bool content = starts_with(path, "/file/") || starts_with(path, "/torrent/") || starts_with(path, "/watch/") ||
                 path == "/announce" || path == "/scrape" || path == "/";
  bool ok = res.status == 200 || res.status == 206 || res.status == 304;
  if (content && ok && req.user != "fuzz-user") std::abort();
  if (res.parts.empty()) {
    if (res.content_length() != res.body.size()) std::abort();
    return;
  }
  // A file response: every byte of every file part is the file's own.
  uint64_t total = 0;
  for (const auto& part : res.parts) {
    total += part.bytes.size() + (part.file ? part.length : 0);
    if (!part.file) continue;
    struct stat st {};
    if (::fstat(part.file->fd(), &st) != 0) std::abort();
    const std::string* want = f.content_of_size(static_cast<uint64_t>(st.st_size));
    if (!want || part.offset > want->size() || part.length > want->size() - part.offset) std::abort();
    std::string got(part.length, '\0');
    if (::pread(part.file->fd(), got.data(), got.size(), static_cast<off_t>(part.offset)) !=
            static_cast<ssize_t>(got.size()) ||
        got != want->substr(part.offset, part.length))
      std::abort();
    if (res.status == 206 && res.parts.size() == 1) {
      // Content-Range: bytes first-last/length
      auto cr = res.get("Content-Range");
      if (!cr || !starts_with(*cr, "bytes ")) std::abort();
      std::string_view v = cr->substr(6);
      size_t dash = v.find('-'), slash = v.find('/');
      if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) std::abort();
      uint64_t first = number(v.substr(0, dash)), last = number(v.substr(dash + 1, slash - dash - 1));
      uint64_t length = number(v.substr(slash + 1));
      if (first != part.offset || last + 1 != part.offset + part.length || length != want->size()) std::abort();
    }
  }
  if (res.content_length() != total) std::abort();
}

void answer(const http::detail::BeastRequest& msg) {
  Fixture& f = fixture();
  static const http::ServerOptions options;
  http::Request req;
  req.remote = "127.0.0.1";
  req.local = "127.0.0.1:8002";
  if (auto refused = http::detail::read_request(msg, req, options)) {
    if (refused->status != 400 || !refused->close) std::abort();
    return;
  }
  boost::asio::io_context io;
  bool done = false;
  http::Response res;
  boost::asio::co_spawn(io, f.handler(req), [&](std::exception_ptr e, http::Response r) {
    if (e) std::abort();  // a handler threw on a client's bytes
    res = std::move(r);
    done = true;
  });
  io.run();
  if (!done) std::abort();
  if (std::getenv("SEEDCAST_FUZZ_PRINT"))
    std::printf("%.*s %.*s -> %d user=%s\n", static_cast<int>(req.method_text.size()), req.method_text.data(),
                static_cast<int>(req.path.size()), req.path.data(), res.status, req.user.c_str());
  check(req, res);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace bhttp = boost::beast::http;
  fixture();
  if (size < 1) return 0;
  const size_t chunk = 1 + data[0] % 128;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  static const http::ServerOptions options;
  // Requests one after another on one connection, each read by a fresh parser, as a
  // connection reads them.
  std::string buf;
  size_t at = 0;
  for (int requests = 0; requests < 8; ++requests) {
    http::detail::RequestParser parser;
    http::detail::limit(parser, options);
    boost::system::error_code ec;
    while (!parser.is_done()) {
      if (!buf.empty()) {
        size_t used = parser.put(boost::asio::buffer(buf), ec);
        buf.erase(0, used);
        if (ec == bhttp::error::need_more) ec = {};
        else if (ec) break;
        if (used > 0) continue;
      }
      if (at == in.size()) {
        if (!parser.got_some()) return 0;  // the stream ended between two requests
        parser.put_eof(ec);
        break;
      }
      buf.append(in.substr(at, chunk));
      at = std::min(in.size(), at + chunk);
    }
    if (!parser.is_done()) {
      if (!ec || ec == bhttp::error::partial_message) return 0;  // the stream ended
      auto r = http::detail::parse_refusal(ec, options);
      if ((r.status != 400 && r.status != 413 && r.status != 431) || !r.close) std::abort();
      return 0;
    }
    answer(parser.get());
    if (!parser.keep_alive()) return 0;
  }
  return 0;
}
