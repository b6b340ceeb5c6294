#include "seedcast/app/reload.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "seedcast/core/reloadable.hpp"

namespace seedcast {
namespace {

TEST(Reload, ListsChangedSettingsInTableOrder) {
  Config a, b;
  EXPECT_TRUE(changed_settings(a, b).empty());
  b.log_level = "debug";
  b.port = 9000;
  b.access_token = "t";
  b.shutdown_timeout = 5;
  auto changed = changed_settings(a, b);
  EXPECT_EQ(changed, (std::vector<std::string_view>{"PORT", "LOG_LEVEL", "ACCESS_TOKEN", "SHUTDOWN_TIMEOUT"}));
}

TEST(Reload, AppliesOnlyWhatCanChangeWhileRunning) {
  for (auto name : {"LOG_LEVEL", "BLACKLIST", "ACCESS_TOKEN", "ALLOWED_DOMAINS", "ALLOWED_DOMAINS_FILE",
                    "SHUTDOWN_TIMEOUT"})
    EXPECT_TRUE(reloadable_setting(name)) << name;
  for (auto name : {"PORT", "HOST", "DATA_DIR", "LIBRARY", "SECRET", "THREADS", "PEER_PORT", "IDLE_TIMEOUT"})
    EXPECT_FALSE(reloadable_setting(name)) << name;
  // Every reloadable name is a setting of the table (a typo would silently never apply).
  for (auto name : {"LOG_LEVEL", "BLACKLIST", "ACCESS_TOKEN", "ALLOWED_DOMAINS", "ALLOWED_DOMAINS_FILE",
                    "SHUTDOWN_TIMEOUT"}) {
    bool found = false;
    for (const auto& s : settings()) found = found || s.name == name;
    EXPECT_TRUE(found) << name;
  }
}

TEST(Reload, CopiesOneSetting) {
  Config from, to;
  from.log_level = "trace";
  from.shutdown_timeout = 7;
  from.port = 1;
  copy_setting("LOG_LEVEL", from, to);
  copy_setting("SHUTDOWN_TIMEOUT", from, to);
  EXPECT_EQ(to.log_level, "trace");
  EXPECT_EQ(to.shutdown_timeout, 7);
  EXPECT_EQ(to.port, Config().port);
}

TEST(Reloadable, ReadersKeepTheirSnapshot) {
  Reloadable<std::string> token("old");
  auto before = token.get();
  token.set("new");
  EXPECT_EQ(*before, "old");
  EXPECT_EQ(*token.get(), "new");
  // Readers and a writer at once (for TSan/ASan builds): every read sees a whole value.
  std::thread writer([&] {
    for (int i = 0; i < 2000; ++i) token.set(i % 2 ? "odd" : "even");
  });
  for (int i = 0; i < 2000; ++i) {
    auto v = token.get();
    EXPECT_TRUE(*v == "odd" || *v == "even" || *v == "new");
  }
  writer.join();
}

}  // namespace
}  // namespace seedcast
