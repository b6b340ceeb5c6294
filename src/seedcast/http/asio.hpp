#pragma once
// The one way into Asio for headers: <utility> first (GCC 12 + Boost 1.74 coroutines need it),
// then only the awaitable type. Implementation files include detail/asio_impl.hpp.
#include <utility>

#include <boost/asio/awaitable.hpp>

namespace seedcast {
namespace asio = boost::asio;
}
