#include "seedcast/superpeer/channel.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

#include "seedcast/engine/engine.hpp"

namespace seedcast::superpeer {

std::optional<std::string> base64_decode(std::string_view in) {
  // OpenSSL decodes the standard alphabet in whole quads; URL-safe input and missing padding
  // are brought to that form first.
  std::string s(in);
  size_t pad = 0;
  while (!s.empty() && s.back() == '=' && pad < 2) {
    s.pop_back();
    ++pad;
  }
  for (char& c : s) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
    else if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/')) return std::nullopt;
  }
  if (s.size() % 4 == 1) return std::nullopt;
  if (pad != 0 && (s.size() + pad) % 4 != 0) return std::nullopt;
  const size_t missing = (4 - s.size() % 4) % 4;
  s.append(missing, '=');
  std::string out(s.size() / 4 * 3, '\0');
  if (s.empty()) return out;
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<size_t>(n) - missing);  // EVP_DecodeBlock counts padding as zero bytes
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out((bytes.size() + 2) / 3 * 4, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(std::max(0, n)));
  return out;
}

std::optional<ChannelSource> decode_channel(std::string_view channel, std::string* why) {
  auto fail = [why](const char* m) -> std::optional<ChannelSource> {
    if (why) *why = m;
    return std::nullopt;
  };
  if (channel.empty()) return fail("channel is empty");
  if (channel.size() > 8192) return fail("channel is too long");
  auto raw = base64_decode(channel);
  if (!raw) return fail("channel is not base64");
  ChannelSource c;
  if (raw->size() == 20) {
    c.info_hash = InfoHash::from_bytes(raw->data());
    return c;
  }
  if (auto h = InfoHash::from_hex(*raw)) {
    c.info_hash = *h;
    return c;
  }
  for (char ch : *raw)
    if (static_cast<unsigned char>(ch) < 0x21 || ch == 0x7f)
      return fail("channel decodes to neither an info-hash, a magnet URI nor an http(s) URL");
  auto starts = [&](std::string_view p) {
    return raw->size() > p.size() && std::equal(p.begin(), p.end(), raw->begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
           });
  };
  if (starts("magnet:?")) {
    c.kind = ChannelSource::Kind::magnet;
    auto h = engine::magnet_info_hash(*raw);
    if (!h) return fail("channel is a magnet URI without a v1 info-hash (xt=urn:btih:…)");
    c.info_hash = *h;
  } else if (starts("http://") || starts("https://")) {
    c.kind = ChannelSource::Kind::url;
  } else {
    return fail("channel decodes to neither an info-hash, a magnet URI nor an http(s) URL");
  }
  c.text = std::move(*raw);
  return c;
}

}  // namespace seedcast::superpeer
