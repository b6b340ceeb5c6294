// libFuzzer target: the body of POST /api/torrents (admin::parse_add_body): a .torrent file, a
// magnet URI, an info-hash, raw or in JSON. Properties, beyond "no crash":
//  - a .torrent accepted has the info-hash that the SHA-1 of its raw info dictionary gives
//    (decoded here on its own with libtorrent's bdecode, hashed with OpenSSL);
//  - a magnet accepted is one line and names that info-hash in its text (hex or base32);
//  - an info-hash accepted is 40 hex digits that read back to it;
//  - a refusal says why.
#include <openssl/sha.h>

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <libtorrent/bdecode.hpp>
#include <string>
#include <string_view>
#include <variant>

#include "seedcast/app/admin.hpp"
#include "seedcast/core/text.hpp"

namespace {
using seedcast::InfoHash;
using seedcast::admin::AddRequest;

std::string base32(const InfoHash& h) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t b : h.bytes()) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(alphabet[(acc >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  return out;  // 160 bits: 32 characters, no padding
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto parsed = seedcast::admin::parse_add_body(body);
  if (auto* why = std::get_if<std::string>(&parsed)) {
    if (why->empty()) std::abort();
    return 0;
  }
  const AddRequest& a = std::get<AddRequest>(parsed);
  switch (a.kind) {
    case AddRequest::Kind::torrent_file: {
      if (a.text != body) std::abort();
      lt::error_code ec;
      lt::bdecode_node root = lt::bdecode(lt::span<const char>(body.data(), static_cast<long>(body.size())), ec);
      if (ec || root.type() != lt::bdecode_node::dict_t) std::abort();
      lt::bdecode_node info = root.dict_find_dict("info");
      if (!info) std::abort();
      auto section = info.data_section();
      unsigned char md[SHA_DIGEST_LENGTH];
      SHA1(reinterpret_cast<const unsigned char*>(section.data()), static_cast<size_t>(section.size()), md);
      if (InfoHash::from_bytes(reinterpret_cast<const char*>(md)) != a.info_hash) std::abort();
      break;
    }
    case AddRequest::Kind::magnet: {
      if (a.text.find_first_of("\r\n") != std::string::npos || a.text.rfind("magnet:", 0) != 0) std::abort();
      std::string text = upper(seedcast::text::percent_decode(a.text));
      if (text.find(upper(a.info_hash.hex())) == std::string::npos && text.find(base32(a.info_hash)) == std::string::npos)
        std::abort();
      break;
    }
    case AddRequest::Kind::info_hash: {
      auto again = InfoHash::from_hex(a.text);
      if (a.text.size() != 40 || !again || *again != a.info_hash) std::abort();
      break;
    }
  }
  return 0;
}
