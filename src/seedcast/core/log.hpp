#pragma once
#include <spdlog/fwd.h>

#include <string_view>

namespace seedcast {
// Sets up the default spdlog logger (stderr, colour on a terminal). Throws
// std::invalid_argument for an unknown level name.
void init_logging(std::string_view level);
// Changes the default logger's level (SIGHUP). Thread-safe. Throws std::invalid_argument for
// an unknown level name, and changes nothing then.
void set_log_level(std::string_view level);
}  // namespace seedcast
