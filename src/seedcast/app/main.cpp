// The seedcast command line: serve, create, token, add. The only code the tests do not link.
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <spdlog/spdlog.h>
#include <sstream>
#include <thread>

#include "seedcast/app/admin.hpp"
#include "seedcast/app/app.hpp"
#include "seedcast/auth/jwt.hpp"
#include "seedcast/core/config.hpp"
#include "seedcast/core/log.hpp"
#include "seedcast/library/torrent_maker.hpp"
#include "seedcast/superpeer/worker.hpp"

namespace {

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Flags > environment > the .env file > defaults. A missing .env is no .env, unless
// `env_file_needed` (SIGHUP, when there was one at start: its settings would silently turn
// back to their defaults).
seedcast::Config load(const std::map<std::string, std::string>& flags, const std::string& env_file,
                      bool env_file_needed = false) {
  seedcast::ConfigSources sources;
  sources.flags = flags;
  sources.env = [](const std::string& k) -> std::optional<std::string> {
    const char* v = std::getenv(k.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  auto text = read_file(env_file);
  if (!text && env_file_needed) throw std::runtime_error("cannot read " + env_file);
  sources.dotenv = seedcast::parse_dotenv(text.value_or(""));
  return seedcast::load_config(sources);
}

// "90", "90s", "30m", "1h", "7d" → seconds.
int64_t parse_ttl(const std::string& s) {
  size_t used = 0;
  long long n = std::stoll(s, &used);
  std::string unit = s.substr(used);
  int64_t mul = unit.empty() || unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : unit == "d" ? 86400 : 0;
  if (mul == 0 || n <= 0) throw std::invalid_argument("--ttl: expected a duration like 90s, 30m, 1h or 7d");
  return n * mul;
}

int token(const std::string& user, const std::string& ttl, const std::string& env_file) {
  seedcast::Config config = load({}, env_file);
  if (config.secret.empty())
    throw std::runtime_error("token: no SECRET configured (environment or .env); tokens for JWT_PUBLIC_KEY are "
                             "minted by the site that holds the private key");
  std::printf("%s\n", seedcast::auth::mint_hs256(config.secret, user, parse_ttl(ttl), ::time(nullptr)).c_str());
  return 0;
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGQUIT: return "SIGQUIT";
    case SIGHUP: return "SIGHUP";
    default: return "signal";
  }
}

int serve(const std::map<std::string, std::string>& flags, const std::string& env_file) {
  seedcast::Config config = load(flags, env_file);
  seedcast::init_logging(config.log_level);

  // Signals are taken by one thread with sigwait; every other thread has them blocked.
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGQUIT, SIGHUP}) sigaddset(&set, sig);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  const bool had_env_file = read_file(env_file).has_value();
  seedcast::App app(config);
  app.listen();
  // SIGTERM, SIGQUIT, SIGINT: a graceful stop within SHUTDOWN_TIMEOUT; another one during it
  // stops at once. SIGHUP: the settings are read again (flags as given) and applied.
  std::atomic<bool> done{false};
  std::thread signals([&] {
    auto grace = std::chrono::seconds(config.shutdown_timeout);
    bool stopping = false;
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0 || done) return;
      if (sig == SIGHUP) {
        if (stopping) continue;
        spdlog::info("SIGHUP: reading the settings again");
        try {
          seedcast::Config fresh = load(flags, env_file, had_env_file);
          app.reload(fresh);
          grace = std::chrono::seconds(fresh.shutdown_timeout);
        } catch (const std::exception& e) {
          spdlog::error("SIGHUP: {}; nothing changed", e.what());
        }
      } else if (!stopping) {
        stopping = true;
        spdlog::info("{}: stopping gracefully (SHUTDOWN_TIMEOUT {} s; send it again to stop at once)",
                     signal_name(sig), grace.count());
        app.shutdown(grace);
      } else {
        spdlog::warn("{}: stopping now", signal_name(sig));
        app.stop();
        return;
      }
    }
  });
  app.run();
  // run() returns after a shutdown or a stop; the signal thread may still be waiting.
  done = true;
  pthread_kill(signals.native_handle(), SIGTERM);
  signals.join();
  spdlog::info("stopped");
  return 0;
}

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled), start_(std::chrono::steady_clock::now()) {}
  void update(uint64_t done, uint64_t total) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    if (done < total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    int width = 30, filled = total ? static_cast<int>(width * done / total) : width;
    std::fprintf(stderr, "\r[%s%s] %3.0f%%  %.1f/%.1f MiB  %.0f MB/s ", std::string(filled, '#').c_str(),
                 std::string(width - filled, '-').c_str(), total ? 100.0 * done / total : 100.0, done / 1048576.0,
                 total / 1048576.0, secs > 0 ? done / secs / 1e6 : 0.0);
    if (done >= total) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

 private:
  bool enabled_;
  std::chrono::steady_clock::time_point start_, last_;
};

struct CreateArgs {
  std::string path, output, comment;
  uint32_t piece_size = 0;
  int threads = 0;
  std::vector<std::string> url_list, announce;
};

int create(const CreateArgs& a) {
  auto spec = seedcast::library::describe(a.path);
  if (!spec) throw std::runtime_error("cannot read " + a.path + ": " + spec.error().message());
  ProgressBar bar(::isatty(STDERR_FILENO) != 0);
  seedcast::library::MakeOptions mo;
  mo.piece_length = a.piece_size;
  mo.threads = a.threads;
  mo.comment = a.comment;
  mo.progress = [&](uint64_t done, uint64_t total) { bar.update(done, total); };
  auto t = seedcast::library::make_torrent(*spec, mo);
  if (!t) throw std::runtime_error("cannot make a torrent of " + a.path + ": " + t.error().message());
  std::string out = a.output.empty() ? spec->name + ".torrent" : a.output;
  std::string bytes = seedcast::library::torrent_file(*t, {a.announce, a.url_list});
  std::ofstream f(out, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f.flush()) throw std::runtime_error("cannot write " + out);
  std::printf("%s  %s  (%zu files, %llu bytes, %u pieces of %u KiB) → %s\n", t->info_hash.hex().c_str(),
              t->name.c_str(), t->files.size(), static_cast<unsigned long long>(t->length), t->num_pieces,
              t->piece_length / 1024, out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // glibc returns freed memory to the kernel once 128 KiB is free at the top of the heap, and a
  // seed's buffers then fault it back in: about 12% of a seeding core at 5,000 viewers
  // (bench/seed_capacity.sh: 88% -> 75%). Keeping up to 256 MiB costs ~16 kB of private memory
  // per viewer. (This also fixes glibc's mmap threshold at its default.)
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  CLI::App cli{
      "seedcast: a private P2P video CDN server. It serves a library of videos as BitTorrent\n"
      "torrents with an HTTP webseed (range streaming of every file), so any BitTorrent client or\n"
      "browser can play at once, with or without peers."};
  cli.set_version_flag("--version", "seedcast 0.1.0");
  cli.require_subcommand(1);
  cli.footer(
      "Settings are read from flags, then environment variables, then a .env file, then the\n"
      "defaults, in that order of precedence. Run 'seedcast serve --help' for all of them.");

  auto* serve_cmd = cli.add_subcommand("serve", "run the server (webseed, listings, library indexer)");
  std::map<std::string, std::string> flag_values;
  std::map<std::string, CLI::Option*> options;
  const seedcast::Config defaults;
  for (const auto& s : seedcast::settings()) {
    std::string help = std::string(s.help) + "  [env " + std::string(s.name);
    for (auto alias : s.aliases) help += " or " + std::string(alias);
    std::string d = s.get(defaults);
    help += d.empty() ? "]" : "; default " + d + "]";
    options[std::string(s.name)] =
        serve_cmd->add_option("--" + seedcast::flag_name(s.name), flag_values[std::string(s.name)], help);
  }
  std::string env_file = ".env";
  serve_cmd->add_option("--env-file", env_file, "the .env file to read  [default .env]");
  serve_cmd->footer(
      "Every top-level file of LIBRARY becomes a single-file torrent and every top-level folder a\n"
      "multi-file torrent. Torrents are kept in DATA_DIR/catalog.db, so a restart re-hashes nothing.\n"
      "Routes: / (library), /torrent/{infoHash}.torrent, /file/{infoHash} (listing, ?json=1),\n"
      "/file/{infoHash}/{path} (range streaming), /healthz.");

  CreateArgs ca;
  auto* create_cmd = cli.add_subcommand("create", "make a .torrent of a file or folder (v1, no pad files)");
  create_cmd->add_option("path", ca.path, "file or folder")->required();
  create_cmd->add_option("-o,--output", ca.output, "output file  [default <name>.torrent]");
  create_cmd->add_option("--piece-size", ca.piece_size,
                         "piece size in bytes, a power of two from 16384  [default: about 1,500 pieces, "
                         "16 KiB to 2 MiB]")
      ->check([](const std::string& v) -> std::string {
        unsigned long long x = std::strtoull(v.c_str(), nullptr, 10);
        return x >= 16384 && (x & (x - 1)) == 0 && x <= (64ull << 20) ? "" : "a power of two from 16384";
      });
  create_cmd->add_option("--threads", ca.threads, "hashing threads  [default: one per core]");
  create_cmd->add_option("--comment", ca.comment, "comment stored in the torrent");
  create_cmd->add_option("--url-list,-w", ca.url_list, "BEP 19 webseed URL (repeatable)");
  create_cmd->add_option("--announce,-a", ca.announce, "tracker URL (repeatable)");

  std::string token_user, token_ttl = "1h", token_env = ".env";
  auto* token_cmd = cli.add_subcommand("token", "print a token (JWT, HS256) for a user, signed with SECRET");
  token_cmd->add_option("--user", token_user, "the userId claim")->required();
  token_cmd->add_option("--ttl", token_ttl, "lifetime: 90s, 30m, 1h, 7d  [default 1h]");
  token_cmd->add_option("--env-file", token_env, "the .env file to read  [default .env]");

  std::string add_what, add_server, add_env = ".env";
  auto* add_cmd = cli.add_subcommand(
      "add", "ask a running server to fetch a torrent it does not hold (gateway), via its admin API");
  add_cmd->add_option("what", add_what, "a magnet URI, an info-hash, or a .torrent file")->required();
  add_cmd->add_option("--server", add_server, "the server  [default http://localhost:<PORT>]");
  add_cmd->add_option("--env-file", add_env, "the .env file to read (ACCESS_TOKEN, PORT)  [default .env]");
  add_cmd->footer("The access token comes from ACCESS_TOKEN (environment or .env), as the server's does.");

  // Started by the master (WORKERS > 0), not by hand: hidden from --help.
  seedcast::superpeer::WorkerOptions wopt;
  std::string worker_log = "info";
  auto* worker_cmd = cli.add_subcommand("worker", "a super-peer worker process (started by the master)");
  worker_cmd->group("");
  worker_cmd->add_option("--control-fd", wopt.control_fd, "the control socket's descriptor");
  worker_cmd->add_option("--host", wopt.listen_host, "address the BitTorrent engine listens on");
  worker_cmd->add_option("--peer-port", wopt.peer_port, "BitTorrent port; 0 = any free port");
  // The master's seed policy (see SEED_* in docs/ops.md).
  seedcast::superpeer::for_each_seed_flag(wopt.seed, [&](const char* flag, const char* setting, auto& field) {
    worker_cmd->add_option(flag, field, setting);
  });
  worker_cmd->add_option("--rtc-port", wopt.rtc_port, "WebRTC UDP port; 0 = any free port, -1 = no WebRTC peer");
  worker_cmd->add_option("--rtc-bind", wopt.rtc_bind, "an address the WebRTC port binds (repeatable)");
  worker_cmd->add_option("--rtc-address", wopt.rtc_addresses, "an address advertised to browsers (repeatable)");
  worker_cmd->add_option("--rtc-max-peers", wopt.rtc_max_peers, "WebRTC peer connections at once");
  worker_cmd->add_option("--rtc-pending-per-address", wopt.rtc_pending_per_address, "RTC_PENDING_PER_ADDRESS");
  worker_cmd->add_option("--rtc-pending-per-torrent", wopt.rtc_pending_per_torrent, "RTC_PENDING_PER_TORRENT");
  worker_cmd->add_option("--rtc-handshake-timeout", wopt.rtc_handshake_timeout, "RTC_HANDSHAKE_TIMEOUT (seconds)");
  worker_cmd->add_option("--log-level", worker_log, "log level");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }
  // SIGPIPE would kill the process when a peer closes mid-sendfile; errors are handled instead.
  ::signal(SIGPIPE, SIG_IGN);
  try {
    if (*serve_cmd) {
      std::map<std::string, std::string> given;
      for (const auto& [name, opt] : options) {
        if (opt->count() > 0) given[name] = flag_values[name];
      }
      return serve(given, env_file);
    }
    if (*worker_cmd) {
      seedcast::init_logging(worker_log);
      return seedcast::superpeer::run_worker(wopt);
    }
    if (*create_cmd) return create(ca);
    if (*token_cmd) return token(token_user, token_ttl, token_env);
    if (*add_cmd) {
      seedcast::Config config = load({}, add_env);
      if (config.access_token.empty()) throw std::runtime_error("add: no ACCESS_TOKEN configured (environment or .env)");
      if (add_server.empty()) add_server = "http://localhost:" + std::to_string(config.port);
      return seedcast::admin::add_remote(add_server, config.access_token, add_what);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "seedcast: %s\n", e.what());
    return 1;
  }
  return 0;
}
