#include "seedcast/catalog/blacklist.hpp"

#include <sys/stat.h>

#include <atomic>
#include <cctype>
#include <fstream>
#include <sstream>

namespace seedcast::catalog {

Blacklist::Blacklist(std::string path)
    : path_(std::move(path)), set_(std::make_shared<const std::unordered_set<InfoHash>>()) {
  reload();
}

bool Blacklist::contains(const InfoHash& h) const {
  auto s = std::atomic_load(&set_);
  return s->count(h) != 0;
}

size_t Blacklist::size() const { return std::atomic_load(&set_)->size(); }

std::unordered_set<InfoHash> Blacklist::parse(std::string_view text) {
  std::unordered_set<InfoHash> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.remove_prefix(1);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.remove_suffix(1);
    if (auto h = InfoHash::from_hex(line)) out.insert(*h);
  }
  return out;
}

bool Blacklist::reload() {
  std::lock_guard lock(mutex_);
  return reload_locked(false);
}

void Blacklist::read(std::string path) {
  std::lock_guard lock(mutex_);
  path_ = std::move(path);
  reload_locked(true);
}

bool Blacklist::reload_locked(bool force) {
  struct stat st {};
  int64_t mtime = -1, size = -1;
  if (::stat(path_.c_str(), &st) == 0) {
    mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    size = st.st_size;
  }
  if (!force && mtime == mtime_ns_ && size == size_) return false;
  mtime_ns_ = mtime;
  size_ = size;
  std::string text;
  if (mtime >= 0) {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  std::atomic_store(&set_, std::make_shared<const std::unordered_set<InfoHash>>(parse(text)));
  return true;
}

}  // namespace seedcast::catalog
