// The module half of the text format: module fields in a token stream to binary. Shared by
// wat_to_binary and the WAST parser (which tokenizes a whole script once).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "decoder/features.hpp"
#include "kiln/error.hpp"
#include "text/lexer.hpp"

namespace kiln::text {

// Maximum nesting of blocks and folded instructions in one function. The instruction parser
// keeps its own explicit stack (no native recursion per nesting level), so this only bounds
// memory and the decoder/validator's work.
constexpr uint32_t kMaxNesting = 10000;

// Encodes the module fields that start at token `begin` and run up to the `)` that closes
// the enclosing `(module ...)` form (or to Eof when `bare`). On success `end` is the index of
// that `)` / Eof token. `module_id` is the module's $id (without '$'), used for the name
// section when no @name annotation overrides it. `features` shapes the grammar where
// proposals changed it (without memory64, memory limits are u32 literals).
Result<std::vector<uint8_t>> encode_module_fields(const TokenStream& stream, size_t begin,
                                                  bool bare, std::string_view module_id,
                                                  size_t& end, const wasm::Features& features);

// Parses a `(module ...)` form (text, `binary` or `quote`) or bare fields that make up the
// whole input; `quote_depth` bounds nested `(module quote ...)`.
Result<std::vector<uint8_t>> encode_source(std::string_view source, std::string_view file,
                                           int quote_depth, const wasm::Features& features);

}  // namespace kiln::text
