#include "text/lexer.hpp"

#include "text/literals.hpp"

#include <array>

namespace kiln::text {

namespace {

constexpr std::array<bool, 256> make_idchar_table() {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (char c : std::string_view("!#$%&'*+-./:<=>?@\\^_`|~")) table[uint8_t(c)] = true;
  return table;
}
constexpr std::array<bool, 256> kIdChar = make_idchar_table();

// Characters that may appear in a reserved token (besides idchars and strings).
bool is_reserved_char(uint8_t c) {
  return c == ',' || c == '[' || c == ']' || c == '{' || c == '}';
}

// True when `text` begins with one well-formed UTF-8 encoded character.
bool starts_valid_utf8(std::string_view text) {
  for (size_t length = 1; length <= 4 && length <= text.size(); ++length) {
    if (is_valid_utf8(text.substr(0, length))) return true;
  }
  return false;
}

bool is_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

}  // namespace

Error TokenStream::error_at(uint32_t offset, std::string_view message) const {
  uint32_t line = 1, column = 1;
  size_t end = offset < source.size() ? offset : source.size();
  for (size_t i = 0; i < end; ++i) {
    if (source[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  std::string text;
  text.reserve(file.size() + message.size() + 24);
  text.append(file);
  text += ':';
  text += std::to_string(line);
  text += ':';
  text += std::to_string(column);
  text += ": ";
  text.append(message);
  return Error(std::move(text));
}

Result<TokenStream> tokenize(std::string_view source, std::string_view file) {
  TokenStream stream;
  stream.source = source;
  stream.file = file;
  if (source.size() >= kMaxSourceSize) return stream.error_at(0, "input too large");
  stream.tokens.reserve(source.size() / 4 + 2);

  const char* const data = source.data();
  const size_t size = source.size();
  size_t pos = 0;

  // Annotation state: depth > 0 while inside one; `recording` when it is @custom or @name.
  uint32_t annot_depth = 0;
  bool recording = false;
  auto emit = [&](Tok kind, size_t begin, size_t end) {
    Token token{kind, uint32_t(begin), uint32_t(end - begin)};
    if (annot_depth == 0) {
      stream.tokens.push_back(token);
      return;
    }
    if (kind == Tok::LParen) ++annot_depth;
    if (kind == Tok::RParen && --annot_depth == 0) {
      if (recording) stream.annotations.back().before_token = uint32_t(stream.tokens.size());
      recording = false;
      return;
    }
    if (recording) stream.annotations.back().body.push_back(token);
  };

  while (pos < size) {
    uint8_t c = uint8_t(data[pos]);
    if (is_space(c)) {
      ++pos;
      continue;
    }
    if (c == ';' && pos + 1 < size && data[pos + 1] == ';') {
      // A line comment ends at any newline: LF, CR or CR LF.
      while (pos < size && data[pos] != '\n' && data[pos] != '\r') ++pos;
      continue;
    }
    if (c == '(') {
      if (pos + 1 < size && data[pos + 1] == ';') {
        // Block comments nest; the counter is the only state, so depth costs nothing.
        size_t start = pos;
        uint64_t depth = 1;
        pos += 2;
        while (depth > 0) {
          if (pos + 1 >= size) return stream.error_at(uint32_t(start), "unclosed block comment");
          if (data[pos] == '(' && data[pos + 1] == ';') {
            ++depth;
            pos += 2;
          } else if (data[pos] == ';' && data[pos + 1] == ')') {
            --depth;
            pos += 2;
          } else {
            ++pos;
          }
        }
        continue;
      }
      if (pos + 1 < size && data[pos + 1] == '@') {
        // An annotation: `(@name`, then balanced tokens up to the matching `)`.
        size_t start = pos;
        size_t name_begin = pos + 2;
        size_t name_end = name_begin;
        if (name_end < size && data[name_end] == '"') {
          // A quoted annotation id.
          ++name_end;
          while (name_end < size && data[name_end] != '"') {
            if (data[name_end] == '\\' && name_end + 1 < size) ++name_end;
            ++name_end;
          }
          if (name_end >= size) return stream.error_at(uint32_t(start), "unclosed string");
          ++name_end;
        }
        while (name_end < size && kIdChar[uint8_t(data[name_end])]) ++name_end;
        std::string_view name = source.substr(name_begin, name_end - name_begin);
        if (annot_depth == 0) {
          // Only the outermost annotation's id is checked: its body is free-form tokens.
          if (name.empty()) return stream.error_at(uint32_t(start), "empty annotation id");
          if (name[0] == '"') {
            std::string decoded, message;
            // A malformed string leaves no id after the `@` (as for identifiers).
            if (name.size() < 2 || name.back() != '"' || !decode_string(name, decoded, message))
              return stream.error_at(uint32_t(start), "empty annotation id: malformed string");
            if (decoded.empty()) return stream.error_at(uint32_t(start), "empty annotation id");
            if (!is_valid_utf8(decoded))
              return stream.error_at(uint32_t(start), "malformed UTF-8 encoding");
          }
          annot_depth = 1;
          recording = name == "custom" || name == "name" || name == "metadata.code.branch_hint";
          if (recording) {
            Annotation annotation;
            annotation.kind = name == "custom" ? Annotation::Kind::Custom
                              : name == "name" ? Annotation::Kind::Name
                                               : Annotation::Kind::BranchHint;
            annotation.offset = uint32_t(start);
            stream.annotations.push_back(std::move(annotation));
          }
        } else {
          ++annot_depth;
          if (recording)
            stream.annotations.back().body.push_back({Tok::LParen, uint32_t(start), 1});
        }
        pos = name_end;
        continue;
      }
      emit(Tok::LParen, pos, pos + 1);
      ++pos;
      continue;
    }
    if (c == ')') {
      emit(Tok::RParen, pos, pos + 1);
      ++pos;
      continue;
    }
    // A run of idchars and strings without separators is one token; what it is depends on
    // its shape: a lone string, an id, a keyword/number, or else reserved.
    size_t start = pos;
    size_t strings = 0;
    bool other = false;
    while (pos < size) {
      uint8_t d = uint8_t(data[pos]);
      if (d == '"') {
        ++strings;
        size_t string_start = pos;
        ++pos;
        while (true) {
          if (pos >= size) return stream.error_at(uint32_t(string_start), "unclosed string");
          char e = data[pos];
          if (e == '"') break;
          if (e == '\\' && pos + 1 < size) ++pos;
          ++pos;
        }
        ++pos;
        continue;
      }
      if (kIdChar[d]) {
        ++pos;
        continue;
      }
      if (is_reserved_char(d) || (d == ';' && !(pos + 1 < size && data[pos + 1] == ';'))) {
        other = true;
        ++pos;
        continue;
      }
      break;
    }
    if (pos == start) {
      // A well-formed UTF-8 character is merely illegal outside strings and comments.
      if (c >= 0x80 && !starts_valid_utf8(source.substr(pos)))
        return stream.error_at(uint32_t(pos), "malformed UTF-8 encoding");
      return stream.error_at(uint32_t(pos), "illegal character");
    }
    std::string_view text = source.substr(start, pos - start);
    Tok kind = Tok::Reserved;
    if (!other) {
      if (strings == 0) {
        kind = text[0] == '$' ? (text.size() > 1 ? Tok::Id : Tok::Reserved) : Tok::Keyword;
      } else if (strings == 1 && text.front() == '"' && text.back() == '"') {
        kind = Tok::String;
      } else if (strings == 1 && text.size() >= 3 && text[0] == '$' && text[1] == '"' &&
                 text.back() == '"') {
        kind = Tok::Id;
      }
    }
    emit(kind, start, pos);
  }
  if (annot_depth > 0) {
    return stream.error_at(uint32_t(size), "unclosed annotation");
  }
  stream.tokens.push_back({Tok::Eof, uint32_t(size), 0});
  return stream;
}

}  // namespace kiln::text
