#pragma once
// One error currency: boost::system::error_code (category per module) inside result<T>.
#include <string>
#include <system_error>

#include <boost/system/error_code.hpp>
#include <tl/expected.hpp>

namespace seedcast {

using error_code = boost::system::error_code;

template <class T>
using result = tl::expected<T, error_code>;

inline tl::unexpected<error_code> fail(error_code ec) { return tl::unexpected<error_code>(ec); }

// Errors raised by seedcast itself (not by the OS or a library).
enum class errc {
  ok = 0,
  bad_info_hash,
  not_found,
  bad_path,
  changed_on_disk,
  empty_torrent,
  corrupt_catalog,
  io_error,
};

const boost::system::error_category& seedcast_category();
inline error_code make_error(errc e) { return error_code(static_cast<int>(e), seedcast_category()); }

}  // namespace seedcast
