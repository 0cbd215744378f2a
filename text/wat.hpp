// The WebAssembly text format (.wat) to binary. The public entry point is kiln::wat2wasm
// (include/kiln/wat.hpp); this header is the library-internal interface used by the WAST
// parser and the spec runner.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "decoder/features.hpp"
#include "kiln/error.hpp"

namespace kiln::text {

// Parse one module written in the text format (a `(module ...)` form, or a module's fields
// without the `(module ...)` wrapper, as wat2wasm accepts) and encode it to binary.
// `file` names the input in error messages: "file:line:column: message". `features` shapes
// the grammar where proposals changed it (without memory64, memory limits are u32).
Result<std::vector<uint8_t>> wat_to_binary(
    std::string_view source, std::string_view file = "<input>",
    const wasm::Features& features = wasm::Features::everything());

}  // namespace kiln::text
