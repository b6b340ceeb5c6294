#pragma once
// SHA-1 of each piece of a byte stream that arrives in chunks of any size (OpenSSL EVP), so a
// download is hashed while it is written and never read back.
#include <cstdint>
#include <string_view>
#include <vector>

#include "seedcast/library/torrent_maker.hpp"

struct evp_md_ctx_st;

namespace seedcast::origin {

class PieceHasher {
 public:
  explicit PieceHasher(uint32_t piece_length);
  ~PieceHasher();
  PieceHasher(const PieceHasher&) = delete;
  PieceHasher& operator=(const PieceHasher&) = delete;

  void update(std::string_view bytes);
  // The hashes of every piece, the last (shorter) one included. Call once.
  std::vector<library::PieceHash> finish();
  uint64_t bytes() const { return total_; }
  uint32_t piece_length() const { return piece_length_; }

 private:
  evp_md_ctx_st* ctx_;
  uint32_t piece_length_;
  uint32_t in_piece_ = 0;
  uint64_t total_ = 0;
  std::vector<library::PieceHash> hashes_;
};

}  // namespace seedcast::origin
