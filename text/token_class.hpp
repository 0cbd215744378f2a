// Which tokens the text format knows. The spec's lexer turns any keyword-like token it does not
// know (a misspelt mnemonic, `_100`, `nan:1`, `0drop`, `$l"a"`) into the error "unknown
// operator" when the parser reaches it; a known token in the wrong place is a syntax error,
// "unexpected token". Kiln's parser uses this classification to give the same diagnosis.
#pragma once

#include <string_view>

#include "text/lexer.hpp"

namespace kiln::text {

// True for the keywords of the module grammar that are not instructions (`type`, `param`,
// `local`, `then`, `catch_all`, value and heap type names, …).
bool is_syntax_keyword(std::string_view keyword);

// True when the lexer of the spec would reject the token: a reserved token (other than the
// empty identifiers, which have their own error), or a keyword that is neither a number, an
// instruction mnemonic, a syntax keyword, nor a well-formed `offset=`/`align=` memarg field.
bool is_unknown_token(const TokenStream& stream, const Token& token);

}  // namespace kiln::text
