// Reading a module from a file for the CLI: `.wat` files are translated to binary, anything
// else is read as binary.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kiln/error.hpp"

namespace kiln::tools {

Result<std::vector<uint8_t>> read_module_file(const std::string& path);

}  // namespace kiln::tools
