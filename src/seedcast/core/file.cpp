#include "seedcast/core/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace seedcast {

std::shared_ptr<FileHandle> FileHandle::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return nullptr;
  }
  FileStat fs{static_cast<uint64_t>(st.st_size),
              static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  return std::shared_ptr<FileHandle>(new FileHandle(fd, fs));
}

FileHandle::~FileHandle() { ::close(fd_); }

bool FileHandle::current(FileStat& out) const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return false;
  out.size = static_cast<uint64_t>(st.st_size);
  out.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return true;
}

}  // namespace seedcast
