#include "seedcast/origin/piece_hasher.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <new>

namespace seedcast::origin {

PieceHasher::PieceHasher(uint32_t piece_length) : ctx_(EVP_MD_CTX_new()), piece_length_(piece_length) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_, EVP_sha1(), nullptr) != 1) throw std::bad_alloc();
}

PieceHasher::~PieceHasher() { EVP_MD_CTX_free(ctx_); }

void PieceHasher::update(std::string_view bytes) {
  while (!bytes.empty()) {
    size_t n = std::min<size_t>(bytes.size(), piece_length_ - in_piece_);
    EVP_DigestUpdate(ctx_, bytes.data(), n);
    bytes.remove_prefix(n);
    in_piece_ += static_cast<uint32_t>(n);
    total_ += n;
    if (in_piece_ == piece_length_) {
      library::PieceHash h{};
      unsigned int len = 0;
      EVP_DigestFinal_ex(ctx_, h.data(), &len);
      hashes_.push_back(h);
      EVP_DigestInit_ex(ctx_, EVP_sha1(), nullptr);
      in_piece_ = 0;
    }
  }
}

std::vector<library::PieceHash> PieceHasher::finish() {
  if (in_piece_ > 0) {
    library::PieceHash h{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, h.data(), &len);
    hashes_.push_back(h);
    in_piece_ = 0;
  }
  return std::move(hashes_);
}

}  // namespace seedcast::origin
