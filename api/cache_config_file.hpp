// Wasmtime's cache config file (Config::cache_load), as far as Kiln's cache has settings for it.
// Internal to the api/ library.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "kiln/error.hpp"

namespace kiln::detail {

struct CacheFileSettings {
  bool enabled = true;
  std::optional<std::string> directory;  // none: the default directory
};

// Reads the TOML text of a cache config file (`path` names it in errors): its [cache] table's
// `enabled` (boolean) and `directory` (string). Any other table or key is an error naming it:
// Kiln's cache has no size limits, cleanup or compression to configure.
Result<CacheFileSettings> parse_cache_config_file(std::string_view text, const std::string& path);

}  // namespace kiln::detail
