#include "tools/module_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "text/wat.hpp"

namespace kiln::tools {

Result<std::vector<uint8_t>> read_module_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(path + ": cannot open: " + std::strerror(errno));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad()) return Error(path + ": read error: " + std::strerror(errno));
  const bool is_text = path.size() >= 4 && path.compare(path.size() - 4, 4, ".wat") == 0;
  if (!is_text) return bytes;
  std::string_view source(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return text::wat_to_binary(source, path);
}

}  // namespace kiln::tools
