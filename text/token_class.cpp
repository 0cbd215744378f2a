#include "text/token_class.hpp"

#include <algorithm>

#include "decoder/opcodes.hpp"
#include "text/literals.hpp"

namespace kiln::text {

namespace {

// Sorted, for binary search. Instruction mnemonics come from the opcode table instead.
constexpr std::string_view kSyntaxKeywords[] = {
    "any",
    "anyref",
    "array",
    "arrayref",
    "assert_exception",
    "assert_exhaustion",
    "assert_invalid",
    "assert_invalid_custom",
    "assert_malformed",
    "assert_malformed_custom",
    "assert_return",
    "assert_trap",
    "assert_uninstantiable",
    "assert_unlinkable",
    "binary",
    "block",
    "catch",
    "catch_all",
    "catch_all_ref",
    "catch_ref",
    "data",
    "declare",
    "definition",
    "delegate",
    "describes",
    "descriptor",
    "do",
    "either",
    "elem",
    "else",
    "end",
    "eq",
    "eqref",
    "exact",
    "exn",
    "exnref",
    "export",
    "extern",
    "externref",
    "f32",
    "f32x4",
    "f64",
    "f64x2",
    "field",
    "final",
    "func",
    "funcref",
    "get",
    "global",
    "i16",
    "i16x8",
    "i31",
    "i31ref",
    "i32",
    "i32x4",
    "i64",
    "i64x2",
    "i8",
    "i8x16",
    "if",
    "import",
    "input",
    "instance",
    "invoke",
    "item",
    "local",
    "loop",
    "memory",
    "module",
    "mut",
    "nan:arithmetic",
    "nan:canonical",
    "noexn",
    "noextern",
    "nofunc",
    "none",
    "null",
    "nullexnref",
    "nullexternref",
    "nullfuncref",
    "nullref",
    "offset",
    "output",
    "pagesize",
    "param",
    "quote",
    "rec",
    "ref",
    "ref.any",
    "ref.array",
    "ref.extern",
    "ref.host",
    "ref.struct",
    "register",
    "result",
    "script",
    "shared",
    "start",
    "struct",
    "structref",
    "sub",
    "table",
    "tag",
    "then",
    "thread",
    "type",
    "v128",
    "wait",
};
static_assert(std::ranges::is_sorted(kSyntaxKeywords), "kSyntaxKeywords must stay sorted");

bool is_memarg_field(std::string_view keyword) {
  std::string_view value;
  if (keyword.starts_with("offset=")) {
    value = keyword.substr(7);
  } else if (keyword.starts_with("align=")) {
    value = keyword.substr(6);
  } else {
    return false;
  }
  return number_shape(value) == NumberShape::Nat;
}

}  // namespace

bool is_syntax_keyword(std::string_view keyword) {
  return std::ranges::binary_search(kSyntaxKeywords, keyword);
}

bool is_unknown_token(const TokenStream& stream, const Token& token) {
  const std::string_view text = stream.text(token);
  if (token.kind == Tok::Reserved) return text != "$" && !text.starts_with("$\"\"");
  if (token.kind != Tok::Keyword) return false;
  if (number_shape(text) != NumberShape::None) return false;
  if (is_syntax_keyword(text) || is_memarg_field(text)) return false;
  return !wasm::lookup_mnemonic(text).has_value();
}

}  // namespace kiln::text
