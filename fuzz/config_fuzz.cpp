// libFuzzer target: the operator's files — a .env file through the whole settings table
// (load_config), and config/allowedDomains.json / ALLOWED_DOMAINS (origin::AllowList). The same
// input is read as each. Properties, beyond "no crash":
//  - load_config either gives a Config or throws std::invalid_argument naming the setting,
//    nothing else;
//  - every setting of a Config, written back as its text (Setting::get) and loaded again, reads
//    the same: the text form is a fixed point;
//  - an allow-list reads every pattern in its one form: a pattern with no glob characters
//    allows itself, and a URL whose host is that pattern parses to a host the list allows (the
//    allow-list and the URL parser agree on address forms).
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "seedcast/core/config.hpp"
#include "seedcast/origin/allow_list.hpp"
#include "seedcast/origin/url.hpp"

namespace {
using namespace seedcast;

void check_allow_list(const origin::AllowList& list) {
  for (const auto& p : list.patterns()) {
    if (p.empty()) std::abort();
    if (p.find_first_of("*?[") != std::string::npos) continue;
    if (!list.allows(p)) std::abort();
    // Only patterns shaped like a host: "/a", "a:81" or "a?x" name no URL's host.
    bool v6 = p.find(':') != std::string::npos;
    if (p.find_first_not_of(v6 ? "0123456789abcdef:." : "abcdefghijklmnopqrstuvwxyz0123456789-_.") != std::string::npos)
      continue;
    auto u = origin::parse_url("http://" + (v6 ? "[" + p + "]" : p) + "/v.mp4");
    if (u && !list.allows(u->host)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  ConfigSources sources;
  sources.dotenv = parse_dotenv(in);
  std::optional<Config> c;
  try {
    c = load_config(sources);
  } catch (const std::invalid_argument& e) {
    if (std::string_view(e.what()).empty()) std::abort();
  }
  if (c) {
    ConfigSources again;
    for (const Setting& s : settings()) again.dotenv[std::string(s.name)] = s.get(*c);
    Config c2;
    try {
      c2 = load_config(again);
    } catch (const std::invalid_argument&) {
      std::abort();  // these are the values it gave
    }
    for (const Setting& s : settings())
      if (s.get(c2) != s.get(*c)) std::abort();
  }

  check_allow_list(origin::AllowList::from_list(in));
  try {
    check_allow_list(origin::AllowList::from_json(in));
  } catch (const std::runtime_error&) {
  }
  return 0;
}
