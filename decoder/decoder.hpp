// The binary decoder: module bytes -> ModuleInfo. Function bodies are left as byte ranges.
#pragma once

#include <cstdint>
#include <span>

#include "decoder/features.hpp"
#include "decoder/module.hpp"
#include "kiln/error.hpp"

namespace kiln::wasm {

// Decode every section of a module. Errors carry the byte offset and the spec's wording
// ("unexpected end", "magic header not detected", "section size mismatch", ...).
// Operators inside function bodies are not read here (see operators.hpp).
Result<ModuleInfo> decode_module(std::span<const uint8_t> bytes,
                                 const Features& features = Features::all_standard());

}  // namespace kiln::wasm
