#include "seedcast/core/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <stdexcept>
#include <string>

namespace seedcast {
namespace {
spdlog::level::level_enum parse_level(std::string_view level) {
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off")
    throw std::invalid_argument("LOG_LEVEL: unknown level '" + std::string(level) + "'");
  return lvl;
}
}  // namespace

void init_logging(std::string_view level) {
  auto lvl = parse_level(level);
  auto logger = spdlog::stderr_color_mt("seedcast");
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void set_log_level(std::string_view level) { spdlog::default_logger()->set_level(parse_level(level)); }
}  // namespace seedcast
