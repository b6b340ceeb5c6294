#include "seedcast/app/rtc_peer.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <stdexcept>

namespace seedcast::app {
namespace {

// The SDP of an offer object {"type":"offer","sdp":…}, or nullopt.
std::optional<std::string> offer_sdp(std::string_view offer) {
  auto j = nlohmann::json::parse(offer, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto sdp = j.find("sdp");
  auto type = j.find("type");
  if (sdp == j.end() || !sdp->is_string() || (type != j.end() && *type != "offer")) return std::nullopt;
  return sdp->get<std::string>();
}

class SeedPeer final : public tracker::ServerPeer {
 public:
  explicit SeedPeer(std::shared_ptr<superpeer::RtcSeed> seed) : seed_(std::move(seed)) {}
  const tracker::PeerId& peer_id() const override { return seed_->peer_id(); }
  bool wants_offer(const InfoHash& h, const tracker::PeerId& from) override { return seed_->wants_offer(h, from); }
  void offer(const InfoHash& h, const tracker::PeerId& from, std::string_view offer, const tracker::WsClient& client,
             std::function<void(std::string_view)> answer) override {
    auto sdp = offer_sdp(offer);
    if (!sdp) return;
    auto a = seed_->answer(h, from, *sdp, client.remote, client.local);
    if (a) answer(*a);
  }

 private:
  std::shared_ptr<superpeer::RtcSeed> seed_;
};

class WorkerPeer final : public tracker::ServerPeer {
 public:
  WorkerPeer(superpeer::WorkerPool& pool, const superpeer::WorkerPool::RtcWorker& w) : pool_(pool), worker_(w) {}
  const tracker::PeerId& peer_id() const override { return worker_.peer_id; }
  bool wants_offer(const InfoHash& h, const tracker::PeerId& from) override { return pool_.rtc_wants(worker_.pid, h, from); }
  void offer(const InfoHash& h, const tracker::PeerId& from, std::string_view offer, const tracker::WsClient& client,
             std::function<void(std::string_view)> answer) override {
    auto sdp = offer_sdp(offer);
    if (!sdp) return;
    pool_.rtc_offer(worker_.pid, h, from, std::move(*sdp), client.remote, client.local, std::move(answer));
  }

 private:
  superpeer::WorkerPool& pool_;
  superpeer::WorkerPool::RtcWorker worker_;
};

}  // namespace

std::shared_ptr<tracker::ServerPeer> server_peer(std::shared_ptr<superpeer::RtcSeed> seed) {
  return std::make_shared<SeedPeer>(std::move(seed));
}

std::shared_ptr<tracker::ServerPeer> worker_peer(superpeer::WorkerPool& pool, const superpeer::WorkerPool::RtcWorker& w) {
  return std::make_shared<WorkerPeer>(pool, w);
}

std::vector<std::string> rtc_bind_addresses(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.empty() ? nullptr : host.c_str(), nullptr, &hints, &res) != 0 || !res)
    throw std::runtime_error("cannot resolve HOST '" + host + "' for the WebRTC port");
  std::vector<std::string> out;
  for (addrinfo* a = res; a; a = a->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {};
    const void* addr = a->ai_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                                               : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
    if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) || !::inet_ntop(a->ai_family, addr, buf, sizeof buf)) continue;
    if (std::find(out.begin(), out.end(), buf) == out.end()) out.emplace_back(buf);
  }
  ::freeaddrinfo(res);
  if (out.empty()) throw std::runtime_error("HOST '" + host + "' has no address for the WebRTC port");
  return out;
}

std::vector<std::string> split_addresses(const std::string& list) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : list + ",") {
    if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  return out;
}

}  // namespace seedcast::app
