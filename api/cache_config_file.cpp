#include "api/cache_config_file.hpp"

#include <algorithm>
#include <array>

namespace kiln::detail {

namespace {

// Wasmtime's cache settings that Kiln's cache has no counterpart for (it keeps every entry,
// uncompressed, with no background worker).
constexpr std::array<std::string_view, 11> kWasmtimeOnlyKeys = {
    "worker-event-queue-size",
    "baseline-compression-level",
    "optimized-compression-level",
    "optimized-compression-usage-counter-threshold",
    "cleanup-interval",
    "optimizing-compression-task-timeout",
    "allowed-clock-drift-for-files-from-future",
    "file-count-soft-limit",
    "files-total-size-soft-limit",
    "file-count-limit-percent-if-deleting",
    "files-total-size-limit-percent-if-deleting",
};

std::string_view trim(std::string_view text) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return text;
}

// The line without its comment (a `#` outside a string).
std::string_view strip_comment(std::string_view line) {
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote) {
      if (c == '\\' && quote == '"')
        ++i;
      else if (c == quote)
        quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#') {
      return line.substr(0, i);
    }
  }
  return line;
}

// A TOML string value (basic "…" with its escapes, or literal '…'), alone on the rest of the line.
std::optional<std::string> parse_string(std::string_view value) {
  if (value.size() < 2 || value.front() != value.back()) return std::nullopt;
  const char quote = value.front();
  if (quote != '"' && quote != '\'') return std::nullopt;
  const std::string_view body = value.substr(1, value.size() - 2);
  if (quote == '\'') {
    if (body.find('\'') != std::string_view::npos) return std::nullopt;
    return std::string(body);
  }
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '"') return std::nullopt;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i == body.size()) return std::nullopt;
    switch (body[i]) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      default:
        return std::nullopt;  // \u escapes: not in a directory name worth supporting
    }
  }
  return out;
}

}  // namespace

Result<CacheFileSettings> parse_cache_config_file(std::string_view text, const std::string& path) {
  CacheFileSettings settings;
  std::string table;
  bool seen_cache_table = false, seen_enabled = false, seen_directory = false;
  size_t line_number = 0;
  auto error = [&](const std::string& what) {
    return Error("Config::cache_load: " + path + ":" + std::to_string(line_number) + ": " + what);
  };
  while (!text.empty()) {
    ++line_number;
    const size_t newline = text.find('\n');
    const std::string_view line = trim(strip_comment(text.substr(0, newline)));
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    if (line.empty()) continue;
    if (line.front() == '[') {
      if (line.starts_with("[[") || line.back() != ']')
        return error("expected a table header such as [cache]");
      table = std::string(trim(line.substr(1, line.size() - 2)));
      if (table != "cache")
        return error("the table [" + table + "] is not supported (Kiln reads the [cache] table)");
      if (seen_cache_table) return error("the table [cache] appears twice");
      seen_cache_table = true;
      continue;
    }
    const size_t equals = line.find('=');
    if (equals == std::string_view::npos) return error("expected `key = value`");
    std::string key(trim(line.substr(0, equals)));
    if (auto quoted = parse_string(key)) key = *quoted;
    const std::string_view value = trim(line.substr(equals + 1));
    if (table != "cache") return error("`" + key + "` is outside the [cache] table");
    if (std::find(kWasmtimeOnlyKeys.begin(), kWasmtimeOnlyKeys.end(), key) !=
        kWasmtimeOnlyKeys.end()) {
      return error("the setting `" + key +
                   "` is not supported by Kiln's cache (it reads `enabled` and `directory`)");
    }
    if (key == "enabled") {
      if (seen_enabled) return error("`enabled` is set twice");
      seen_enabled = true;
      if (value != "true" && value != "false") return error("`enabled` must be true or false");
      settings.enabled = value == "true";
    } else if (key == "directory") {
      if (seen_directory) return error("`directory` is set twice");
      seen_directory = true;
      auto directory = parse_string(value);
      if (!directory || directory->empty()) return error("`directory` must be a non-empty string");
      settings.directory = std::move(*directory);
    } else {
      return error("unknown setting `" + key + "` in [cache]");
    }
  }
  if (!seen_cache_table) {
    line_number = 0;
    return Error("Config::cache_load: " + path + ": no [cache] table");
  }
  return settings;
}

}  // namespace kiln::detail
