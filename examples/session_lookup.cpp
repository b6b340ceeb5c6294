// Example: the site keeps logged-in sessions in its own SQLite database (table sessions with
// columns id and user_id). This program embeds seedcast and lets a request in when its
// X-Session header, or its ?session= parameter, names a live session.
//
//   SESSIONS_DB=/srv/site/sessions.db LIBRARY=./library ./session_lookup
#include <sqlite3.h>

#include <mutex>

#include "common.hpp"
#include "seedcast/core/text.hpp"
#include "seedcast/http/message.hpp"

namespace {

class Sessions {
 public:
  explicit Sessions(const char* path) {
    if (sqlite3_open_v2(path, &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("cannot open ") + path);
  }
  ~Sessions() { sqlite3_close(db_); }
  // The user of a session, if it exists.
  std::optional<std::string> user(const std::string& session) {
    std::lock_guard lock(mutex_);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db_, "SELECT user_id FROM sessions WHERE id = ?", -1, &st, nullptr);
    sqlite3_bind_text(st, 1, session.data(), static_cast<int>(session.size()), SQLITE_TRANSIENT);
    std::optional<std::string> out;
    if (sqlite3_step(st) == SQLITE_ROW) out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
  std::mutex mutex_;
};

}  // namespace

int main() {
  const char* db = std::getenv("SESSIONS_DB");
  if (!db || !*db) {
    std::fprintf(stderr, "session_lookup: set SESSIONS_DB\n");
    return 1;
  }
  sigset_t signals = example::block_signals();
  seedcast::init_logging("info");
  Sessions sessions(db);
  seedcast::App app(example::config_from_environment());
  app.use([&sessions](seedcast::http::Request& req,
                      const seedcast::http::Handler& next) -> seedcast::asio::awaitable<seedcast::http::Response> {
    if (req.path == "/healthz") co_return co_await next(req);
    std::optional<std::string> id;
    if (auto h = req.header("X-Session")) id = std::string(*h);
    if (!id) id = seedcast::text::query_param(req.query, "session");
    if (!id) co_return seedcast::http::Response::error(401, "no session");
    auto user = sessions.user(*id);
    if (!user) co_return seedcast::http::Response::error(401, "unknown or expired session");
    req.user = *user;
    co_return co_await next(req);
  });
  return example::run(app, signals);
}
