#include "tools/module_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string_view>

#include "text/wat.hpp"

namespace kiln::tools {

Result<std::vector<uint8_t>> read_module_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(path + ": cannot open: " + std::strerror(errno));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad()) return Error(path + ": read error: " + std::strerror(errno));
  // Binary when it says so; text when it is named .wat (or .wast) and is not binary.
  auto ends_with = [&](std::string_view suffix) {
    return path.size() >= suffix.size() &&
           path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  const bool has_magic =
      bytes.size() >= 4 && bytes[0] == 0 && bytes[1] == 'a' && bytes[2] == 's' && bytes[3] == 'm';
  if (has_magic || !(ends_with(".wat") || ends_with(".wast"))) return bytes;
  std::string_view source(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return text::wat_to_binary(source, path);
}

}  // namespace kiln::tools
