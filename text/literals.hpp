// Numeric and string literals of the text format. Each parser takes the token's text and
// returns false with a message in `error` when the literal is malformed or out of range.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kiln::text {

// An unsigned decimal or hexadecimal integer (with `_` separators), no sign. False on
// overflow past 2^64-1 or bad syntax.
bool parse_u64(std::string_view text, uint64_t& value);

// An integer literal of `bits` (32 or 64) bits: signed (-2^(bits-1)..) or unsigned
// (..2^bits-1). The value is returned as its two's complement bit pattern.
bool parse_int(std::string_view text, unsigned bits, uint64_t& value, std::string& error);

// Float literals, rounded to nearest-even; out-of-range literals are rejected.
bool parse_f32(std::string_view text, uint32_t& bits, std::string& error);
bool parse_f64(std::string_view text, uint64_t& bits, std::string& error);

// True when the token looks like the start of a number (sign, digit, inf, nan).
bool looks_numeric(std::string_view text);

// The lexical class of a keyword token by the spec's token grammar: an unsigned integer
// (`nat`), a signed one (`int`), a float (`float`, which includes `inf`, `nan` and
// `nan:0x...`), or not a number at all. Range is not checked: an overlong `nat` is still a
// `nat`. The class decides the error the spec gives for a misplaced literal ("unexpected
// token" for a well-formed token in the wrong place, "unknown operator" for a malformed one).
enum class NumberShape : uint8_t { None, Nat, Int, Float };
NumberShape number_shape(std::string_view text);

// Decode a string token (quotes included) into bytes. Errors: bad escapes, control chars.
bool decode_string(std::string_view token, std::string& out, std::string& error);

bool is_valid_utf8(std::string_view bytes);

}  // namespace kiln::text
