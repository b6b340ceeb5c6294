#pragma once
// The pages people open: the library index at /.
#include <string>

namespace seedcast::catalog {
class Catalog;
}
namespace seedcast::http {
class Router;
}

namespace seedcast::web {

struct Options {
  std::string public_url;
};

void add_routes(http::Router& router, const catalog::Catalog& catalog, Options options);

}  // namespace seedcast::web
