#pragma once
#include <spdlog/fwd.h>

#include <string_view>

namespace seedcast {
// Sets up the default spdlog logger (stderr, colour on a terminal). Throws
// std::invalid_argument for an unknown level name.
void init_logging(std::string_view level);
}  // namespace seedcast
