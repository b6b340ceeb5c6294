#include "seedcast/origin/allow_list.hpp"

#include <fnmatch.h>

#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "seedcast/origin/url.hpp"

namespace seedcast::origin {
namespace {

std::string normalise(std::string_view s) {
  std::string out;
  for (char c : s) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  // Trailing dots and IPv6 brackets, in any nesting ("[::1]." and "[x.]" alike), so that a
  // normalised name normalises to itself (config_fuzz).
  for (bool changed = true; changed;) {
    changed = false;
    while (!out.empty() && out.back() == '.') out.pop_back(), changed = true;
    if (out.size() > 2 && out.front() == '[' && out.back() == ']') out = out.substr(1, out.size() - 2), changed = true;
  }
  // An address is compared in the form URLs give their hosts (0x7f.1 and 127.1 are 127.0.0.1).
  if (out.find_first_of("*?[") == std::string::npos) out = canonical_host(std::move(out));
  return out;
}

}  // namespace

AllowList::AllowList(std::vector<std::string> patterns) {
  for (const auto& p : patterns) {
    std::string n = normalise(p);
    if (!n.empty()) patterns_.push_back(std::move(n));
  }
}

AllowList AllowList::from_list(std::string_view list) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : list) {
    if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return AllowList(std::move(out));
}

AllowList AllowList::from_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return from_json(ss.str());
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

AllowList AllowList::from_json(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_object()) {
    for (const char* key : {"allowedDomains", "domains"}) {
      if (j.contains(key)) {
        j = j[key];
        break;
      }
    }
  }
  if (!j.is_array()) throw std::runtime_error("expected a JSON array of domain names");
  std::vector<std::string> out;
  for (const auto& e : j) {
    if (!e.is_string()) throw std::runtime_error("expected a JSON array of domain names");
    out.push_back(e.get<std::string>());
  }
  return AllowList(std::move(out));
}

void AllowList::add(const AllowList& other) {
  patterns_.insert(patterns_.end(), other.patterns_.begin(), other.patterns_.end());
}

bool AllowList::allows(std::string_view host) const {
  std::string h = normalise(host);
  if (h.empty()) return false;
  for (const auto& p : patterns_) {
    if (p == h) return true;
    if (p.find_first_of("*?[") != std::string::npos && ::fnmatch(p.c_str(), h.c_str(), FNM_CASEFOLD) == 0) return true;
  }
  return false;
}

}  // namespace seedcast::origin
