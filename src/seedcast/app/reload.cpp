#include "seedcast/app/reload.hpp"

#include <algorithm>
#include <array>

namespace seedcast {
namespace {
// What App::reload applies. SHUTDOWN_TIMEOUT is the caller's: it passes it to App::shutdown().
constexpr std::array<std::string_view, 6> kReloadable = {
    "LOG_LEVEL", "BLACKLIST", "ACCESS_TOKEN", "ALLOWED_DOMAINS", "ALLOWED_DOMAINS_FILE", "SHUTDOWN_TIMEOUT",
};
}  // namespace

std::vector<std::string_view> changed_settings(const Config& running, const Config& fresh) {
  std::vector<std::string_view> out;
  for (const Setting& s : settings()) {
    if (s.get(running) != s.get(fresh)) out.push_back(s.name);
  }
  return out;
}

bool reloadable_setting(std::string_view name) {
  return std::find(kReloadable.begin(), kReloadable.end(), name) != kReloadable.end();
}

void copy_setting(std::string_view name, const Config& from, Config& to) {
  for (const Setting& s : settings()) {
    if (s.name == name) {
      (void)s.set(to, s.get(from));  // a value the table produced is one it accepts
      return;
    }
  }
}

}  // namespace seedcast
