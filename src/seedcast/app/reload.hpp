#pragma once
// SIGHUP: which settings App::reload applies while seedcast runs, and which wait for a restart.
#include <string_view>
#include <vector>

#include "seedcast/core/config.hpp"

namespace seedcast {

// The settings (their names in the settings table) whose values differ, in table order.
std::vector<std::string_view> changed_settings(const Config& running, const Config& fresh);

// Whether App::reload applies setting `name`; the others take effect at the next restart.
bool reloadable_setting(std::string_view name);

// Copies setting `name` from `from` into `to` (as the table reads and writes it).
void copy_setting(std::string_view name, const Config& from, Config& to);

}  // namespace seedcast
