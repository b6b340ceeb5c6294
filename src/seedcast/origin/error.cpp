#include "seedcast/origin/error.hpp"

namespace seedcast::origin {
namespace {
class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "origin"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::ok: return "ok";
      case errc::bad_url: return "not an absolute http(s) URL";
      case errc::bad_scheme: return "only http and https URLs are fetched";
      case errc::host_not_allowed: return "this host is not in ALLOWED_DOMAINS";
      case errc::address_not_allowed: return "the host resolves to a private or local address";
      case errc::unresolvable: return "the origin's host name does not resolve";
      case errc::origin_status: return "the origin did not answer 200";
      case errc::bad_redirect: return "the origin redirected badly or too often";
      case errc::truncated: return "the origin's answer was cut short";
      case errc::unreachable: return "cannot reach the origin";
      case errc::empty: return "the origin sent no bytes";
      case errc::too_large: return "the file is larger than ORIGIN_MAX_BYTES";
      case errc::timeout: return "the origin did not answer within ORIGIN_TIMEOUT";
      case errc::storage: return "cannot store the file";
      case errc::stopping: return "the server is shutting down";
    }
    return "unknown origin error";
  }
};
}  // namespace

const boost::system::error_category& origin_category() {
  static const category c;
  return c;
}

int http_status(const error_code& ec) {
  if (ec.category() != origin_category()) return 500;
  switch (static_cast<errc>(ec.value())) {
    case errc::ok: return 200;
    case errc::bad_url:
    case errc::bad_scheme: return 400;
    case errc::host_not_allowed:
    case errc::address_not_allowed: return 403;
    case errc::too_large: return 413;
    case errc::timeout: return 504;
    case errc::storage: return 500;
    case errc::stopping: return 503;
    default: return 502;
  }
}

}  // namespace seedcast::origin
