#include "seedcast/core/error.hpp"

namespace seedcast {
namespace {
class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "seedcast"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::ok: return "ok";
      case errc::bad_info_hash: return "not a 40-hex-digit info-hash";
      case errc::not_found: return "not found";
      case errc::bad_path: return "bad path";
      case errc::changed_on_disk: return "file changed on disk since it was hashed";
      case errc::empty_torrent: return "nothing to put in a torrent (no data)";
      case errc::corrupt_catalog: return "the catalog holds a record that cannot be read";
      case errc::io_error: return "i/o error";
    }
    return "unknown seedcast error";
  }
};
}  // namespace

const boost::system::error_category& seedcast_category() {
  static const category c;
  return c;
}
}  // namespace seedcast
