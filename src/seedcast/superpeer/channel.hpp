#pragma once
// A super-peer channel, as the REST API names it: `channel` is base64 (standard or URL-safe
// alphabet, padding optional) of one of
//   - an info-hash: 40 hex digits, or its 20 raw bytes;
//   - a magnet URI (magnet:?xt=urn:btih:…);
//   - an http(s) URL: the torrent seedcast makes from that URL (an allowed origin).
// The same base64 names the channel in GET /stats/{channelId}.
#include <optional>
#include <string>
#include <string_view>

#include "seedcast/core/error.hpp"
#include "seedcast/core/info_hash.hpp"

namespace seedcast::superpeer {

// Decodes base64 (either alphabet, '=' padding optional). nullopt on any other character,
// misplaced padding or an impossible length.
std::optional<std::string> base64_decode(std::string_view in);
std::string base64_encode(std::string_view bytes);  // standard alphabet, padded

struct ChannelSource {
  enum class Kind { info_hash, magnet, url } kind = Kind::info_hash;
  InfoHash info_hash;  // Kind::info_hash and Kind::magnet
  std::string text;    // the magnet URI or URL
  // What identifies the channel whatever its spelling: the info-hash in hex (a magnet and the
  // bare info-hash of one torrent are one channel), or the URL.
  std::string key() const { return kind == Kind::url ? text : info_hash.hex(); }
};

// nullopt with `why` set when `channel` is not one of the forms above.
std::optional<ChannelSource> decode_channel(std::string_view channel, std::string* why = nullptr);

}  // namespace seedcast::superpeer
