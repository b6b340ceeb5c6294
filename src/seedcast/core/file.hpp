#pragma once
// An open, read-only file descriptor, shared by the responses that send from it.
#include <cstdint>
#include <memory>
#include <string>

namespace seedcast {

struct FileStat {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

class FileHandle {
 public:
  // Opens `path` read-only (O_CLOEXEC); nullptr with errno set when it cannot.
  static std::shared_ptr<FileHandle> open(const std::string& path);
  ~FileHandle();
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;
  int fd() const { return fd_; }
  const FileStat& stat() const { return stat_; }  // as of open()
  // The file's size and mtime now (fstat); false when fstat fails.
  bool current(FileStat& out) const;

 private:
  FileHandle(int fd, FileStat st) : fd_(fd), stat_(st) {}
  int fd_;
  FileStat stat_;
};

}  // namespace seedcast
