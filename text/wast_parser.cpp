// The script format (.wast): commands over modules, with the text modules encoded as they are
// met. The whole script is tokenized once; modules are encoded straight from that stream.
#include <cstring>

#include "text/lexer.hpp"
#include "text/literals.hpp"
#include "text/module_parser.hpp"
#include "text/wast.hpp"

namespace kiln::text {

namespace {

using wasm::HeapKind;
using wasm::HeapType;

// Threads nest commands; nothing else does. Bounded so that a hostile script cannot recurse
// deeply through thread bodies.
constexpr int kMaxThreadNesting = 8;

class WastParser {
 public:
  WastParser(const TokenStream& stream, const wasm::Features& features)
      : s_(stream), toks_(stream.tokens), features_(features) {}

  bool parse_script(Script& script) {
    if (starts_with_module_field()) {
      // A script that is just a module's fields is that one module.
      Command command;
      command.kind = Command::Kind::Module;
      command.location = location(peek().offset);
      ScriptModule module;
      module.location = command.location;
      size_t end = 0;
      auto encoded = encode_module_fields(s_, pos_, true, "", end, features_);
      if (!encoded) {
        failed_ = true;
        error_ = std::move(encoded).err();
        return false;
      }
      module.binary = std::move(encoded).ok();
      command.module = std::move(module);
      script.commands.push_back(std::move(command));
      return true;
    }
    while (!peek_is(Tok::Eof)) {
      Command command;
      if (!parse_command(command, 0)) return false;
      script.commands.push_back(std::move(command));
    }
    return true;
  }
  Error error() const { return error_; }

 private:
  bool starts_with_module_field() const {
    if (!peek_is(Tok::LParen) || !peek_is(Tok::Keyword, 1)) return false;
    static constexpr std::string_view kFields[] = {"type",   "rec",   "func",   "import",
                                                   "export", "table", "memory", "global",
                                                   "tag",    "elem",  "data",   "start"};
    for (std::string_view field : kFields)
      if (peek_text(1) == field) return true;
    return false;
  }

  const Token& peek(size_t ahead = 0) const {
    size_t index = pos_ + ahead;
    return index < toks_.size() ? toks_[index] : toks_.back();
  }
  std::string_view text(const Token& token) const { return s_.text(token); }
  std::string_view peek_text(size_t ahead = 0) const { return text(peek(ahead)); }
  bool peek_is(Tok kind, size_t ahead = 0) const { return peek(ahead).kind == kind; }
  bool peek_keyword(std::string_view keyword, size_t ahead = 0) const {
    return peek(ahead).kind == Tok::Keyword && peek_text(ahead) == keyword;
  }
  bool peek_lparen_keyword(std::string_view keyword) const {
    return peek_is(Tok::LParen) && peek_keyword(keyword, 1);
  }
  const Token& next() {
    const Token& token = peek();
    if (pos_ < toks_.size() - 1) ++pos_;
    return token;
  }
  bool fail_at(uint32_t offset, std::string_view message) {
    if (!failed_) {
      failed_ = true;
      error_ = s_.error_at(offset, message);
    }
    return false;
  }
  bool fail(std::string_view message) { return fail_at(peek().offset, message); }
  bool fail_expected(std::string_view what) {
    std::string found =
        peek_is(Tok::Eof) ? "end of input" : "'" + std::string(peek_text().substr(0, 40)) + "'";
    return fail("unexpected token: expected " + std::string(what) + ", found " + found);
  }
  bool expect(Tok kind, std::string_view what) {
    if (!peek_is(kind)) return fail_expected(what);
    next();
    return true;
  }
  bool expect_rparen() { return expect(Tok::RParen, "')'"); }
  bool expect_lparen() { return expect(Tok::LParen, "'('"); }

  Location location(uint32_t offset) {
    // Commands come in order: advance a running line counter instead of rescanning.
    if (offset < line_offset_) {
      line_offset_ = 0;
      line_ = 1;
      line_start_ = 0;
    }
    const char* data = s_.source.data();
    for (uint32_t i = line_offset_; i < offset; ++i) {
      if (data[i] == '\n') {
        ++line_;
        line_start_ = i + 1;
      }
    }
    line_offset_ = offset;
    return {line_, offset - line_start_ + 1};
  }

  bool parse_id(std::optional<std::string>& out) {
    if (!peek_is(Tok::Id)) return true;
    const Token& token = next();
    std::string_view t = text(token);
    if (t.size() >= 2 && t[1] == '"') {
      std::string decoded, message;
      if (!decode_string(t.substr(1), decoded, message))
        return fail_at(token.offset, "empty identifier: " + message);
      out = std::move(decoded);
    } else {
      out = std::string(t.substr(1));
    }
    return true;
  }
  bool parse_string(std::string& out) {
    if (!peek_is(Tok::String)) return fail_expected("a string");
    const Token& token = next();
    std::string message;
    if (!decode_string(text(token), out, message)) return fail_at(token.offset, message);
    return true;
  }
  bool parse_strings(std::string& out) {
    out.clear();
    std::string piece;
    while (peek_is(Tok::String)) {
      if (!parse_string(piece)) return false;
      out += piece;
    }
    return true;
  }

  // Skips a balanced form starting at `(`; returns the index of its `)`.
  size_t matching_paren(size_t open) const {
    size_t depth = 0;
    for (size_t i = open; i < toks_.size(); ++i) {
      if (toks_[i].kind == Tok::LParen) ++depth;
      if (toks_[i].kind == Tok::RParen && --depth == 0) return i;
      if (toks_[i].kind == Tok::Eof) return i;
    }
    return toks_.size() - 1;
  }

  // (module ...) in any form. `malformed_ok`: a text module that fails to encode is kept as
  // quoted text (assert_malformed expects the parse to fail).
  bool parse_module(ScriptModule& module, bool malformed_ok, bool& is_instance,
                    Command* instance_command) {
    is_instance = false;
    size_t open = pos_;
    module.location = location(peek().offset);
    if (!expect_lparen()) return false;
    if (!peek_keyword("module")) return fail_expected("'module'");
    next();
    if (peek_keyword("instance")) {
      next();
      is_instance = true;
      if (!instance_command) return fail("unexpected token: module instance not allowed here");
      std::optional<std::string> first, second;
      if (!parse_id(first) || !parse_id(second)) return false;
      if (second) {
        instance_command->name = first;
        instance_command->module_name = second;
      } else {
        instance_command->module_name = first;
      }
      return expect_rparen();
    }
    if (peek_keyword("definition")) {
      next();
      module.definition = true;
    }
    if (!parse_id(module.id)) return false;
    if (peek_keyword("binary") || peek_keyword("quote")) {
      bool binary = peek_keyword("binary");
      next();
      std::string content;
      if (!parse_strings(content)) return false;
      if (binary) {
        module.form = ScriptModule::Form::Binary;
        module.binary.assign(content.begin(), content.end());
      } else {
        module.form = ScriptModule::Form::Quote;
        module.quote = std::move(content);
      }
      return expect_rparen();
    }
    module.form = ScriptModule::Form::Text;
    size_t end = 0;
    auto encoded =
        encode_module_fields(s_, pos_, false, module.id ? *module.id : "", end, features_);
    if (!encoded) {
      if (!malformed_ok) {
        failed_ = true;
        error_ = std::move(encoded).err();
        return false;
      }
      size_t close = matching_paren(open);
      uint32_t begin_offset = toks_[open].offset;
      uint32_t end_offset = toks_[close].offset + toks_[close].length;
      module.form = ScriptModule::Form::Quote;
      module.quote = std::string(s_.source.substr(begin_offset, end_offset - begin_offset));
      pos_ = close;
      return expect_rparen();
    }
    module.binary = std::move(encoded).ok();
    pos_ = end;
    return expect_rparen();
  }

  bool parse_heap_type(HeapType& heap) {
    if (!peek_is(Tok::Keyword)) return fail_expected("a heap type");
    std::string_view t = peek_text();
    static constexpr std::pair<std::string_view, HeapKind> kHeaps[] = {
        {"func", HeapKind::Func},
        {"extern", HeapKind::Extern},
        {"any", HeapKind::Any},
        {"eq", HeapKind::Eq},
        {"i31", HeapKind::I31},
        {"struct", HeapKind::Struct},
        {"array", HeapKind::Array},
        {"none", HeapKind::None},
        {"nofunc", HeapKind::NoFunc},
        {"noextern", HeapKind::NoExtern},
        {"exn", HeapKind::Exn},
        {"noexn", HeapKind::NoExn},
        {"funcref", HeapKind::Func},
        {"externref", HeapKind::Extern},
        {"nullref", HeapKind::None},
        {"nullfuncref", HeapKind::NoFunc},
        {"nullexternref", HeapKind::NoExtern},
    };
    for (auto& [name, kind] : kHeaps) {
      if (t == name) {
        next();
        heap = {kind, 0};
        return true;
      }
    }
    uint64_t index;
    if (parse_u64(t, index) && index <= UINT32_MAX) {
      next();
      heap = {HeapKind::Concrete, uint32_t(index)};
      return true;
    }
    return fail_expected("a heap type");
  }

  bool parse_payload(uint64_t& payload) {
    if (!peek_is(Tok::Keyword) || !parse_u64(peek_text(), payload))
      return fail_expected("a natural number");
    next();
    return true;
  }

  // A number for a const of `kind` (I32/I64/F32/F64), or a NaN pattern when `pattern`.
  bool parse_number(ResultPattern& out, ResultPattern::Kind kind, bool pattern) {
    if (!peek_is(Tok::Keyword)) return fail_expected("a number");
    std::string_view t = peek_text();
    std::string message;
    out.kind = kind;
    if (pattern && (kind == ResultPattern::Kind::F32 || kind == ResultPattern::Kind::F64)) {
      bool f32 = kind == ResultPattern::Kind::F32;
      if (t == "nan:canonical") {
        out.kind =
            f32 ? ResultPattern::Kind::F32CanonicalNan : ResultPattern::Kind::F64CanonicalNan;
        next();
        return true;
      }
      if (t == "nan:arithmetic") {
        out.kind =
            f32 ? ResultPattern::Kind::F32ArithmeticNan : ResultPattern::Kind::F64ArithmeticNan;
        next();
        return true;
      }
    }
    bool ok;
    switch (kind) {
      case ResultPattern::Kind::I32:
        ok = parse_int(t, 32, out.bits, message);
        break;
      case ResultPattern::Kind::I64:
        ok = parse_int(t, 64, out.bits, message);
        break;
      case ResultPattern::Kind::F32: {
        uint32_t bits = 0;
        ok = parse_f32(t, bits, message);
        out.bits = bits;
        break;
      }
      default:
        ok = parse_f64(t, out.bits, message);
        break;
    }
    if (!ok) return fail(message);
    next();
    return true;
  }

  bool parse_v128(ResultPattern& out, bool pattern, std::array<uint8_t, 16>& bytes) {
    if (!peek_is(Tok::Keyword)) return fail_expected("a vector shape");
    std::string_view shape = peek_text();
    unsigned lanes, bits;
    ResultPattern::Kind lane_kind;
    if (shape == "i8x16")
      lanes = 16, bits = 8, lane_kind = ResultPattern::Kind::I32;
    else if (shape == "i16x8")
      lanes = 8, bits = 16, lane_kind = ResultPattern::Kind::I32;
    else if (shape == "i32x4")
      lanes = 4, bits = 32, lane_kind = ResultPattern::Kind::I32;
    else if (shape == "i64x2")
      lanes = 2, bits = 64, lane_kind = ResultPattern::Kind::I64;
    else if (shape == "f32x4")
      lanes = 4, bits = 32, lane_kind = ResultPattern::Kind::F32;
    else if (shape == "f64x2")
      lanes = 2, bits = 64, lane_kind = ResultPattern::Kind::F64;
    else
      return fail_expected("a vector shape");
    next();
    out.kind = ResultPattern::Kind::V128;
    out.lane_shape = std::string(shape);
    bytes.fill(0);
    for (unsigned i = 0; i < lanes; ++i) {
      ResultPattern lane;
      if (!peek_is(Tok::Keyword)) return fail("wrong number of lane literals");
      if (bits < 32) {
        std::string message;
        if (!parse_int(peek_text(), bits, lane.bits, message)) return fail(message);
        lane.kind = ResultPattern::Kind::I32;
        next();
      } else if (!parse_number(lane, lane_kind, pattern)) {
        return false;
      }
      for (unsigned b = 0; b < bits / 8; ++b)
        bytes[i * (bits / 8) + b] = uint8_t(lane.bits >> (8 * b));
      out.lanes.push_back(std::move(lane));
    }
    return true;
  }

  bool parse_value(Value& value) {
    if (!expect_lparen()) return false;
    if (!peek_is(Tok::Keyword)) return fail_expected("a constant");
    std::string_view head = peek_text();
    next();
    ResultPattern pattern;
    if (head == "i32.const" || head == "i64.const" || head == "f32.const" || head == "f64.const") {
      ResultPattern::Kind kind =
          head[0] == 'i' ? (head[1] == '3' ? ResultPattern::Kind::I32 : ResultPattern::Kind::I64)
                         : (head[1] == '3' ? ResultPattern::Kind::F32 : ResultPattern::Kind::F64);
      if (!parse_number(pattern, kind, false)) return false;
      value.kind = head == "i32.const"   ? Value::Kind::I32
                   : head == "i64.const" ? Value::Kind::I64
                   : head == "f32.const" ? Value::Kind::F32
                                         : Value::Kind::F64;
      value.bits = pattern.bits;
    } else if (head == "v128.const") {
      value.kind = Value::Kind::V128;
      if (!parse_v128(pattern, false, value.v128)) return false;
    } else if (head == "ref.null") {
      value.kind = Value::Kind::RefNull;
      if (!parse_heap_type(value.heap)) return false;
    } else if (head == "ref.extern" || head == "ref.host") {
      value.kind = head == "ref.extern" ? Value::Kind::RefExtern : Value::Kind::RefHost;
      if (!parse_payload(value.bits)) return false;
    } else {
      return fail_at(peek().offset - 1, "unexpected token: unknown constant " + std::string(head));
    }
    return expect_rparen();
  }

  bool parse_result(ResultPattern& result) {
    if (!expect_lparen()) return false;
    if (!peek_is(Tok::Keyword)) return fail_expected("a result");
    std::string_view head = peek_text();
    next();
    using K = ResultPattern::Kind;
    if (head == "i32.const" || head == "i64.const" || head == "f32.const" || head == "f64.const") {
      K kind =
          head[0] == 'i' ? (head[1] == '3' ? K::I32 : K::I64) : (head[1] == '3' ? K::F32 : K::F64);
      if (!parse_number(result, kind, true)) return false;
    } else if (head == "v128.const") {
      std::array<uint8_t, 16> bytes;
      if (!parse_v128(result, true, bytes)) return false;
    } else if (head == "ref.null") {
      result.kind = K::RefNull;
      if (!peek_is(Tok::RParen)) {
        if (!parse_heap_type(result.heap)) return false;
        result.heap_given = true;
      }
    } else if (head == "either") {
      result.kind = K::Either;
      while (peek_is(Tok::LParen)) {
        // Checked before recursing, so a hostile nest of `either` costs one frame.
        if (peek_keyword("either", 1)) return fail("unexpected token: nested either");
        ResultPattern alternative;
        if (!parse_result(alternative)) return false;
        result.alternatives.push_back(std::move(alternative));
      }
    } else {
      static constexpr std::pair<std::string_view, K> kRefs[] = {
          {"ref.extern", K::RefExtern}, {"ref.host", K::RefHost},   {"ref.func", K::RefFunc},
          {"ref.struct", K::RefStruct}, {"ref.array", K::RefArray}, {"ref.i31", K::RefI31},
          {"ref.any", K::RefAny},       {"ref.eq", K::RefEq},       {"ref.exn", K::RefExn},
      };
      bool found = false;
      for (auto& [name, kind] : kRefs) {
        if (head == name) {
          result.kind = kind;
          found = true;
        }
      }
      if (!found)
        return fail_at(toks_[pos_ - 1].offset,
                       "unexpected token: unknown result " + std::string(head));
      if (peek_is(Tok::Keyword)) {
        if (!parse_payload(result.bits)) return false;
        result.has_payload = true;
      } else if (peek_is(Tok::Id)) {
        next();  // a named function: any non-null reference of the kind matches
      }
    }
    return expect_rparen();
  }

  bool parse_action(Action& action) {
    action.location = location(peek().offset);
    if (!expect_lparen()) return false;
    if (peek_keyword("invoke")) {
      action.kind = Action::Kind::Invoke;
    } else if (peek_keyword("get")) {
      action.kind = Action::Kind::Get;
    } else {
      return fail_expected("'invoke' or 'get'");
    }
    next();
    if (!parse_id(action.module)) return false;
    if (!parse_string(action.field)) return false;
    if (action.kind == Action::Kind::Invoke) {
      while (peek_is(Tok::LParen)) {
        Value value;
        if (!parse_value(value)) return false;
        action.args.push_back(value);
      }
    }
    return expect_rparen();
  }

  bool parse_message(Command& command) {
    if (peek_is(Tok::String)) return parse_string(command.text);
    return true;
  }

  bool parse_command(Command& command, int thread_depth) {
    command.location = location(peek().offset);
    if (!peek_is(Tok::LParen) || !peek_is(Tok::Keyword, 1)) return fail_expected("a command");
    std::string_view head = peek_text(1);
    using K = Command::Kind;
    if (head == "module") {
      ScriptModule module;
      bool is_instance;
      if (!parse_module(module, false, is_instance, &command)) return false;
      if (is_instance) {
        command.kind = K::ModuleInstance;
      } else {
        command.kind = K::Module;
        command.module = std::move(module);
      }
      return true;
    }
    if (head == "invoke" || head == "get") {
      command.kind = K::Action;
      Action action;
      if (!parse_action(action)) return false;
      command.action = std::move(action);
      return true;
    }
    next();
    next();
    if (head == "register") {
      command.kind = K::Register;
      if (!parse_string(command.text)) return false;
      if (!parse_id(command.name)) return false;
      return expect_rparen();
    }
    if (head == "assert_return") {
      command.kind = K::AssertReturn;
      Action action;
      if (!parse_action(action)) return false;
      command.action = std::move(action);
      while (peek_is(Tok::LParen)) {
        ResultPattern result;
        if (!parse_result(result)) return false;
        command.results.push_back(std::move(result));
      }
      return expect_rparen();
    }
    if (head == "assert_trap") {
      command.kind = K::AssertTrap;
      if (peek_is(Tok::LParen) && peek_keyword("module", 1)) {
        ScriptModule module;
        bool is_instance;
        if (!parse_module(module, false, is_instance, nullptr)) return false;
        command.module = std::move(module);
      } else {
        Action action;
        if (!parse_action(action)) return false;
        command.action = std::move(action);
      }
      if (!parse_message(command)) return false;
      return expect_rparen();
    }
    if (head == "assert_exhaustion" || head == "assert_exception") {
      command.kind = head == "assert_exhaustion" ? K::AssertExhaustion : K::AssertException;
      Action action;
      if (!parse_action(action)) return false;
      command.action = std::move(action);
      if (!parse_message(command)) return false;
      return expect_rparen();
    }
    static constexpr std::pair<std::string_view, Command::Kind> kModuleAsserts[] = {
        {"assert_malformed", K::AssertMalformed},
        {"assert_invalid", K::AssertInvalid},
        {"assert_unlinkable", K::AssertUnlinkable},
        {"assert_uninstantiable", K::AssertUninstantiable},
        {"assert_malformed_custom", K::AssertMalformedCustom},
        {"assert_invalid_custom", K::AssertInvalidCustom},
    };
    for (auto& [name, kind] : kModuleAsserts) {
      if (head != name) continue;
      command.kind = kind;
      bool malformed_ok = kind == K::AssertMalformed || kind == K::AssertMalformedCustom;
      ScriptModule module;
      bool is_instance;
      if (!parse_module(module, malformed_ok, is_instance, nullptr)) return false;
      command.module = std::move(module);
      if (!parse_message(command)) return false;
      return expect_rparen();
    }
    if (head == "thread") {
      command.kind = K::Thread;
      if (thread_depth >= kMaxThreadNesting) return fail("threads nested too deeply");
      if (!parse_id(command.name)) return false;
      while (peek_lparen_keyword("shared")) {
        next();
        next();
        if (!expect_lparen() || !peek_keyword("module")) return fail_expected("'module'");
        next();
        std::optional<std::string> name;
        if (!parse_id(name)) return false;
        if (!name) return fail_expected("a module name");
        command.shared_modules.push_back(*name);
        if (!expect_rparen() || !expect_rparen()) return false;
      }
      while (!peek_is(Tok::RParen)) {
        Command inner;
        if (!parse_command(inner, thread_depth + 1)) return false;
        command.body.push_back(std::move(inner));
      }
      return expect_rparen();
    }
    if (head == "wait") {
      command.kind = K::Wait;
      if (!parse_id(command.name)) return false;
      return expect_rparen();
    }
    pos_ -= 1;
    return fail_expected("a command");
  }

  const TokenStream& s_;
  const std::vector<Token>& toks_;
  wasm::Features features_;
  size_t pos_ = 0;
  bool failed_ = false;
  Error error_;
  uint32_t line_ = 1, line_start_ = 0, line_offset_ = 0;
};

}  // namespace

Result<Script> parse_wast(std::string_view source, std::string_view file,
                          const wasm::Features& features) {
  auto tokens = tokenize(source, file);
  if (!tokens) return std::move(tokens).err();
  WastParser parser(tokens.ok(), features);
  Script script;
  if (!parser.parse_script(script)) return parser.error();
  return script;
}

}  // namespace kiln::text
