// The WebAssembly text format: kiln::wat2wasm translates a module written in the text format
// (WebAssembly 3.0 plus threads and wide arithmetic) into its binary encoding.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "kiln/error.hpp"

namespace kiln {

// Encodes one module in the text format: a `(module ...)` form (also `(module binary ...)` and
// `(module quote ...)`) or the module's fields alone. Errors read "<input>:line:column: message".
Result<std::vector<uint8_t>> wat2wasm(std::string_view wat);

}  // namespace kiln
