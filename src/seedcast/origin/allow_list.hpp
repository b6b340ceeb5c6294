#pragma once
// ALLOWED_DOMAINS: which hosts URL torrents may come from. Exact names ("cdn.example.com") and
// shell-style globs ("*.cdn.example.com", "video-?.example.com"), case-insensitive; a trailing
// dot is ignored. Empty: no host is allowed.
#include <string>
#include <string_view>
#include <vector>

namespace seedcast::origin {

class AllowList {
 public:
  AllowList() = default;
  explicit AllowList(std::vector<std::string> patterns);
  // A comma (or whitespace) separated list, as in ALLOWED_DOMAINS.
  static AllowList from_list(std::string_view list);
  // config/allowedDomains.json: a JSON array of names, or an object with such an array under
  // "allowedDomains" or "domains". Throws std::runtime_error when the file cannot be read or
  // is not one of those.
  static AllowList from_json_file(const std::string& path);
  // The same from the file's text; throws std::runtime_error when it is not one of those.
  static AllowList from_json(std::string_view text);

  void add(const AllowList& other);
  bool allows(std::string_view host) const;
  bool empty() const { return patterns_.empty(); }
  const std::vector<std::string>& patterns() const { return patterns_; }

 private:
  std::vector<std::string> patterns_;  // lower-case
};

}  // namespace seedcast::origin
