// The tokenizer of the text format. One pass over the source produces a flat vector of tokens
// that are views (offset + length) into the source: nothing is copied or allocated per token.
// Annotations other than @custom, @name and @metadata.code.branch_hint are dropped here; those
// are moved aside into
// `annotations` so that the grammar never sees them (the module parser picks them up by
// position).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/error.hpp"

namespace kiln::text {

enum class Tok : uint8_t {
  LParen,
  RParen,
  Keyword,   // keywords, mnemonics, `offset=...`, numbers (classified by the literal parsers)
  Id,        // $name or $"quoted name"
  String,    // "..." (with the quotes; decoded on use)
  Reserved,  // anything else made of idchars and strings without a separator
  Eof,
};

struct Token {
  Tok kind = Tok::Eof;
  uint32_t offset = 0;
  uint32_t length = 0;
};

// A @custom, @name or @metadata.code.branch_hint annotation, as the tokens between its `(@id`
// and its `)`.
struct Annotation {
  enum class Kind : uint8_t { Custom, Name, BranchHint };
  Kind kind = Kind::Custom;
  uint32_t offset = 0;        // source offset of the `(@`
  uint32_t before_token = 0;  // index in `tokens` of the token that followed the annotation
  std::vector<Token> body;
};

struct TokenStream {
  std::string_view source;
  std::string_view file;
  std::vector<Token> tokens;  // always ends with an Eof token
  std::vector<Annotation> annotations;

  std::string_view text(const Token& token) const {
    return source.substr(token.offset, token.length);
  }
  // "file:line:column: message" for a source offset.
  Error error_at(uint32_t offset, std::string_view message) const;
};

// Inputs larger than this are refused (token offsets are 32-bit).
constexpr size_t kMaxSourceSize = size_t(1) << 31;

Result<TokenStream> tokenize(std::string_view source, std::string_view file);

}  // namespace kiln::text
