#include "text/literals.hpp"

#include <cmath>
#include <cstdlib>
#include <cstring>

namespace kiln::text {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_digit(char c, bool hex) {
  return hex ? hex_value(c) >= 0 : (c >= '0' && c <= '9');
}

// Copies the digits of a (hex)num starting at `pos` into `out`, checking that every `_` sits
// between two digits. Returns the position after the run; `count` digits were read.
size_t take_digits(std::string_view text, size_t pos, bool hex, std::string& out, size_t& count) {
  count = 0;
  while (pos < text.size()) {
    char c = text[pos];
    if (is_digit(c, hex)) {
      out += c;
      ++count;
      ++pos;
    } else if (c == '_' && count > 0 && pos + 1 < text.size() && is_digit(text[pos + 1], hex)) {
      ++pos;
    } else {
      break;
    }
  }
  return pos;
}

// Validates the float grammar and produces a C-syntax string for strtod/strtof.
bool normalize_float(std::string_view text, std::string& out) {
  size_t pos = 0;
  out.clear();
  if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) out += text[pos++];
  bool hex = text.substr(pos, 2) == "0x";
  if (hex) {
    out += "0x";
    pos += 2;
  }
  size_t count;
  pos = take_digits(text, pos, hex, out, count);
  if (count == 0) return false;
  if (pos < text.size() && text[pos] == '.') {
    out += '.';
    ++pos;
    if (pos < text.size() && is_digit(text[pos], hex)) {
      pos = take_digits(text, pos, hex, out, count);
    }
  }
  if (pos < text.size() &&
      (hex ? (text[pos] == 'p' || text[pos] == 'P') : (text[pos] == 'e' || text[pos] == 'E'))) {
    out += hex ? 'p' : 'e';
    ++pos;
    if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) out += text[pos++];
    pos = take_digits(text, pos, false, out, count);
    if (count == 0) return false;
  } else if (hex) {
    out += "p0";
  }
  return pos == text.size();
}

template <typename Bits>
bool parse_special(std::string_view text, unsigned mantissa_bits, unsigned exponent_bits,
                   Bits& bits, std::string& error, bool& handled) {
  handled = false;
  bool negative = false;
  std::string_view body = text;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  Bits sign = negative ? Bits(1) << (mantissa_bits + exponent_bits) : 0;
  Bits exponent_all = ((Bits(1) << exponent_bits) - 1) << mantissa_bits;
  if (body == "inf") {
    handled = true;
    bits = sign | exponent_all;
    return true;
  }
  if (body == "nan") {
    handled = true;
    bits = sign | exponent_all | (Bits(1) << (mantissa_bits - 1));
    return true;
  }
  if (body.substr(0, 4) == "nan:") {
    handled = true;
    std::string_view payload_text = body.substr(4);
    uint64_t payload = 0;
    if (payload_text.substr(0, 2) != "0x" || !parse_u64(payload_text, payload)) {
      error = "malformed NaN payload";
      return false;
    }
    if (payload == 0 || payload >= (uint64_t(1) << mantissa_bits)) {
      error = "constant out of range";
      return false;
    }
    bits = sign | exponent_all | Bits(payload);
    return true;
  }
  return true;
}

}  // namespace

bool parse_u64(std::string_view text, uint64_t& value) {
  bool hex = text.substr(0, 2) == "0x";
  size_t pos = hex ? 2 : 0;
  if (pos >= text.size()) return false;
  uint64_t result = 0;
  bool previous_digit = false;
  for (; pos < text.size(); ++pos) {
    char c = text[pos];
    if (c == '_') {
      if (!previous_digit || pos + 1 >= text.size()) return false;
      previous_digit = false;
      continue;
    }
    int digit = hex ? hex_value(c) : (c >= '0' && c <= '9' ? c - '0' : -1);
    if (digit < 0) return false;
    unsigned base = hex ? 16 : 10;
    if (result > (UINT64_MAX - uint64_t(digit)) / base) return false;
    result = result * base + uint64_t(digit);
    previous_digit = true;
  }
  if (!previous_digit) return false;
  value = result;
  return true;
}

namespace {
// `num` or `hexnum`: digits with single `_` separators between two digits.
bool is_digit_run(std::string_view text, bool hex) {
  if (text.empty()) return false;
  std::string ignored;
  size_t count;
  return take_digits(text, 0, hex, ignored, count) == text.size() && count > 0;
}
}  // namespace

NumberShape number_shape(std::string_view text) {
  if (text.empty()) return NumberShape::None;
  const bool signed_literal = text[0] == '+' || text[0] == '-';
  std::string_view body = signed_literal ? text.substr(1) : text;
  const bool hex = body.starts_with("0x");
  if (is_digit_run(hex ? body.substr(2) : body, hex))
    return signed_literal ? NumberShape::Int : NumberShape::Nat;
  if (body == "inf" || body == "nan") return NumberShape::Float;
  if (body.starts_with("nan:0x"))
    return is_digit_run(body.substr(6), true) ? NumberShape::Float : NumberShape::None;
  std::string normalized;
  if (text.size() <= 4096 && normalize_float(text, normalized)) return NumberShape::Float;
  return NumberShape::None;
}

bool looks_numeric(std::string_view text) {
  if (text.empty()) return false;
  size_t pos = text[0] == '+' || text[0] == '-' ? 1 : 0;
  if (pos >= text.size()) return false;
  char c = text[pos];
  return (c >= '0' && c <= '9') || text.substr(pos, 3) == "inf" || text.substr(pos, 3) == "nan";
}

namespace {
// The spec names the integer type whose range was exceeded ("i32 constant out of range").
std::string out_of_range(unsigned bits) {
  return "i" + std::to_string(bits) + " constant out of range";
}
}  // namespace

bool parse_int(std::string_view text, unsigned bits, uint64_t& value, std::string& error) {
  bool negative = false, has_sign = false;
  std::string_view body = text;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    negative = body[0] == '-';
    has_sign = true;
    body.remove_prefix(1);
  }
  uint64_t magnitude = 0;
  if (body.empty() || !(body[0] >= '0' && body[0] <= '9') || !parse_u64(body, magnitude)) {
    // A well-formed number too big for 64 bits is out of range; anything else is malformed.
    // Well-formed digits that overflow 64 bits are out of range; anything else is not a number
    // at all, which the spec reports as an unknown operator.
    bool well_formed = !body.empty();
    bool hex = body.substr(0, 2) == "0x";
    size_t start = hex ? 2 : 0;
    if (start >= body.size()) well_formed = false;
    for (size_t i = start; i < body.size(); ++i) {
      char c = body[i];
      bool digit = hex ? hex_value(c) >= 0 : (c >= '0' && c <= '9');
      if (c == '_') {
        bool between = i > start && i + 1 < body.size() && body[i - 1] != '_' && body[i + 1] != '_';
        if (!between) well_formed = false;
      } else if (!digit) {
        well_formed = false;
      }
    }
    error = well_formed ? out_of_range(bits) : "unknown operator: malformed number";
    return false;
  }
  uint64_t unsigned_max = bits == 64 ? UINT64_MAX : (uint64_t(1) << bits) - 1;
  uint64_t negative_max = uint64_t(1) << (bits - 1);
  (void)has_sign;
  if (negative) {
    if (magnitude > negative_max) {
      error = out_of_range(bits);
      return false;
    }
    value = (0 - magnitude) & unsigned_max;
  } else {
    if (magnitude > unsigned_max) {
      error = out_of_range(bits);
      return false;
    }
    value = magnitude;
  }
  return true;
}

namespace {
// Longer numeric literals are refused outright: no float or integer needs more digits than
// this to be written exactly, and the bound keeps the normalised copy small.
constexpr size_t kMaxLiteralLength = 4096;
bool too_long(std::string_view text, std::string& error) {
  if (text.size() <= kMaxLiteralLength) return false;
  error = "numeric literal too long (at most 4096 characters)";
  return true;
}
}  // namespace

bool parse_f32(std::string_view text, uint32_t& bits, std::string& error) {
  if (too_long(text, error)) return false;
  bool handled;
  if (!parse_special<uint32_t>(text, 23, 8, bits, error, handled)) return false;
  if (handled) return true;
  std::string normalized;
  if (!normalize_float(text, normalized)) {
    error = "unknown operator: malformed number";
    return false;
  }
  float value = std::strtof(normalized.c_str(), nullptr);
  if (std::isinf(value)) {
    error = "constant out of range";
    return false;
  }
  std::memcpy(&bits, &value, 4);
  return true;
}

bool parse_f64(std::string_view text, uint64_t& bits, std::string& error) {
  if (too_long(text, error)) return false;
  bool handled;
  if (!parse_special<uint64_t>(text, 52, 11, bits, error, handled)) return false;
  if (handled) return true;
  std::string normalized;
  if (!normalize_float(text, normalized)) {
    error = "unknown operator: malformed number";
    return false;
  }
  double value = std::strtod(normalized.c_str(), nullptr);
  if (std::isinf(value)) {
    error = "constant out of range";
    return false;
  }
  std::memcpy(&bits, &value, 8);
  return true;
}

bool is_valid_utf8(std::string_view bytes) {
  size_t i = 0, n = bytes.size();
  while (i < n) {
    uint8_t c = uint8_t(bytes[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    uint32_t code;
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
      code = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      code = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + length > n) return false;
    for (size_t k = 1; k < length; ++k) {
      uint8_t d = uint8_t(bytes[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      code = (code << 6) | (d & 0x3F);
    }
    if (length == 3 && (code < 0x800 || (code >= 0xD800 && code <= 0xDFFF))) return false;
    if (length == 4 && (code < 0x10000 || code > 0x10FFFF)) return false;
    i += length;
  }
  return true;
}

bool decode_string(std::string_view token, std::string& out, std::string& error) {
  out.clear();
  if (token.size() < 2 || token.front() != '"' || token.back() != '"') {
    error = "expected a string";
    return false;
  }
  std::string_view body = token.substr(1, token.size() - 2);
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    uint8_t c = uint8_t(body[i]);
    if (c < 0x20 || c == 0x7F) {
      error = "malformed string: control character";
      return false;
    }
    if (c != '\\') {
      out += char(c);
      continue;
    }
    if (++i >= body.size()) {
      error = "malformed string escape";
      return false;
    }
    char e = body[i];
    switch (e) {
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case '"':
        out += '"';
        break;
      case '\'':
        out += '\'';
        break;
      case '\\':
        out += '\\';
        break;
      case 'u': {
        if (i + 1 >= body.size() || body[i + 1] != '{') {
          error = "malformed string escape";
          return false;
        }
        size_t close = body.find('}', i + 2);
        uint64_t code = 0;
        if (close == std::string_view::npos ||
            !parse_u64("0x" + std::string(body.substr(i + 2, close - i - 2)), code) ||
            close == i + 2 || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
          error = "malformed string escape";
          return false;
        }
        if (code < 0x80) {
          out += char(code);
        } else if (code < 0x800) {
          out += char(0xC0 | (code >> 6));
          out += char(0x80 | (code & 0x3F));
        } else if (code < 0x10000) {
          out += char(0xE0 | (code >> 12));
          out += char(0x80 | ((code >> 6) & 0x3F));
          out += char(0x80 | (code & 0x3F));
        } else {
          out += char(0xF0 | (code >> 18));
          out += char(0x80 | ((code >> 12) & 0x3F));
          out += char(0x80 | ((code >> 6) & 0x3F));
          out += char(0x80 | (code & 0x3F));
        }
        i = close;
        break;
      }
      default: {
        int high = hex_value(e);
        int low = i + 1 < body.size() ? hex_value(body[i + 1]) : -1;
        if (high < 0 || low < 0) {
          error = "malformed string escape";
          return false;
        }
        out += char(high * 16 + low);
        ++i;
      }
    }
  }
  return true;
}

}  // namespace kiln::text
