// The text format's module grammar, encoded straight to binary.
//
// Two passes over the tokens of a module:
//   1. a scan of the top-level fields that assigns every index space its entries (so names
//      can be used before their definition), then the full parse of the type definitions
//      (so inline type uses can find a matching type);
//   2. every field in textual order, encoded into its section's buffer.
// Instructions are parsed by a loop over an explicit stack of open blocks and folded forms,
// so nesting depth costs heap memory (bounded by kMaxNesting), never native stack.
#include "text/module_parser.hpp"

#include <algorithm>
#include <cstring>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

#include "decoder/module.hpp"
#include "decoder/opcodes.hpp"
#include "text/literals.hpp"
#include "text/token_class.hpp"
#include "text/writer.hpp"

namespace kiln::text {

namespace {

using wasm::CompositeKind;
using wasm::FieldType;
using wasm::FuncType;
using wasm::HeapKind;
using wasm::HeapType;
using wasm::ImmKind;
using wasm::OpcodeInfo;
using wasm::PackedKind;
using wasm::SubType;
using wasm::ValKind;
using wasm::ValType;

// custom-descriptors: an exact reference to a defined type, `(exact $t)`. decoder/module.hpp has
// no exactness yet, so within text/ it is a HeapKind value of its own (the binary prefix byte)
// that carries the type index like HeapKind::Concrete.
constexpr HeapKind kExactConcrete = HeapKind(0x62);

// custom-descriptors instructions, not (yet) rows of decoder/opcodes.def: encoded here from the
// proposal's opcode assignments, their immediates parsed by the same ImmKind rules.
struct ExtraOp {
  std::string_view mnemonic;
  uint32_t code;  // after the 0xFB prefix
  ImmKind imm;
};
constexpr ExtraOp kExtraOps[] = {
    {"struct.new_desc", 0x20, ImmKind::Type},
    {"struct.new_default_desc", 0x21, ImmKind::Type},
    {"ref.get_desc", 0x22, ImmKind::Type},
    {"br_on_cast_desc_eq", 0x25, ImmKind::BrOnCast},
    {"br_on_cast_desc_eq_fail", 0x26, ImmKind::BrOnCast},
};

enum Space : uint8_t { kType, kFunc, kTable, kMemory, kGlobal, kTag, kElem, kData, kSpaceCount };
constexpr const char* kSpaceWords[kSpaceCount] = {
    "type", "function", "table", "memory", "global", "tag", "elem segment", "data segment"};
constexpr const char* kDuplicateWords[kSpaceCount] = {"type",   "func", "table", "memory",
                                                      "global", "tag",  "elem",  "data"};

struct IndexSpace {
  std::unordered_map<std::string_view, uint32_t> by_name;
  std::vector<std::string_view> names;  // per index; empty when anonymous
  uint32_t count() const { return uint32_t(names.size()); }
};

struct RecInfo {
  uint32_t first = 0;
  uint32_t count = 0;
  bool explicit_rec = false;
};

// The section ids in module order, for placing @custom annotations.
constexpr uint8_t kSectionOrder[] = {1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11};

// An instruction-parser frame: an open block or folded form.
enum class FrameKind : uint8_t {
  FoldedPlain,  // (op imm* operand*): the op's bytes wait in `pending_` until `)`
  FoldedBlock,  // (block|loop|try_table ...): `end` on `)`
  FoldedIf,     // (if label bt cond* (then ...) (else ...)?)
  FoldedArm,    // (then ...) / (else ...) / (do ...) / (catch ...): nothing on `)`
  FoldedTry,    // legacy (try label bt (do ...) (catch ...)* (catch_all ...)? | (delegate l))
  FlatBlock,    // block/loop/try_table ... end
  FlatIf,       // if ... else ... end
  FlatTry,      // legacy try ... catch ... end | delegate
};

struct Frame {
  FrameKind kind;
  uint8_t state = 0;  // FoldedIf: 0 cond, 1 after then, 2 after else; FoldedTry: 0 before do..
  uint32_t pending_begin = 0;
  std::string_view label;
  int16_t branch_hint = -1;  // a folded instruction's hint, placed when its opcode is emitted
};

class ModuleParser {
 public:
  ModuleParser(const TokenStream& stream, const wasm::Features& features)
      : s_(stream), toks_(stream.tokens), features_(features) {}

  bool run(size_t begin, bool bare, std::string_view module_id, size_t& end,
           std::vector<uint8_t>& out);
  Error error() const { return error_; }
  size_t failed_index() const { return failed_index_; }

 private:
  // ---- tokens ----
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
  bool peek_lparen_keyword(std::string_view keyword, size_t ahead = 0) const {
    return peek_is(Tok::LParen, ahead) && peek_keyword(keyword, ahead + 1);
  }
  const Token& next() {
    const Token& token = peek();
    if (pos_ < toks_.size() - 1) ++pos_;
    return token;
  }

  bool fail(std::string_view message) { return fail_at(peek().offset, message); }
  // The annotations (in source order, so sorted by position) that precede token `index` or
  // any later token.
  std::span<const Annotation> annotations_from(size_t index) const {
    auto it = std::lower_bound(
        s_.annotations.begin(), s_.annotations.end(), index,
        [](const Annotation& annotation, size_t at) { return annotation.before_token < at; });
    return {it, s_.annotations.end()};
  }
  bool fail_at(uint32_t offset, std::string_view message) {
    if (!failed_) {
      failed_ = true;
      failed_index_ = pos_;
      error_ = s_.error_at(offset, message);
    }
    return false;
  }
  std::string describe(const Token& token) const {
    if (token.kind == Tok::Eof) return "end of input";
    std::string_view t = text(token);
    if (t.size() > 40) return "'" + std::string(t.substr(0, 40)) + "...'";
    return "'" + std::string(t) + "'";
  }
  bool fail_expected(std::string_view what) {
    if (is_unknown_token(s_, peek())) {
      return fail("unknown operator " + std::string(peek_text().substr(0, 40)) + " (expected " +
                  std::string(what) + ")");
    }
    if (peek_is(Tok::Reserved)) {
      std::string_view t = peek_text();
      if (t == "$" || t.starts_with("$\"\"")) return fail("empty identifier");
    }
    if (peek_is(Tok::Keyword) && looks_numeric(peek_text())) {
      uint64_t value;
      std::string message;
      if (!parse_int(peek_text(), 64, value, message) && message.ends_with("constant out of range"))
        return fail(message);
    }
    return fail("unexpected token: expected " + std::string(what) + ", found " + describe(peek()));
  }
  bool expect(Tok kind, std::string_view what) {
    if (!peek_is(kind)) return fail_expected(what);
    next();
    return true;
  }
  bool expect_lparen() { return expect(Tok::LParen, "'('"); }
  bool expect_rparen() { return expect(Tok::RParen, "')'"); }
  bool expect_keyword(std::string_view keyword) {
    if (!peek_keyword(keyword)) return fail_expected("'" + std::string(keyword) + "'");
    next();
    return true;
  }
  // Skips a balanced form starting at `(`.
  void skip_form() {
    size_t depth = 0;
    do {
      const Token& token = next();
      if (token.kind == Tok::LParen) ++depth;
      if (token.kind == Tok::RParen) --depth;
      if (token.kind == Tok::Eof) return;
    } while (depth > 0);
  }

  // ---- names and literals ----
  bool id_name(const Token& token, std::string_view& name);
  std::optional<std::string_view> take_id() {
    if (!peek_is(Tok::Id)) return std::string_view();
    std::string_view name;
    if (!id_name(next(), name)) return std::nullopt;
    return name;
  }
  bool take_optional_id(std::string_view& name) {
    auto id = take_id();
    if (!id) return false;
    name = *id;
    return true;
  }
  bool string_value(const Token& token, std::string& out);
  bool parse_string(std::string& out) {
    if (!peek_is(Tok::String)) return fail_expected("a string");
    return string_value(next(), out);
  }
  bool parse_name(std::string& out) {
    if (!parse_string(out)) return false;
    if (!is_valid_utf8(out)) return fail_at(peek(-1 + 0).offset, "malformed UTF-8 encoding");
    return true;
  }
  bool parse_u32(uint32_t& value) {
    uint64_t v;
    if (!peek_is(Tok::Keyword) || !parse_u64(peek_text(), v))
      return fail_expected("a natural number");
    if (v > UINT32_MAX) return fail("i32 constant out of range");
    next();
    value = uint32_t(v);
    return true;
  }
  bool parse_u64_token(uint64_t& value) {
    if (!peek_is(Tok::Keyword) || !parse_u64(peek_text(), value))
      return fail_expected("a natural number");
    next();
    return true;
  }
  // An integer or any number token (floats take integers too), by the spec's token grammar.
  bool peek_integer() const {
    if (!peek_is(Tok::Keyword)) return false;
    NumberShape shape = number_shape(peek_text());
    return shape == NumberShape::Nat || shape == NumberShape::Int;
  }
  bool peek_number() const {
    return peek_is(Tok::Keyword) && number_shape(peek_text()) != NumberShape::None;
  }
  // A lane index: a `nat` below 256 (a larger one is out of range for its u8 encoding).
  bool parse_lane_index(uint64_t& lane) {
    if (!peek_is(Tok::Keyword) || number_shape(peek_text()) != NumberShape::Nat)
      return fail_expected("a lane index");
    if (!parse_u64(peek_text(), lane) || lane > 255) return fail("i8 constant out of range");
    next();
    return true;
  }
  bool peek_nat(size_t ahead = 0) const {
    uint64_t v;
    return peek_is(Tok::Keyword, ahead) && parse_u64(peek_text(ahead), v);
  }
  bool peek_index(size_t ahead = 0) const { return peek_is(Tok::Id, ahead) || peek_nat(ahead); }

  // ---- index spaces ----
  bool define(Space space, std::string_view name, uint32_t at_offset);
  bool parse_index(Space space, uint32_t& index);
  bool parse_optional_index(Space space, uint32_t& index) {
    index = 0;
    if (peek_index()) return parse_index(space, index);
    return true;
  }
  bool resolve_local(uint32_t& index);
  bool resolve_label(uint32_t& depth);
  bool parse_field_index(uint32_t type_index, uint32_t& field);

  // ---- types ----
  bool parse_heaptype(HeapType& heap);
  bool parse_reftype(ValType& type);  // (ref null? ht) or abbreviation
  bool peek_reftype() const;
  bool parse_valtype(ValType& type);
  bool parse_storagetype(FieldType& field);
  bool parse_fieldtype(FieldType& field);
  bool parse_type_def(SubType& sub, uint32_t type_index);
  bool parse_comptype(SubType& sub, uint32_t type_index);
  bool parse_param_result_lists(FuncType& func, std::vector<std::string_view>* param_names,
                                bool allow_params = true);
  bool parse_typeuse(uint32_t& type_index, std::vector<std::string_view>* param_names,
                     bool allow_names);
  uint32_t find_or_add_func_type(const FuncType& func);
  // A function import's type use, possibly `(exact typeuse)` (custom-descriptors).
  bool parse_import_typeuse(uint32_t& type_index, std::vector<std::string_view>& names,
                            bool& exact) {
    exact = peek_lparen_keyword("exact");
    if (!exact) return parse_typeuse(type_index, &names, true);
    next();
    next();
    if (!parse_typeuse(type_index, &names, true)) return false;
    return expect_rparen();
  }
  bool parse_blocktype(ByteWriter& out);
  bool parse_limits(wasm::Limits& limits, bool is64);
  bool parse_tabletype_after_index(wasm::TableType& table);
  bool parse_memtype(wasm::MemoryType& memory);
  bool parse_globaltype(wasm::GlobalType& global);
  void write_valtype(ByteWriter& out, const ValType& type);
  void write_heaptype(ByteWriter& out, const HeapType& heap);
  void write_fieldtype(ByteWriter& out, const FieldType& field);
  void write_tabletype(ByteWriter& out, const wasm::TableType& table);
  void write_memtype(ByteWriter& out, const wasm::MemoryType& memory);
  void write_limits(ByteWriter& out, const wasm::Limits& limits, uint8_t flags, bool is64);

  // ---- passes ----
  bool scan_fields(size_t begin, bool bare, size_t& end);
  bool parse_types();
  bool parse_field();
  bool parse_import();
  bool parse_inline_exports(wasm::ExternKind kind, uint32_t index);
  bool parse_inline_import(std::string& module, std::string& name, bool& present);
  bool parse_func();
  bool parse_table();
  bool parse_memory();
  bool parse_global();
  bool parse_tag();
  bool parse_export();
  bool parse_start();
  bool parse_elem();
  bool parse_data();
  // `funcs_as_exprs`: write a function index list as `ref.func` expressions (a table's inline
  // segment whose element type is not funcref).
  bool parse_elem_items(ByteWriter& out, bool& uses_exprs, ValType& type, uint32_t& count,
                        bool allow_bare_funcs, bool funcs_as_exprs = false);
  bool parse_offset_expr(ByteWriter& out);
  bool parse_const_expr(ByteWriter& out);  // instructions up to `)`, then `end`
  bool parse_custom_annotation(const Annotation& annotation);
  void encode(std::vector<uint8_t>& out);
  void write_names(ByteWriter& out);

  // ---- instructions ----
  bool parse_instructions(ByteWriter& out);
  // The one folded instruction that ends at token `end`, then `end`.
  bool parse_single_form_expr(ByteWriter& out, size_t end) {
    size_t saved = stop_at_;
    stop_at_ = end;
    bool ok = parse_instructions(out);
    stop_at_ = saved;
    if (!ok) return false;
    out.u8(0x0B);
    return true;
  }
  size_t stop_at_ = SIZE_MAX;
  bool parse_plain_keyword(std::string_view mnemonic, ByteWriter& out);
  bool parse_immediates(const OpcodeInfo& info, ByteWriter& out);
  bool parse_memarg(const OpcodeInfo& info, ByteWriter& out, bool lane);
  bool parse_block_header(std::string_view mnemonic, ByteWriter& out, std::string_view& label);
  bool parse_try_table_catches(ByteWriter& out);
  bool parse_v128_const(ByteWriter& out);
  bool parse_special(std::string_view mnemonic, ByteWriter& out, bool& handled);
  bool push_frame(FrameKind kind, std::string_view label);
  // The @metadata.code.branch_hint before token `index` (-1: none); in a function body only.
  bool take_branch_hint(size_t index, int16_t& hint);
  bool check_annotation_placement(const Annotation& annotation, size_t end);
  void place_branch_hint(int16_t hint, size_t offset) {
    if (hint >= 0) body_hints_.emplace_back(uint32_t(offset), uint8_t(hint));
  }
  bool check_end_label(std::string_view label);
  void emit_op(ByteWriter& out, const OpcodeInfo& info) {
    if (info.prefix) {
      out.u8(info.prefix);
      out.u32(info.code);
    } else {
      out.u8(uint8_t(info.code));
    }
  }

  const TokenStream& s_;
  const std::vector<Token>& toks_;
  size_t pos_ = 0;
  wasm::Features features_;
  bool failed_ = false;
  size_t failed_index_ = 0;  // the token the parser was at when it failed
  Error error_;
  std::deque<std::string> arena_;  // decoded $"..." names

  IndexSpace spaces_[kSpaceCount];
  std::vector<size_t> field_starts_;
  std::vector<size_t> type_field_starts_;  // `(type` or `(rec` fields
  bool has_definition_ = false;
  const char* last_definition_ = nullptr;

  std::vector<SubType> types_;
  // custom-descriptors clauses per type (decoder/module.hpp's SubType has no room for them).
  std::vector<std::optional<uint32_t>> describes_, descriptor_;
  std::vector<RecInfo> recs_;
  uint32_t explicit_types_ = 0;
  std::vector<std::vector<std::pair<std::string_view, uint32_t>>> field_names_;
  std::vector<wasm::IndexType> memory_index_types_;
  std::vector<wasm::IndexType> table_index_types_;

  // Pass 2 state.
  uint32_t next_index_[kSpaceCount] = {};
  ByteWriter imports_, funcs_, tables_, memories_, tags_, globals_, exports_, elems_, code_, datas_;
  uint32_t import_count_ = 0, func_count_ = 0, table_count_ = 0, memory_count_ = 0, tag_count_ = 0,
           global_count_ = 0, export_count_ = 0, elem_count_ = 0, code_count_ = 0, data_count_ = 0;
  std::optional<uint32_t> start_;
  bool uses_data_count_ = false;
  std::string_view module_name_;
  std::string annotated_module_name_;
  bool has_annotated_module_name_ = false;
  std::vector<std::pair<uint32_t, std::string>> annotated_func_names_;

  struct CustomSection {
    int slot;  // see parse_custom_annotation
    std::string name;
    std::string payload;
  };
  std::vector<CustomSection> customs_;
  size_t module_begin_ = 0, module_end_ = 0;

  // Function context.
  std::unordered_map<std::string_view, uint32_t> locals_;
  uint32_t local_count_ = 0;
  bool in_function_ = false;
  std::vector<std::pair<uint32_t, std::vector<std::pair<uint32_t, std::string_view>>>> local_names_;
  std::vector<std::string_view> labels_;
  std::vector<Frame> frames_;
  // Branch hints: of the function being parsed (offset in its body, value), then per function.
  std::vector<std::pair<uint32_t, uint8_t>> body_hints_;
  std::vector<std::pair<uint32_t, std::vector<std::pair<uint32_t, uint8_t>>>> branch_hints_;
  std::vector<bool> hint_taken_;  // per annotation of the stream
  ByteWriter pending_;
};

// ---------------------------------------------------------------------------------------------
// names and literals

bool ModuleParser::id_name(const Token& token, std::string_view& name) {
  std::string_view t = text(token);
  if (t.size() >= 2 && t[1] == '"') {
    std::string decoded, message;
    // `$` followed by a malformed string is not an identifier token at all: what is left of it
    // is a lone `$`, which the spec reports as an empty identifier.
    if (!decode_string(t.substr(1), decoded, message))
      return fail_at(token.offset, "empty identifier: " + message);
    if (decoded.empty()) return fail_at(token.offset, "empty identifier");
    if (!is_valid_utf8(decoded)) return fail_at(token.offset, "malformed UTF-8 encoding");
    arena_.push_back(std::move(decoded));
    name = arena_.back();
    return true;
  }
  name = t.substr(1);
  return true;
}

bool ModuleParser::string_value(const Token& token, std::string& out) {
  std::string message;
  if (!decode_string(text(token), out, message)) return fail_at(token.offset, message);
  return true;
}

bool ModuleParser::define(Space space, std::string_view name, uint32_t at_offset) {
  IndexSpace& sp = spaces_[space];
  uint32_t index = sp.count();
  if (!name.empty()) {
    if (!sp.by_name.emplace(name, index).second)
      return fail_at(at_offset,
                     std::string("duplicate ") + kDuplicateWords[space] + " $" + std::string(name));
  }
  sp.names.push_back(name);
  return true;
}

bool ModuleParser::parse_index(Space space, uint32_t& index) {
  if (peek_is(Tok::Id)) {
    std::string_view name;
    const Token& token = next();
    if (!id_name(token, name)) return false;
    auto it = spaces_[space].by_name.find(name);
    if (it == spaces_[space].by_name.end())
      return fail_at(token.offset,
                     std::string("unknown ") + kSpaceWords[space] + " $" + std::string(name));
    index = it->second;
    return true;
  }
  uint64_t value;
  if (!peek_is(Tok::Keyword) || !parse_u64(peek_text(), value))
    return fail_expected(std::string("a ") + kSpaceWords[space] + " index");
  if (value > UINT32_MAX) return fail("i32 constant out of range");
  next();
  index = uint32_t(value);
  return true;
}

bool ModuleParser::resolve_local(uint32_t& index) {
  if (peek_is(Tok::Id)) {
    std::string_view name;
    const Token& token = next();
    if (!id_name(token, name)) return false;
    auto it = locals_.find(name);
    if (it == locals_.end()) return fail_at(token.offset, "unknown local $" + std::string(name));
    index = it->second;
    return true;
  }
  return parse_u32(index);
}

bool ModuleParser::resolve_label(uint32_t& depth) {
  if (peek_is(Tok::Id)) {
    std::string_view name;
    const Token& token = next();
    if (!id_name(token, name)) return false;
    for (size_t i = labels_.size(); i-- > 0;) {
      if (labels_[i] == name) {
        depth = uint32_t(labels_.size() - 1 - i);
        return true;
      }
    }
    return fail_at(token.offset, "unknown label $" + std::string(name));
  }
  return parse_u32(depth);
}

bool ModuleParser::parse_field_index(uint32_t type_index, uint32_t& field) {
  if (peek_is(Tok::Id)) {
    std::string_view name;
    const Token& token = next();
    if (!id_name(token, name)) return false;
    if (type_index < field_names_.size()) {
      for (auto& [field_name, index] : field_names_[type_index]) {
        if (field_name == name) {
          field = index;
          return true;
        }
      }
    }
    return fail_at(token.offset, "unknown field $" + std::string(name));
  }
  return parse_u32(field);
}

// ---------------------------------------------------------------------------------------------
// types

bool ModuleParser::parse_heaptype(HeapType& heap) {
  if (peek_lparen_keyword("exact")) {
    next();
    next();
    if (!peek_index()) return fail_expected("a type index");
    if (!parse_index(kType, heap.index)) return false;
    heap.kind = kExactConcrete;
    return expect_rparen();
  }
  if (peek_index()) {
    heap.kind = HeapKind::Concrete;
    return parse_index(kType, heap.index);
  }
  if (!peek_is(Tok::Keyword)) return fail_expected("a heap type");
  std::string_view t = peek_text();
  static constexpr std::pair<std::string_view, HeapKind> kHeaps[] = {
      {"func", HeapKind::Func},     {"extern", HeapKind::Extern},
      {"any", HeapKind::Any},       {"eq", HeapKind::Eq},
      {"i31", HeapKind::I31},       {"struct", HeapKind::Struct},
      {"array", HeapKind::Array},   {"none", HeapKind::None},
      {"nofunc", HeapKind::NoFunc}, {"noextern", HeapKind::NoExtern},
      {"exn", HeapKind::Exn},       {"noexn", HeapKind::NoExn},
  };
  for (auto& [name, kind] : kHeaps) {
    if (t == name) {
      next();
      heap = {kind, 0};
      return true;
    }
  }
  return fail_expected("a heap type");
}

namespace {
struct RefAbbrev {
  std::string_view name;
  HeapKind heap;
};
constexpr RefAbbrev kRefAbbrevs[] = {
    {"funcref", HeapKind::Func},       {"externref", HeapKind::Extern},
    {"anyref", HeapKind::Any},         {"eqref", HeapKind::Eq},
    {"i31ref", HeapKind::I31},         {"structref", HeapKind::Struct},
    {"arrayref", HeapKind::Array},     {"nullref", HeapKind::None},
    {"nullfuncref", HeapKind::NoFunc}, {"nullexternref", HeapKind::NoExtern},
    {"exnref", HeapKind::Exn},         {"nullexnref", HeapKind::NoExn},
};
}  // namespace

bool ModuleParser::peek_reftype() const {
  if (peek_lparen_keyword("ref")) return true;
  if (!peek_is(Tok::Keyword)) return false;
  std::string_view t = peek_text();
  for (auto& abbrev : kRefAbbrevs)
    if (t == abbrev.name) return true;
  return false;
}

bool ModuleParser::parse_reftype(ValType& type) {
  if (peek_lparen_keyword("ref")) {
    next();
    next();
    bool nullable = false;
    if (peek_keyword("null")) {
      next();
      nullable = true;
    }
    HeapType heap;
    if (!parse_heaptype(heap)) return false;
    type = ValType::ref(heap, nullable);
    return expect_rparen();
  }
  if (peek_is(Tok::Keyword)) {
    std::string_view t = peek_text();
    for (auto& abbrev : kRefAbbrevs) {
      if (t == abbrev.name) {
        next();
        type = ValType::ref({abbrev.heap, 0}, true);
        return true;
      }
    }
  }
  return fail_expected("a reference type");
}

bool ModuleParser::parse_valtype(ValType& type) {
  if (peek_is(Tok::Keyword)) {
    std::string_view t = peek_text();
    if (t == "i32")
      type = ValType::i32();
    else if (t == "i64")
      type = ValType::i64();
    else if (t == "f32")
      type = ValType::f32();
    else if (t == "f64")
      type = ValType::f64();
    else if (t == "v128")
      type = ValType::v128();
    else
      return parse_reftype(type);
    next();
    return true;
  }
  if (peek_lparen_keyword("ref")) return parse_reftype(type);
  return fail_expected("a value type");
}

bool ModuleParser::parse_storagetype(FieldType& field) {
  if (peek_keyword("i8")) {
    next();
    field.packed = PackedKind::I8;
    return true;
  }
  if (peek_keyword("i16")) {
    next();
    field.packed = PackedKind::I16;
    return true;
  }
  field.packed = PackedKind::None;
  return parse_valtype(field.type);
}

bool ModuleParser::parse_fieldtype(FieldType& field) {
  if (peek_lparen_keyword("mut")) {
    next();
    next();
    field.mutable_ = true;
    if (!parse_storagetype(field)) return false;
    return expect_rparen();
  }
  field.mutable_ = false;
  return parse_storagetype(field);
}

bool ModuleParser::parse_param_result_lists(FuncType& func,
                                            std::vector<std::string_view>* param_names,
                                            bool allow_params) {
  while (allow_params && peek_lparen_keyword("param")) {
    const Token& open = next();
    next();
    if (peek_is(Tok::Id)) {
      std::string_view name;
      if (!param_names) return fail("unexpected token: named parameter not allowed here");
      if (!id_name(next(), name)) return false;
      ValType type;
      if (!parse_valtype(type)) return false;
      func.params.push_back(type);
      param_names->push_back(name);
      if (!expect_rparen()) return false;
      continue;
    }
    (void)open;
    while (!peek_is(Tok::RParen)) {
      ValType type;
      if (!parse_valtype(type)) return false;
      func.params.push_back(type);
      if (param_names) param_names->push_back({});
    }
    next();
  }
  while (peek_lparen_keyword("result")) {
    next();
    next();
    while (!peek_is(Tok::RParen)) {
      ValType type;
      if (!parse_valtype(type)) return false;
      func.results.push_back(type);
    }
    next();
  }
  if (peek_lparen_keyword("param")) return fail("unexpected token: param after result");
  return true;
}

bool ModuleParser::parse_comptype(SubType& sub, uint32_t type_index) {
  if (describes_.size() <= type_index) {
    describes_.resize(type_index + 1);
    descriptor_.resize(type_index + 1);
  }
  // custom-descriptors: (describes $x)? (descriptor $y)? before the composite type.
  if (peek_lparen_keyword("describes")) {
    next();
    next();
    uint32_t index;
    if (!parse_index(kType, index) || !expect_rparen()) return false;
    describes_[type_index] = index;
  }
  if (peek_lparen_keyword("descriptor")) {
    next();
    next();
    uint32_t index;
    if (!parse_index(kType, index) || !expect_rparen()) return false;
    descriptor_[type_index] = index;
  }
  if (!expect_lparen()) return false;
  if (peek_keyword("func")) {
    next();
    sub.kind = CompositeKind::Func;
    std::vector<std::string_view> names;
    if (!parse_param_result_lists(sub.func, &names)) return false;
    return expect_rparen();
  }
  if (peek_keyword("struct")) {
    next();
    sub.kind = CompositeKind::Struct;
    auto& names = field_names_[type_index];
    while (peek_lparen_keyword("field")) {
      next();
      next();
      if (peek_is(Tok::Id)) {
        std::string_view name;
        const Token& token = next();
        if (!id_name(token, name)) return false;
        for (auto& existing : names)
          if (existing.first == name)
            return fail_at(token.offset, "duplicate field $" + std::string(name));
        names.emplace_back(name, uint32_t(sub.struct_.fields.size()));
        FieldType field;
        if (!parse_fieldtype(field)) return false;
        sub.struct_.fields.push_back(field);
        if (!expect_rparen()) return false;
        continue;
      }
      while (!peek_is(Tok::RParen)) {
        FieldType field;
        if (!parse_fieldtype(field)) return false;
        sub.struct_.fields.push_back(field);
      }
      next();
    }
    return expect_rparen();
  }
  if (peek_keyword("array")) {
    next();
    sub.kind = CompositeKind::Array;
    if (!parse_fieldtype(sub.array.element)) return false;
    return expect_rparen();
  }
  return fail_expected("'func', 'struct' or 'array'");
}

bool ModuleParser::parse_type_def(SubType& sub, uint32_t type_index) {
  // `(type` already consumed.
  std::string_view name;
  if (!take_optional_id(name)) return false;
  if (peek_lparen_keyword("sub")) {
    next();
    next();
    sub.final_ = false;
    if (peek_keyword("final")) {
      next();
      sub.final_ = true;
    }
    while (peek_index()) {
      uint32_t super;
      if (!parse_index(kType, super)) return false;
      if (sub.supertype) return fail("multiple supertypes");
      sub.supertype = super;
    }
    if (!parse_comptype(sub, type_index)) return false;
    if (!expect_rparen()) return false;
  } else {
    sub.final_ = true;
    if (!parse_comptype(sub, type_index)) return false;
  }
  return expect_rparen();
}

bool ModuleParser::parse_types() {
  uint32_t type_index = 0;
  field_names_.resize(spaces_[kType].count());
  for (size_t start : type_field_starts_) {
    pos_ = start;
    next();  // (
    if (peek_keyword("rec")) {
      next();
      RecInfo rec{uint32_t(types_.size()), 0, true};
      while (peek_lparen_keyword("type")) {
        next();
        next();
        SubType sub;
        sub.rec_group = uint32_t(recs_.size());
        if (!parse_type_def(sub, type_index++)) return false;
        types_.push_back(std::move(sub));
        ++rec.count;
      }
      if (!expect_rparen()) return false;
      recs_.push_back(rec);
    } else {
      next();  // type
      SubType sub;
      sub.rec_group = uint32_t(recs_.size());
      if (!parse_type_def(sub, type_index++)) return false;
      types_.push_back(std::move(sub));
      recs_.push_back({uint32_t(types_.size() - 1), 1, false});
    }
  }
  explicit_types_ = uint32_t(types_.size());
  return true;
}

uint32_t ModuleParser::find_or_add_func_type(const FuncType& func) {
  for (uint32_t i = 0; i < types_.size(); ++i) {
    const SubType& sub = types_[i];
    if (sub.kind == CompositeKind::Func && sub.final_ && !sub.supertype &&
        recs_[sub.rec_group].count == 1 && sub.func == func &&
        !(i < describes_.size() && (describes_[i] || descriptor_[i])))
      return i;
  }
  SubType sub;
  sub.kind = CompositeKind::Func;
  sub.func = func;
  sub.rec_group = uint32_t(recs_.size());
  types_.push_back(std::move(sub));
  recs_.push_back({uint32_t(types_.size() - 1), 1, false});
  field_names_.emplace_back();
  return uint32_t(types_.size() - 1);
}

bool ModuleParser::parse_typeuse(uint32_t& type_index, std::vector<std::string_view>* param_names,
                                 bool allow_names) {
  std::optional<uint32_t> explicit_index;
  uint32_t type_offset = peek().offset;
  if (peek_lparen_keyword("type")) {
    next();
    next();
    uint32_t index;
    if (!parse_index(kType, index)) return false;
    if (!expect_rparen()) return false;
    explicit_index = index;
  }
  FuncType func;
  std::vector<std::string_view> names;
  if (!parse_param_result_lists(func, allow_names ? &names : nullptr)) return false;
  if (explicit_index) {
    type_index = *explicit_index;
    bool inline_given = !func.params.empty() || !func.results.empty();
    if (type_index < types_.size() && types_[type_index].kind == CompositeKind::Func) {
      const FuncType& declared = types_[type_index].func;
      if (inline_given && !(declared == func))
        return fail_at(type_offset, "inline function type does not match the type it names");
      if (param_names) {
        if (inline_given) {
          *param_names = std::move(names);
        } else {
          param_names->assign(declared.params.size(), std::string_view());
        }
      }
    } else if (inline_given && type_index < types_.size()) {
      return fail_at(type_offset, "inline function type names a non-function type");
    } else if (inline_given) {
      return fail_at(type_offset, "unknown type");
    } else if (param_names) {
      *param_names = std::move(names);
    }
    return true;
  }
  type_index = find_or_add_func_type(func);
  if (param_names) *param_names = std::move(names);
  return true;
}

bool ModuleParser::parse_blocktype(ByteWriter& out) {
  if (!peek_lparen_keyword("type") && !peek_lparen_keyword("param") &&
      !peek_lparen_keyword("result")) {
    out.u8(0x40);
    return true;
  }
  if (peek_lparen_keyword("type")) {
    uint32_t index;
    if (!parse_typeuse(index, nullptr, false)) return false;
    out.s64(index);
    return true;
  }
  FuncType func;
  if (!parse_param_result_lists(func, nullptr)) return false;
  if (func.params.empty() && func.results.empty()) {
    out.u8(0x40);
  } else if (func.params.empty() && func.results.size() == 1) {
    write_valtype(out, func.results[0]);
  } else {
    out.s64(find_or_add_func_type(func));
  }
  return true;
}

void ModuleParser::write_heaptype(ByteWriter& out, const HeapType& heap) {
  if (heap.kind == kExactConcrete) {
    out.u8(0x62);
    out.s64(heap.index);
  } else if (heap.kind == HeapKind::Concrete) {
    out.s64(heap.index);
  } else {
    out.u8(uint8_t(heap.kind));
  }
}

void ModuleParser::write_valtype(ByteWriter& out, const ValType& type) {
  if (type.kind != ValKind::Ref) {
    out.u8(uint8_t(type.kind));
    return;
  }
  if (type.nullable && type.heap.kind != HeapKind::Concrete && type.heap.kind != kExactConcrete) {
    out.u8(uint8_t(type.heap.kind));
    return;
  }
  out.u8(type.nullable ? 0x63 : 0x64);
  write_heaptype(out, type.heap);
}

void ModuleParser::write_fieldtype(ByteWriter& out, const FieldType& field) {
  if (field.packed != PackedKind::None) {
    out.u8(uint8_t(field.packed));
  } else {
    write_valtype(out, field.type);
  }
  out.u8(field.mutable_ ? 1 : 0);
}

bool ModuleParser::parse_limits(wasm::Limits& limits, bool is64) {
  // With memory64, limits are u64 literals for both index types and a limit beyond the index
  // type's range is a validation error ("memory size"); before memory64 the grammar itself
  // had u32 limits, so a larger literal is out of range at the text level.
  const bool u32_literals = !is64 && !features_.has(wasm::Proposal::Memory64);
  auto parse_limit = [&](uint64_t& value) {
    if (!parse_u64_token(value)) return false;
    if (u32_literals && value > UINT32_MAX)
      return fail_at(peek(-1).offset, "i32 constant out of range");
    return true;
  };
  if (!parse_limit(limits.min)) return false;
  if (peek_nat()) {
    uint64_t max;
    if (!parse_limit(max)) return false;
    limits.max = max;
  }
  return true;
}

void ModuleParser::write_limits(ByteWriter& out, const wasm::Limits& limits, uint8_t flags,
                                bool is64) {
  if (limits.max) flags |= 1;
  if (is64) flags |= 4;
  out.u8(flags);
  out.u64(limits.min);
  if (limits.max) out.u64(*limits.max);
}

bool ModuleParser::parse_tabletype_after_index(wasm::TableType& table) {
  if (!parse_limits(table.limits, table.index_type == wasm::IndexType::I64)) return false;
  return parse_reftype(table.element);
}

void ModuleParser::write_tabletype(ByteWriter& out, const wasm::TableType& table) {
  write_valtype(out, table.element);
  write_limits(out, table.limits, 0, table.index_type == wasm::IndexType::I64);
}

bool ModuleParser::parse_memtype(wasm::MemoryType& memory) {
  // index type already consumed by the caller.
  if (!parse_limits(memory.limits, memory.index_type == wasm::IndexType::I64)) return false;
  if (peek_keyword("shared")) {
    next();
    memory.shared = true;
  } else if (peek_keyword("unshared")) {
    next();
  }
  if (peek_lparen_keyword("pagesize")) {
    next();
    next();
    uint64_t size;
    const Token& at = peek();
    if (!parse_u64_token(size)) return false;
    // A power of two too large is the validator's "invalid custom page size".
    if (size == 0 || (size & (size - 1)) != 0)
      return fail_at(at.offset, "invalid custom page size");
    uint8_t log2 = 0;
    while ((uint64_t(1) << log2) < size) ++log2;
    memory.page_size_log2 = log2;
    if (!expect_rparen()) return false;
  }
  return true;
}

void ModuleParser::write_memtype(ByteWriter& out, const wasm::MemoryType& memory) {
  uint8_t flags = memory.shared ? 2 : 0;
  bool custom = memory.page_size_log2 != 16;
  if (custom) flags |= 8;
  write_limits(out, memory.limits, flags, memory.index_type == wasm::IndexType::I64);
  if (custom) out.u32(memory.page_size_log2);
}

bool ModuleParser::parse_globaltype(wasm::GlobalType& global) {
  if (peek_lparen_keyword("mut")) {
    next();
    next();
    global.mutable_ = true;
    if (!parse_valtype(global.type)) return false;
    return expect_rparen();
  }
  global.mutable_ = false;
  return parse_valtype(global.type);
}

// ---------------------------------------------------------------------------------------------
// pass 1: the index spaces

bool ModuleParser::scan_fields(size_t begin, bool bare, size_t& end) {
  pos_ = begin;
  while (true) {
    if (peek_is(Tok::RParen) && !bare) break;
    if (peek_is(Tok::Eof)) {
      if (bare) break;
      return fail_expected("')'");
    }
    if (!peek_is(Tok::LParen) || !peek_is(Tok::Keyword, 1)) return fail_expected("a module field");
    size_t start = pos_;
    const Token& keyword_token = peek(1);
    std::string_view keyword = peek_text(1);
    field_starts_.push_back(start);
    auto id_at = [&](size_t ahead, std::string_view& name) -> bool {
      name = {};
      if (peek_is(Tok::Id, ahead)) return id_name(peek(ahead), name);
      return true;
    };
    auto note_import = [&](std::string_view what) -> bool {
      if (last_definition_)
        return fail_at(keyword_token.offset, std::string("import after ") + last_definition_ +
                                                 " (" + std::string(what) + ")");
      return true;
    };
    std::string_view name;
    if (keyword == "type") {
      if (!id_at(2, name) || !define(kType, name, peek(2).offset)) return false;
      type_field_starts_.push_back(start);
    } else if (keyword == "rec") {
      type_field_starts_.push_back(start);
      size_t saved = pos_;
      next();
      next();
      while (peek_lparen_keyword("type")) {
        if (!id_at(2, name) || !define(kType, name, peek(2).offset)) return false;
        skip_form();
      }
      pos_ = saved;
    } else if (keyword == "import") {
      // (import "m" "n" (kind $id? ...))
      if (!peek_is(Tok::LParen, 4) || !peek_is(Tok::Keyword, 5)) {
        pos_ += 4;
        return fail_expected("an import description");
      }
      std::string_view kind = peek_text(5);
      Space space;
      if (kind == "func")
        space = kFunc;
      else if (kind == "table")
        space = kTable;
      else if (kind == "memory")
        space = kMemory;
      else if (kind == "global")
        space = kGlobal;
      else if (kind == "tag")
        space = kTag;
      else {
        pos_ += 5;
        return fail_expected("an import kind");
      }
      if (!note_import("import") || !id_at(6, name) || !define(space, name, peek(6).offset))
        return false;
      if (space == kMemory || space == kTable) {
        size_t after = peek_is(Tok::Id, 6) ? 7 : 6;
        bool is64 = peek_keyword("i64", after);
        (space == kMemory ? memory_index_types_ : table_index_types_)
            .push_back(is64 ? wasm::IndexType::I64 : wasm::IndexType::I32);
      }
    } else if (keyword == "func" || keyword == "table" || keyword == "memory" ||
               keyword == "global" || keyword == "tag") {
      Space space = keyword == "func"     ? kFunc
                    : keyword == "table"  ? kTable
                    : keyword == "memory" ? kMemory
                    : keyword == "global" ? kGlobal
                                          : kTag;
      if (!id_at(2, name)) return false;
      size_t ahead = peek_is(Tok::Id, 2) ? 3 : 2;
      // Skip inline exports to see whether this is an inline import.
      size_t saved = pos_;
      pos_ += ahead;
      while (peek_lparen_keyword("export")) skip_form();
      bool imported = peek_lparen_keyword("import");
      if (imported) skip_form();
      bool is64 = peek_keyword("i64");
      pos_ = saved;
      if (imported) {
        // `keyword` views the source: never read it as a C string (it is not terminated).
        if (!note_import(keyword == "func" ? std::string_view("function") : keyword)) return false;
      } else {
        last_definition_ = keyword == "func"     ? "function"
                           : keyword == "table"  ? "table"
                           : keyword == "memory" ? "memory"
                           : keyword == "global" ? "global"
                                                 : "tag";
      }
      if (!define(space, name, peek(2).offset)) return false;
      if (space == kMemory || space == kTable) {
        (space == kMemory ? memory_index_types_ : table_index_types_)
            .push_back(is64 ? wasm::IndexType::I64 : wasm::IndexType::I32);
      }
      if (!imported && (space == kTable || space == kMemory)) {
        // An inline (elem ...) or (data ...) defines an anonymous segment.
        size_t depth = 0;
        size_t i = pos_;
        for (;; ++i) {
          Tok kind = toks_[i].kind;
          if (kind == Tok::Eof) break;
          if (kind == Tok::LParen) {
            ++depth;
            if (depth == 2 && toks_[i + 1].kind == Tok::Keyword) {
              std::string_view inner = text(toks_[i + 1]);
              if (space == kTable && inner == "elem" && !define(kElem, {}, 0)) return false;
              if (space == kMemory && inner == "data" && !define(kData, {}, 0)) return false;
            }
          } else if (kind == Tok::RParen) {
            if (--depth == 0) break;
          }
        }
      }
    } else if (keyword == "elem") {
      if (!id_at(2, name) || !define(kElem, name, peek(2).offset)) return false;
    } else if (keyword == "data") {
      if (!id_at(2, name) || !define(kData, name, peek(2).offset)) return false;
    } else if (keyword == "export" || keyword == "start") {
    } else {
      pos_ += 1;
      return fail_expected("a module field");
    }
    pos_ = start;
    skip_form();
    if (toks_[pos_ - 1].kind != Tok::RParen || peek(-1).kind == Tok::Eof) {
      if (peek_is(Tok::Eof) && toks_[pos_ - 1].kind != Tok::RParen) return fail_expected("')'");
    }
  }
  end = pos_;
  return true;
}

// ---------------------------------------------------------------------------------------------
// pass 2: fields

bool ModuleParser::parse_inline_exports(wasm::ExternKind kind, uint32_t index) {
  while (peek_lparen_keyword("export")) {
    next();
    next();
    std::string name;
    if (!parse_name(name)) return false;
    if (!expect_rparen()) return false;
    exports_.name(name);
    exports_.u8(uint8_t(kind));
    exports_.u32(index);
    ++export_count_;
  }
  return true;
}

bool ModuleParser::parse_inline_import(std::string& module, std::string& name, bool& present) {
  present = false;
  if (!peek_lparen_keyword("import")) return true;
  next();
  next();
  if (!parse_name(module) || !parse_name(name)) return false;
  present = true;
  return expect_rparen();
}

bool ModuleParser::parse_import() {
  // (import "m" "n" (desc))
  std::string module, name;
  if (!parse_name(module) || !parse_name(name)) return false;
  if (!expect_lparen()) return false;
  std::string_view kind = peek_text();
  next();
  std::string_view id;
  if (!take_optional_id(id)) return false;
  imports_.name(module);
  imports_.name(name);
  ++import_count_;
  if (kind == "func") {
    uint32_t type_index;
    std::vector<std::string_view> names;
    size_t func_index = next_index_[kFunc]++;
    bool exact;
    if (!parse_import_typeuse(type_index, names, exact)) return false;
    imports_.u8(exact ? 0x20 : 0);
    imports_.u32(type_index);
    std::vector<std::pair<uint32_t, std::string_view>> local_names;
    for (uint32_t i = 0; i < names.size(); ++i)
      if (!names[i].empty()) local_names.emplace_back(i, names[i]);
    if (!local_names.empty()) local_names_.emplace_back(uint32_t(func_index), local_names);
  } else if (kind == "table") {
    imports_.u8(1);
    wasm::TableType table;
    table.index_type = table_index_types_[next_index_[kTable]++];
    if (table.index_type == wasm::IndexType::I64 || peek_keyword("i32")) next();
    if (!parse_tabletype_after_index(table)) return false;
    write_tabletype(imports_, table);
  } else if (kind == "memory") {
    imports_.u8(2);
    wasm::MemoryType memory;
    memory.index_type = memory_index_types_[next_index_[kMemory]++];
    if (memory.index_type == wasm::IndexType::I64 || peek_keyword("i32")) next();
    if (!parse_memtype(memory)) return false;
    write_memtype(imports_, memory);
  } else if (kind == "global") {
    imports_.u8(3);
    ++next_index_[kGlobal];
    wasm::GlobalType global;
    if (!parse_globaltype(global)) return false;
    write_valtype(imports_, global.type);
    imports_.u8(global.mutable_ ? 1 : 0);
  } else if (kind == "tag") {
    imports_.u8(4);
    ++next_index_[kTag];
    uint32_t type_index;
    if (!parse_typeuse(type_index, nullptr, false)) return false;
    imports_.u8(0);
    imports_.u32(type_index);
  }
  if (!expect_rparen()) return false;
  return expect_rparen();
}

bool ModuleParser::parse_func() {
  size_t name_pos = pos_;
  std::string_view id;
  if (!take_optional_id(id)) return false;
  uint32_t func_index = next_index_[kFunc]++;
  // @name annotation right after `func $id?`.
  for (const Annotation& annotation : annotations_from(pos_)) {
    if (annotation.before_token != pos_) break;
    if (annotation.kind == Annotation::Kind::Name && annotation.body.size() == 1 &&
        annotation.body[0].kind == Tok::String) {
      std::string value;
      if (!string_value(annotation.body[0], value)) return false;
      annotated_func_names_.emplace_back(func_index, std::move(value));
    }
  }
  (void)name_pos;
  if (!parse_inline_exports(wasm::ExternKind::Func, func_index)) return false;
  std::string import_module, import_name;
  bool imported;
  if (!parse_inline_import(import_module, import_name, imported)) return false;
  uint32_t type_index;
  std::vector<std::string_view> param_names;
  bool exact = false;
  if (imported) {
    if (!parse_import_typeuse(type_index, param_names, exact)) return false;
  } else if (!parse_typeuse(type_index, &param_names, true)) {
    return false;
  }
  std::vector<std::pair<uint32_t, std::string_view>> local_names;
  if (imported) {
    imports_.name(import_module);
    imports_.name(import_name);
    imports_.u8(exact ? 0x20 : 0);
    imports_.u32(type_index);
    ++import_count_;
    for (uint32_t i = 0; i < param_names.size(); ++i)
      if (!param_names[i].empty()) local_names.emplace_back(i, param_names[i]);
    if (!local_names.empty()) local_names_.emplace_back(func_index, std::move(local_names));
    return expect_rparen();
  }
  funcs_.u32(type_index);
  ++func_count_;
  locals_.clear();
  local_count_ = 0;
  for (std::string_view name : param_names) {
    if (!name.empty()) {
      if (!locals_.emplace(name, local_count_).second)
        return fail("duplicate local $" + std::string(name));
      local_names.emplace_back(local_count_, name);
    }
    ++local_count_;
  }
  // Locals, run-length encoded.
  std::vector<std::pair<uint32_t, ValType>> runs;
  uint64_t total_locals = 0;
  while (peek_lparen_keyword("local")) {
    next();
    next();
    auto add = [&](const ValType& type) {
      if (!runs.empty() && runs.back().second == type) {
        ++runs.back().first;
      } else {
        runs.emplace_back(1, type);
      }
      ++total_locals;
      ++local_count_;
    };
    if (peek_is(Tok::Id)) {
      std::string_view name;
      const Token& token = next();
      if (!id_name(token, name)) return false;
      if (!locals_.emplace(name, local_count_).second)
        return fail_at(token.offset, "duplicate local $" + std::string(name));
      local_names.emplace_back(local_count_, name);
      ValType type;
      if (!parse_valtype(type)) return false;
      add(type);
      if (!expect_rparen()) return false;
      continue;
    }
    while (!peek_is(Tok::RParen)) {
      ValType type;
      if (!parse_valtype(type)) return false;
      add(type);
    }
    next();
  }
  ByteWriter body;
  body.u32(uint32_t(runs.size()));
  for (auto& [count, type] : runs) {
    body.u32(count);
    write_valtype(body, type);
  }
  in_function_ = true;
  body_hints_.clear();
  bool ok = parse_instructions(body);
  in_function_ = false;
  if (!ok) return false;
  body.u8(0x0B);
  if (!body_hints_.empty()) {
    // Offsets count from the start of the function's body (its locals), in increasing order.
    std::sort(body_hints_.begin(), body_hints_.end());
    branch_hints_.emplace_back(func_index, std::move(body_hints_));
    body_hints_.clear();
  }
  if (!local_names.empty()) local_names_.emplace_back(func_index, std::move(local_names));
  code_.u32(uint32_t(body.size()));
  code_.append(body.bytes);
  ++code_count_;
  return expect_rparen();
}

bool ModuleParser::parse_table() {
  std::string_view id;
  if (!take_optional_id(id)) return false;
  uint32_t table_index = next_index_[kTable]++;
  if (!parse_inline_exports(wasm::ExternKind::Table, table_index)) return false;
  std::string import_module, import_name;
  bool imported;
  if (!parse_inline_import(import_module, import_name, imported)) return false;
  wasm::TableType table;
  table.index_type = table_index_types_[table_index];
  if (peek_keyword("i64") || peek_keyword("i32")) next();
  if (imported) {
    if (!parse_tabletype_after_index(table)) return false;
    imports_.name(import_module);
    imports_.name(import_name);
    imports_.u8(1);
    write_tabletype(imports_, table);
    ++import_count_;
    return expect_rparen();
  }
  if (peek_reftype()) {
    // (table reftype (elem ...)): the limits are the element count.
    if (!parse_reftype(table.element)) return false;
    if (!peek_lparen_keyword("elem")) return fail_expected("'(elem'");
    next();
    next();
    ByteWriter items;
    bool uses_exprs = false;
    uint32_t count = 0;
    ValType item_type = table.element;
    if (!parse_elem_items(items, uses_exprs, item_type, count, true,
                          !(table.element == ValType::funcref())))
      return false;
    if (!expect_rparen()) return false;
    table.limits.min = count;
    table.limits.max = count;
    write_tabletype(tables_, table);
    ++table_count_;
    // The segment: active on this table at offset 0.
    uint32_t elem_index = next_index_[kElem]++;
    (void)elem_index;
    bool is64 = table.index_type == wasm::IndexType::I64;
    // The shortest encoding that says it: the MVP's flags 0 and 4 for funcrefs into table 0
    // (so a module without bulk memory or reference types can use the abbreviation).
    const bool implicit_table = table_index == 0 && table.element == ValType::funcref();
    elems_.u8(uses_exprs ? (implicit_table ? 4 : 6) : (implicit_table ? 0 : 2));
    if (!implicit_table) elems_.u32(table_index);
    elems_.u8(is64 ? 0x42 : 0x41);
    elems_.u8(0);
    elems_.u8(0x0B);
    if (!implicit_table) {
      if (uses_exprs) {
        write_valtype(elems_, table.element);
      } else {
        elems_.u8(0);
      }
    }
    elems_.u32(count);
    elems_.append(items.bytes);
    ++elem_count_;
    return expect_rparen();
  }
  if (!parse_tabletype_after_index(table)) return false;
  if (!peek_is(Tok::RParen)) {
    ByteWriter init;
    if (!parse_const_expr(init)) return false;
    tables_.u8(0x40);
    tables_.u8(0x00);
    write_tabletype(tables_, table);
    tables_.append(init.bytes);
  } else {
    write_tabletype(tables_, table);
  }
  ++table_count_;
  return expect_rparen();
}

bool ModuleParser::parse_memory() {
  std::string_view id;
  if (!take_optional_id(id)) return false;
  uint32_t memory_index = next_index_[kMemory]++;
  if (!parse_inline_exports(wasm::ExternKind::Memory, memory_index)) return false;
  std::string import_module, import_name;
  bool imported;
  if (!parse_inline_import(import_module, import_name, imported)) return false;
  wasm::MemoryType memory;
  memory.index_type = memory_index_types_[memory_index];
  if (peek_keyword("i64") || peek_keyword("i32")) next();
  if (imported) {
    if (!parse_memtype(memory)) return false;
    imports_.name(import_module);
    imports_.name(import_name);
    imports_.u8(2);
    write_memtype(imports_, memory);
    ++import_count_;
    return expect_rparen();
  }
  if (peek_lparen_keyword("pagesize") && peek_lparen_keyword("data", 4)) {
    next();
    next();
    uint64_t size;
    if (!parse_u64_token(size)) return false;
    if (size == 0 || (size & (size - 1)) != 0) return fail("invalid custom page size");
    uint8_t log2 = 0;
    while ((uint64_t(1) << log2) < size) ++log2;
    memory.page_size_log2 = log2;
    if (!expect_rparen()) return false;
  }
  if (peek_lparen_keyword("data")) {
    next();
    next();
    std::string bytes, piece;
    while (peek_is(Tok::String)) {
      if (!string_value(next(), piece)) return false;
      bytes += piece;
    }
    if (!expect_rparen()) return false;
    uint64_t page = uint64_t(1) << memory.page_size_log2;
    uint64_t pages = (bytes.size() + page - 1) / page;
    memory.limits.min = pages;
    memory.limits.max = pages;
    write_memtype(memories_, memory);
    ++memory_count_;
    next_index_[kData]++;
    bool is64 = memory.index_type == wasm::IndexType::I64;
    if (memory_index == 0) {
      datas_.u8(0);
    } else {
      datas_.u8(2);
      datas_.u32(memory_index);
    }
    datas_.u8(is64 ? 0x42 : 0x41);
    datas_.u8(0);
    datas_.u8(0x0B);
    datas_.name(bytes);
    ++data_count_;
    return expect_rparen();
  }
  if (!parse_memtype(memory)) return false;
  write_memtype(memories_, memory);
  ++memory_count_;
  return expect_rparen();
}

bool ModuleParser::parse_global() {
  std::string_view id;
  if (!take_optional_id(id)) return false;
  uint32_t global_index = next_index_[kGlobal]++;
  if (!parse_inline_exports(wasm::ExternKind::Global, global_index)) return false;
  std::string import_module, import_name;
  bool imported;
  if (!parse_inline_import(import_module, import_name, imported)) return false;
  wasm::GlobalType global;
  if (!parse_globaltype(global)) return false;
  ByteWriter& out = imported ? imports_ : globals_;
  if (imported) {
    imports_.name(import_module);
    imports_.name(import_name);
    imports_.u8(3);
    ++import_count_;
  }
  write_valtype(out, global.type);
  out.u8(global.mutable_ ? 1 : 0);
  if (!imported) {
    if (!parse_const_expr(globals_)) return false;
    ++global_count_;
  }
  return expect_rparen();
}

bool ModuleParser::parse_tag() {
  std::string_view id;
  if (!take_optional_id(id)) return false;
  uint32_t tag_index = next_index_[kTag]++;
  if (!parse_inline_exports(wasm::ExternKind::Tag, tag_index)) return false;
  std::string import_module, import_name;
  bool imported;
  if (!parse_inline_import(import_module, import_name, imported)) return false;
  uint32_t type_index;
  if (!parse_typeuse(type_index, nullptr, false)) return false;
  ByteWriter& out = imported ? imports_ : tags_;
  if (imported) {
    imports_.name(import_module);
    imports_.name(import_name);
    imports_.u8(4);
    ++import_count_;
  } else {
    ++tag_count_;
  }
  out.u8(0);
  out.u32(type_index);
  return expect_rparen();
}

bool ModuleParser::parse_export() {
  std::string name;
  if (!parse_name(name)) return false;
  if (!expect_lparen()) return false;
  std::string_view kind = peek_text();
  wasm::ExternKind extern_kind;
  Space space;
  if (kind == "func") {
    extern_kind = wasm::ExternKind::Func;
    space = kFunc;
  } else if (kind == "table") {
    extern_kind = wasm::ExternKind::Table;
    space = kTable;
  } else if (kind == "memory") {
    extern_kind = wasm::ExternKind::Memory;
    space = kMemory;
  } else if (kind == "global") {
    extern_kind = wasm::ExternKind::Global;
    space = kGlobal;
  } else if (kind == "tag") {
    extern_kind = wasm::ExternKind::Tag;
    space = kTag;
  } else {
    return fail_expected("an export kind");
  }
  next();
  uint32_t index;
  if (!parse_index(space, index)) return false;
  if (!expect_rparen()) return false;
  exports_.name(name);
  exports_.u8(uint8_t(extern_kind));
  exports_.u32(index);
  ++export_count_;
  return expect_rparen();
}

bool ModuleParser::parse_start() {
  if (start_) return fail("multiple start sections");
  uint32_t index;
  if (!parse_index(kFunc, index)) return false;
  start_ = index;
  return expect_rparen();
}

bool ModuleParser::parse_const_expr(ByteWriter& out) {
  if (!parse_instructions(out)) return false;
  out.u8(0x0B);
  return true;
}

bool ModuleParser::parse_offset_expr(ByteWriter& out) {
  // (offset instr*) or a single folded instruction.
  if (peek_lparen_keyword("offset")) {
    next();
    next();
    if (!parse_const_expr(out)) return false;
    return expect_rparen();
  }
  if (!peek_is(Tok::LParen)) return fail_expected("an offset expression");
  // One folded instruction: parse instructions but only up to the end of that form.
  size_t start = pos_;
  size_t depth = 0;
  size_t end = start;
  for (size_t i = start; i < toks_.size(); ++i) {
    if (toks_[i].kind == Tok::LParen) ++depth;
    if (toks_[i].kind == Tok::RParen && --depth == 0) {
      end = i + 1;
      break;
    }
    if (toks_[i].kind == Tok::Eof) return fail_expected("')'");
  }
  return parse_single_form_expr(out, end);
}

bool ModuleParser::parse_elem_items(ByteWriter& out, bool& uses_exprs, ValType& type,
                                    uint32_t& count, bool allow_bare_funcs, bool funcs_as_exprs) {
  count = 0;
  if (peek_keyword("func") || (allow_bare_funcs && !peek_reftype())) {
    if (peek_keyword("func")) next();
    uses_exprs = funcs_as_exprs;
    type = ValType::funcref();
    ByteWriter indices;
    const OpcodeInfo& ref_func = wasm::opcode_info(*wasm::lookup_mnemonic("ref.func"));
    while (peek_index()) {
      uint32_t index;
      if (!parse_index(kFunc, index)) return false;
      if (funcs_as_exprs) {
        emit_op(indices, ref_func);
        indices.u32(index);
        indices.u8(0x0B);
        uses_exprs = true;
      } else {
        indices.u32(index);
      }
      ++count;
    }
    // A bare function list may also be expressions (e.g. inside a table's `(elem ...)`).
    if (count == 0 && allow_bare_funcs && peek_is(Tok::LParen)) {
      uses_exprs = true;
    } else {
      out.append(indices.bytes);
      return true;
    }
  } else {
    if (!parse_reftype(type)) return false;
    uses_exprs = true;
  }
  while (peek_is(Tok::LParen)) {
    if (peek_lparen_keyword("item")) {
      next();
      next();
      if (!parse_const_expr(out)) return false;
      if (!expect_rparen()) return false;
    } else {
      size_t depth = 0, end = pos_;
      for (size_t i = pos_; i < toks_.size(); ++i) {
        if (toks_[i].kind == Tok::LParen) ++depth;
        if (toks_[i].kind == Tok::RParen && --depth == 0) {
          end = i + 1;
          break;
        }
        if (toks_[i].kind == Tok::Eof) return fail_expected("')'");
      }
      if (!parse_single_form_expr(out, end)) return false;
    }
    ++count;
  }
  return true;
}

bool ModuleParser::parse_elem() {
  std::string_view id;
  if (!take_optional_id(id)) return false;
  next_index_[kElem]++;
  ByteWriter items;
  bool uses_exprs = false;
  uint32_t count = 0;
  ValType type = ValType::funcref();
  if (peek_keyword("declare")) {
    next();
    if (!parse_elem_items(items, uses_exprs, type, count, false)) return false;
    elems_.u8(uses_exprs ? 7 : 3);
    if (uses_exprs)
      write_valtype(elems_, type);
    else
      elems_.u8(0);
  } else if ((peek_is(Tok::LParen) && !peek_lparen_keyword("item") &&
              !peek_lparen_keyword("ref")) ||
             (peek_index() && peek_is(Tok::LParen, 1))) {
    uint32_t table = 0;
    bool explicit_table = false;
    if (peek_lparen_keyword("table")) {
      next();
      next();
      if (!parse_index(kTable, table)) return false;
      if (!expect_rparen()) return false;
      explicit_table = true;
    } else if (peek_index() && peek_is(Tok::LParen, 1)) {
      // The MVP form `(elem tableidx offset funcidx*)`.
      if (!parse_index(kTable, table)) return false;
      explicit_table = true;
    }
    ByteWriter offset;
    if (!parse_offset_expr(offset)) return false;
    if (!parse_elem_items(items, uses_exprs, type, count, true)) return false;
    bool plain = table == 0 && !(explicit_table && false);
    if (!uses_exprs) {
      if (plain) {
        elems_.u8(0);
        elems_.append(offset.bytes);
      } else {
        elems_.u8(2);
        elems_.u32(table);
        elems_.append(offset.bytes);
        elems_.u8(0);
      }
    } else {
      if (plain && type == ValType::funcref()) {
        elems_.u8(4);
        elems_.append(offset.bytes);
      } else {
        elems_.u8(6);
        elems_.u32(table);
        elems_.append(offset.bytes);
        write_valtype(elems_, type);
      }
    }
  } else {
    if (!parse_elem_items(items, uses_exprs, type, count, false)) return false;
    elems_.u8(uses_exprs ? 5 : 1);
    if (uses_exprs)
      write_valtype(elems_, type);
    else
      elems_.u8(0);
  }
  elems_.u32(count);
  elems_.append(items.bytes);
  ++elem_count_;
  return expect_rparen();
}

bool ModuleParser::parse_data() {
  std::string_view id;
  if (!take_optional_id(id)) return false;
  next_index_[kData]++;
  if (peek_is(Tok::LParen) || (peek_index() && peek_is(Tok::LParen, 1))) {
    uint32_t memory = 0;
    if (peek_lparen_keyword("memory")) {
      next();
      next();
      if (!parse_index(kMemory, memory)) return false;
      if (!expect_rparen()) return false;
    } else if (peek_index() && peek_is(Tok::LParen, 1)) {
      if (!parse_index(kMemory, memory)) return false;  // the MVP form `(data memidx offset ...)`
    }
    ByteWriter offset;
    if (!parse_offset_expr(offset)) return false;
    if (memory == 0) {
      datas_.u8(0);
    } else {
      datas_.u8(2);
      datas_.u32(memory);
    }
    datas_.append(offset.bytes);
  } else {
    datas_.u8(1);
  }
  std::string bytes, piece;
  while (peek_is(Tok::String)) {
    if (!string_value(next(), piece)) return false;
    bytes += piece;
  }
  datas_.name(bytes);
  ++data_count_;
  return expect_rparen();
}

bool ModuleParser::parse_field() {
  if (!expect_lparen()) return false;
  std::string_view keyword = peek_text();
  next();
  if (keyword == "type" || keyword == "rec") {
    pos_ -= 2;
    skip_form();
    return true;
  }
  if (keyword == "func") return parse_func();
  if (keyword == "import") return parse_import();
  if (keyword == "table") return parse_table();
  if (keyword == "memory") return parse_memory();
  if (keyword == "global") return parse_global();
  if (keyword == "tag") return parse_tag();
  if (keyword == "export") return parse_export();
  if (keyword == "start") return parse_start();
  if (keyword == "elem") return parse_elem();
  if (keyword == "data") return parse_data();
  return fail_expected("a module field");
}

// ---------------------------------------------------------------------------------------------
// instructions

bool ModuleParser::push_frame(FrameKind kind, std::string_view label) {
  if (frames_.size() >= kMaxNesting) return fail("nesting too deep");
  frames_.push_back({kind, 0, 0, label});
  return true;
}

bool ModuleParser::check_end_label(std::string_view label) {
  if (!peek_is(Tok::Id)) return true;
  std::string_view name;
  const Token& token = next();
  if (!id_name(token, name)) return false;
  if (name != label) return fail_at(token.offset, "mismatching label");
  return true;
}

bool ModuleParser::parse_block_header(std::string_view mnemonic, ByteWriter& out,
                                      std::string_view& label) {
  label = {};
  if (!take_optional_id(label)) return false;
  if (mnemonic == "block")
    out.u8(0x02);
  else if (mnemonic == "loop")
    out.u8(0x03);
  else if (mnemonic == "if")
    out.u8(0x04);
  else if (mnemonic == "try")
    out.u8(0x06);
  else
    out.u8(0x1F);  // try_table
  if (!parse_blocktype(out)) return false;
  if (mnemonic == "try_table") return parse_try_table_catches(out);
  return true;
}

bool ModuleParser::parse_try_table_catches(ByteWriter& out) {
  ByteWriter catches;
  uint32_t count = 0;
  while (peek_is(Tok::LParen) && peek_is(Tok::Keyword, 1)) {
    std::string_view kind = peek_text(1);
    uint8_t code;
    if (kind == "catch")
      code = 0;
    else if (kind == "catch_ref")
      code = 1;
    else if (kind == "catch_all")
      code = 2;
    else if (kind == "catch_all_ref")
      code = 3;
    else
      break;
    next();
    next();
    catches.u8(code);
    if (code < 2) {
      uint32_t tag;
      if (!parse_index(kTag, tag)) return false;
      catches.u32(tag);
    }
    uint32_t depth;
    if (!resolve_label(depth)) return false;
    catches.u32(depth);
    if (!expect_rparen()) return false;
    ++count;
  }
  out.u32(count);
  out.append(catches.bytes);
  return true;
}

namespace {
bool is_block_mnemonic(std::string_view m) {
  return m == "block" || m == "loop" || m == "if" || m == "try" || m == "try_table";
}
}  // namespace

bool ModuleParser::parse_instructions(ByteWriter& out) {
  const size_t base = frames_.size();
  const size_t label_base = labels_.size();
  while (true) {
    if (frames_.size() == base && pos_ == stop_at_) return true;
    const Token& token = peek();
    if (token.kind == Tok::RParen) {
      if (frames_.size() == base) return true;
      Frame& top = frames_.back();
      switch (top.kind) {
        case FrameKind::FoldedPlain:
          place_branch_hint(top.branch_hint, out.size());
          out.append(pending_.bytes.data() + top.pending_begin,
                     pending_.size() - top.pending_begin);
          pending_.bytes.resize(top.pending_begin);
          break;
        case FrameKind::FoldedBlock:
          out.u8(0x0B);
          labels_.pop_back();
          break;
        case FrameKind::FoldedIf:
          if (top.state == 0) return fail_expected("'(then'");
          out.u8(0x0B);
          labels_.pop_back();
          break;
        case FrameKind::FoldedArm:
          // The parent's state was set when the arm opened.
          frames_.pop_back();
          next();
          continue;
        case FrameKind::FoldedTry:
          if (top.state == 0) return fail_expected("'(do'");
          if (top.state != 3) {  // 3: delegated, which ends the try itself
            out.u8(0x0B);
            labels_.pop_back();
          }
          break;
        case FrameKind::FlatBlock:
        case FrameKind::FlatIf:
        case FrameKind::FlatTry:
          return fail_expected("'end'");
      }
      frames_.pop_back();
      next();
      continue;
    }
    if (token.kind == Tok::LParen) {
      if (!peek_is(Tok::Keyword, 1)) {
        next();
        return fail_expected("an instruction");
      }
      std::string_view keyword = peek_text(1);
      Frame* top = frames_.size() > base ? &frames_.back() : nullptr;
      if (top && top->kind == FrameKind::FoldedIf) {
        if (keyword == "then") {
          if (top->state != 0) return fail("unexpected token: duplicate (then");
          next();
          next();
          // The condition operands are done: emit the `if` and open its label.
          place_branch_hint(top->branch_hint, out.size());
          out.append(pending_.bytes.data() + top->pending_begin,
                     pending_.size() - top->pending_begin);
          pending_.bytes.resize(top->pending_begin);
          labels_.push_back(top->label);
          top->state = 1;
          if (!push_frame(FrameKind::FoldedArm, {})) return false;
          continue;
        }
        if (keyword == "else") {
          if (top->state != 1) return fail_expected("'(then'");
          next();
          next();
          out.u8(0x05);
          top->state = 2;
          if (!push_frame(FrameKind::FoldedArm, {})) return false;
          continue;
        }
        if (top->state != 0) return fail_expected("'(else' or ')'");
      }
      if (top && top->kind == FrameKind::FoldedTry) {
        if (keyword == "do") {
          if (top->state != 0) return fail("unexpected token: duplicate (do");
          next();
          next();
          top->state = 1;
          if (!push_frame(FrameKind::FoldedArm, {})) return false;
          continue;
        }
        if (keyword == "catch" || keyword == "catch_all") {
          if (top->state == 0) return fail_expected("'(do'");
          if (top->state == 3 || top->state == 4)
            return fail("unexpected token: no handler may follow catch_all or delegate");
          top->state = keyword == "catch" ? 2 : 4;
          next();
          next();
          if (keyword == "catch") {
            uint32_t tag;
            if (!parse_index(kTag, tag)) return false;
            out.u8(0x07);
            out.u32(tag);
          } else {
            out.u8(0x19);
          }
          if (!push_frame(FrameKind::FoldedArm, {})) return false;
          continue;
        }
        if (keyword == "delegate") {
          if (top->state != 1) return fail("unexpected token: delegate must follow (do ...)");
          next();
          next();
          labels_.pop_back();
          uint32_t depth;
          if (!resolve_label(depth)) return false;
          out.u8(0x18);
          out.u32(depth);
          if (!expect_rparen()) return false;
          frames_.back().state = 3;
          continue;
        }
        return fail_expected("'(do', '(catch', '(catch_all' or '(delegate'");
      }
      // A folded instruction.
      int16_t hint;
      if (!take_branch_hint(pos_, hint)) return false;
      next();
      next();
      if (is_block_mnemonic(keyword)) {
        if (keyword == "if") {
          if (!push_frame(FrameKind::FoldedIf, {})) return false;
          frames_.back().branch_hint = hint;
          frames_.back().pending_begin = uint32_t(pending_.size());
          std::string_view label;
          if (!parse_block_header(keyword, pending_, label)) return false;
          frames_.back().label = label;
          continue;
        }
        std::string_view label;
        place_branch_hint(hint, out.size());
        // try_table catches resolve labels outside the block: header before pushing.
        if (!parse_block_header(keyword, out, label)) return false;
        labels_.push_back(label);
        if (!push_frame(keyword == "try" ? FrameKind::FoldedTry : FrameKind::FoldedBlock, label))
          return false;
        continue;
      }
      if (!push_frame(FrameKind::FoldedPlain, {})) return false;
      frames_.back().branch_hint = hint;
      frames_.back().pending_begin = uint32_t(pending_.size());
      if (!parse_plain_keyword(keyword, pending_)) return false;
      continue;
    }
    if (token.kind == Tok::Keyword) {
      std::string_view keyword = text(token);
      int16_t hint;
      if (!take_branch_hint(pos_, hint)) return false;
      place_branch_hint(hint, out.size());
      if (is_block_mnemonic(keyword)) {
        next();
        std::string_view label;
        if (!parse_block_header(keyword, out, label)) return false;
        labels_.push_back(label);
        FrameKind kind = keyword == "if"    ? FrameKind::FlatIf
                         : keyword == "try" ? FrameKind::FlatTry
                                            : FrameKind::FlatBlock;
        if (!push_frame(kind, label)) return false;
        continue;
      }
      Frame* top = frames_.size() > base ? &frames_.back() : nullptr;
      if (top && (top->kind == FrameKind::FoldedIf || top->kind == FrameKind::FoldedTry))
        return fail_expected(top->kind == FrameKind::FoldedIf ? "'(then'" : "'(do'");
      if (keyword == "end") {
        if (!top || (top->kind != FrameKind::FlatBlock && top->kind != FrameKind::FlatIf &&
                     top->kind != FrameKind::FlatTry))
          return fail("unexpected token: 'end' without an open block");
        next();
        if (!check_end_label(top->label)) return false;
        out.u8(0x0B);
        labels_.pop_back();
        frames_.pop_back();
        continue;
      }
      if (keyword == "else") {
        if (!top || top->kind != FrameKind::FlatIf || top->state != 0)
          return fail("unexpected token: 'else' without an open 'if'");
        next();
        if (!check_end_label(top->label)) return false;
        top->state = 1;
        out.u8(0x05);
        continue;
      }
      if (keyword == "catch" || keyword == "catch_all") {
        if (!top || top->kind != FrameKind::FlatTry)
          return fail("unexpected token: '" + std::string(keyword) + "' without an open 'try'");
        if (top->state == 2) return fail("unexpected token: no handler may follow catch_all");
        top->state = keyword == "catch" ? 1 : 2;
        next();
        if (!check_end_label(top->label)) return false;
        if (keyword == "catch") {
          uint32_t tag;
          if (!parse_index(kTag, tag)) return false;
          out.u8(0x07);
          out.u32(tag);
        } else {
          out.u8(0x19);
        }
        continue;
      }
      if (keyword == "delegate") {
        if (!top || top->kind != FrameKind::FlatTry || top->state != 0)
          return fail("unexpected token: 'delegate' without an open 'try'");
        next();
        labels_.pop_back();
        frames_.pop_back();
        uint32_t depth;
        if (!resolve_label(depth)) return false;
        out.u8(0x18);
        out.u32(depth);
        continue;
      }
      next();
      if (!parse_plain_keyword(keyword, out)) return false;
      continue;
    }
    if (token.kind == Tok::Eof) return fail_expected("')'");
    return fail_expected("an instruction");
  }
  (void)label_base;
}

bool ModuleParser::parse_memarg(const OpcodeInfo& info, ByteWriter& out, bool lane) {
  uint32_t memory = 0;
  if (peek_is(Tok::Id)) {
    if (!parse_index(kMemory, memory)) return false;
  } else if (peek_nat()) {
    bool is_memory = true;
    if (lane) {
      is_memory = peek_nat(1) ||
                  (peek_is(Tok::Keyword, 1) &&
                   (peek_text(1).starts_with("offset=") || peek_text(1).starts_with("align=")));
    }
    if (is_memory && !parse_index(kMemory, memory)) return false;
  }
  uint64_t offset = 0;
  if (peek_is(Tok::Keyword) && peek_text().starts_with("offset=")) {
    if (number_shape(peek_text().substr(7)) != NumberShape::Nat)
      return fail("unknown operator " + std::string(peek_text().substr(0, 40)) +
                  " (malformed memory offset)");
    if (!parse_u64(peek_text().substr(7), offset)) return fail("i64 constant out of range");
    next();
  }
  uint32_t align_log2 = 0;
  uint32_t natural = info.memory_bytes ? info.memory_bytes : 1;
  while ((1u << align_log2) < natural) ++align_log2;
  if (peek_is(Tok::Keyword) && peek_text().starts_with("align=")) {
    uint64_t align;
    if (number_shape(peek_text().substr(6)) != NumberShape::Nat)
      return fail("unknown operator " + std::string(peek_text().substr(0, 40)) +
                  " (malformed alignment)");
    if (!parse_u64(peek_text().substr(6), align)) return fail("i64 constant out of range");
    if (align == 0 || (align & (align - 1)) != 0) return fail("alignment must be a power of two");
    align_log2 = 0;
    while ((uint64_t(1) << align_log2) < align) ++align_log2;
    next();
  }
  if (memory != 0) {
    out.u32(align_log2 | 0x40);
    out.u32(memory);
  } else {
    out.u32(align_log2);
  }
  out.u64(offset);
  return true;
}

bool ModuleParser::parse_v128_const(ByteWriter& out) {
  if (!peek_is(Tok::Keyword)) return fail_expected("a vector shape");
  std::string_view shape = peek_text();
  unsigned lanes, bits;
  bool is_float = false;
  if (shape == "i8x16")
    lanes = 16, bits = 8;
  else if (shape == "i16x8")
    lanes = 8, bits = 16;
  else if (shape == "i32x4")
    lanes = 4, bits = 32;
  else if (shape == "i64x2")
    lanes = 2, bits = 64;
  else if (shape == "f32x4")
    lanes = 4, bits = 32, is_float = true;
  else if (shape == "f64x2")
    lanes = 2, bits = 64, is_float = true;
  else
    return fail_expected("a vector shape");
  next();
  // The lane count is checked before any lane's value, as the spec's parser does.
  unsigned literals = 0;
  while (literals <= lanes && peek_is(Tok::Keyword, literals) &&
         number_shape(peek_text(literals)) != NumberShape::None) {
    ++literals;
  }
  if (literals < lanes && is_unknown_token(s_, peek(literals))) {
    pos_ += literals;
    return fail_expected("a lane literal");
  }
  if (literals != lanes) return fail("wrong number of lane literals");
  for (unsigned i = 0; i < lanes; ++i) {
    std::string_view literal = peek_text();
    std::string message;
    uint64_t value = 0;
    if (is_float) {
      if (bits == 32) {
        uint32_t f;
        if (!parse_f32(literal, f, message)) return fail(message);
        value = f;
      } else if (!parse_f64(literal, value, message)) {
        return fail(message);
      }
    } else if (!parse_int(literal, bits, value, message)) {
      return fail(message);
    }
    next();
    for (unsigned b = 0; b < bits / 8; ++b) out.u8(uint8_t(value >> (8 * b)));
  }
  return true;
}

bool ModuleParser::parse_special(std::string_view mnemonic, ByteWriter& out, bool& handled) {
  handled = true;
  if (mnemonic == "select") {
    // Any `(result ...)` clause, even an empty one, makes it the typed select.
    bool typed = false;
    std::vector<ValType> types;
    while (peek_lparen_keyword("result")) {
      typed = true;
      next();
      next();
      while (!peek_is(Tok::RParen)) {
        ValType type;
        if (!parse_valtype(type)) return false;
        types.push_back(type);
      }
      next();
    }
    if (peek_is(Tok::LParen) && peek_keyword("result", 1)) return fail("unexpected token");
    const char* name = typed ? "select_t" : "select";
    auto op = wasm::lookup_mnemonic(name);
    if (!op) return fail(std::string("unknown operator ") + name);
    emit_op(out, wasm::opcode_info(*op));
    if (typed) {
      out.u32(uint32_t(types.size()));
      for (auto& type : types) write_valtype(out, type);
    }
    return true;
  }
  if (mnemonic == "ref.test" || mnemonic == "ref.cast") {
    // The nullable forms are separate opcodes: the table names them "<op>_null".
    ValType type;
    if (!parse_reftype(type)) return false;
    std::string name(mnemonic);
    if (type.nullable) name += "_null";
    auto op = wasm::lookup_mnemonic(name);
    if (!op) return fail("unknown operator " + name);
    emit_op(out, wasm::opcode_info(*op));
    write_heaptype(out, type.heap);
    return true;
  }
  if (mnemonic == "ref.cast_desc_eq") {
    ValType type;
    if (!parse_reftype(type)) return false;
    out.u8(0xFB);
    out.u32(type.nullable ? 0x24 : 0x23);
    write_heaptype(out, type.heap);
    return true;
  }
  // Table rows that are not text-format mnemonics of their own, and block delimiters that
  // are only valid inside their block.
  if (mnemonic == "select_t" || mnemonic == "ref.test_null" || mnemonic == "ref.cast_null" ||
      mnemonic == "else" || mnemonic == "end" || mnemonic == "catch" || mnemonic == "catch_all" ||
      mnemonic == "delegate" || mnemonic == "then" || mnemonic == "do") {
    return fail_at(peek(-1).offset,
                   "unexpected token: '" + std::string(mnemonic) + "' outside its block");
  }
  handled = false;
  return true;
}

bool ModuleParser::parse_plain_keyword(std::string_view mnemonic, ByteWriter& out) {
  bool handled;
  if (!parse_special(mnemonic, out, handled)) return false;
  if (handled) return true;
  auto op = wasm::lookup_mnemonic(mnemonic);
  if (!op) {
    for (const ExtraOp& extra : kExtraOps) {
      if (extra.mnemonic != mnemonic) continue;
      OpcodeInfo info{};
      info.mnemonic = extra.mnemonic;
      info.prefix = 0xFB;
      info.code = extra.code;
      info.imm = extra.imm;
      emit_op(out, info);
      return parse_immediates(info, out);
    }
    if (is_syntax_keyword(mnemonic)) {
      return fail_at(peek(-1).offset,
                     "unexpected token: '" + std::string(mnemonic) + "' is not an instruction");
    }
    return fail_at(peek(-1).offset, "unknown operator " + std::string(mnemonic.substr(0, 40)));
  }
  const OpcodeInfo& info = wasm::opcode_info(*op);
  emit_op(out, info);
  return parse_immediates(info, out);
}

bool ModuleParser::parse_immediates(const OpcodeInfo& info, ByteWriter& out) {
  uint32_t index = 0, second = 0;
  std::string message;
  switch (info.imm) {
    case ImmKind::None:
      return true;
    case ImmKind::BlockType:
    case ImmKind::TryTable:
      return fail("unexpected block instruction");
    case ImmKind::Label:
      if (!resolve_label(index)) return false;
      out.u32(index);
      return true;
    case ImmKind::BrTable: {
      uint32_t count = 0;
      ByteWriter targets;
      while (peek_index()) {
        if (!resolve_label(index)) return false;
        targets.u32(index);
        ++count;
      }
      if (count == 0) return fail_expected("a label");
      out.u32(count - 1);
      out.append(targets.bytes);
      return true;
    }
    case ImmKind::Func:
      if (!parse_index(kFunc, index)) return false;
      out.u32(index);
      return true;
    case ImmKind::CallIndirect: {
      uint32_t table = 0;
      if (peek_index() && !parse_index(kTable, table)) return false;
      uint32_t type_index;
      if (!parse_typeuse(type_index, nullptr, false)) return false;
      out.u32(type_index);
      out.u32(table);
      return true;
    }
    case ImmKind::Type:
      if (!parse_index(kType, index)) return false;
      out.u32(index);
      return true;
    case ImmKind::Local:
      if (!resolve_local(index)) return false;
      out.u32(index);
      return true;
    case ImmKind::Global:
      if (!parse_index(kGlobal, index)) return false;
      out.u32(index);
      return true;
    case ImmKind::Table:
      if (!parse_optional_index(kTable, index)) return false;
      out.u32(index);
      return true;
    case ImmKind::Memory:
      if (!parse_optional_index(kMemory, index)) return false;
      out.u32(index);
      return true;
    case ImmKind::MemArg:
      return parse_memarg(info, out, false);
    case ImmKind::MemArgLane: {
      if (!parse_memarg(info, out, true)) return false;
      uint64_t lane;
      if (!parse_lane_index(lane)) return false;
      out.u8(uint8_t(lane));
      return true;
    }
    case ImmKind::Lane: {
      uint64_t lane;
      if (!parse_lane_index(lane)) return false;
      out.u8(uint8_t(lane));
      return true;
    }
    case ImmKind::Shuffle:
      for (int i = 0; i < 16; ++i) {
        uint64_t lane;
        if (!peek_is(Tok::Keyword)) return fail("invalid lane length");
        // The spec reads shuffle lanes as numbers and then range-checks them as u8, so any
        // number that is not a nat below 256 (-1, 1.5, inf) is out of range.
        if (!peek_number()) return fail_expected("a lane index");
        if (number_shape(peek_text()) != NumberShape::Nat || !parse_u64(peek_text(), lane) ||
            lane > 255)
          return fail("i8 constant out of range");
        next();
        out.u8(uint8_t(lane));
      }
      if (peek_is(Tok::Keyword) && looks_numeric(peek_text())) return fail("invalid lane length");
      return true;
    case ImmKind::I32: {
      uint64_t value;
      if (!peek_integer()) return fail_expected("an i32 literal");
      if (!parse_int(peek_text(), 32, value, message)) return fail(message);
      next();
      out.s32(int32_t(uint32_t(value)));
      return true;
    }
    case ImmKind::I64: {
      uint64_t value;
      if (!peek_integer()) return fail_expected("an i64 literal");
      if (!parse_int(peek_text(), 64, value, message)) return fail(message);
      next();
      out.s64(int64_t(value));
      return true;
    }
    case ImmKind::F32: {
      uint32_t bits;
      if (!peek_number()) return fail_expected("an f32 literal");
      if (!parse_f32(peek_text(), bits, message)) return fail(message);
      next();
      out.fixed32(bits);
      return true;
    }
    case ImmKind::F64: {
      uint64_t bits;
      if (!peek_number()) return fail_expected("an f64 literal");
      if (!parse_f64(peek_text(), bits, message)) return fail(message);
      next();
      out.fixed64(bits);
      return true;
    }
    case ImmKind::V128:
      return parse_v128_const(out);
    case ImmKind::SelectTypes: {
      std::vector<ValType> types;
      while (peek_lparen_keyword("result")) {
        next();
        next();
        while (!peek_is(Tok::RParen)) {
          ValType type;
          if (!parse_valtype(type)) return false;
          types.push_back(type);
        }
        next();
      }
      out.u32(uint32_t(types.size()));
      for (auto& type : types) write_valtype(out, type);
      return true;
    }
    case ImmKind::HeapType: {
      HeapType heap;
      if (!parse_heaptype(heap)) return false;
      write_heaptype(out, heap);
      return true;
    }
    case ImmKind::Tag:
      if (!parse_index(kTag, index)) return false;
      out.u32(index);
      return true;
    case ImmKind::Data:
      uses_data_count_ = true;
      if (!parse_index(kData, index)) return false;
      out.u32(index);
      return true;
    case ImmKind::Elem:
      if (!parse_index(kElem, index)) return false;
      out.u32(index);
      return true;
    case ImmKind::MemoryInit:
      uses_data_count_ = true;
      if (peek_index(1)) {
        if (!parse_index(kMemory, second)) return false;
      }
      if (!parse_index(kData, index)) return false;
      out.u32(index);
      out.u32(second);
      return true;
    case ImmKind::MemoryCopy:
      if (peek_index()) {
        if (!parse_index(kMemory, index) || !parse_index(kMemory, second)) return false;
      }
      out.u32(index);
      out.u32(second);
      return true;
    case ImmKind::TableInit:
      if (peek_index(1)) {
        if (!parse_index(kTable, second)) return false;
      }
      if (!parse_index(kElem, index)) return false;
      out.u32(index);
      out.u32(second);
      return true;
    case ImmKind::TableCopy:
      if (peek_index()) {
        if (!parse_index(kTable, index) || !parse_index(kTable, second)) return false;
      }
      out.u32(index);
      out.u32(second);
      return true;
    case ImmKind::StructField:
      if (!parse_index(kType, index) || !parse_field_index(index, second)) return false;
      out.u32(index);
      out.u32(second);
      return true;
    case ImmKind::ArrayNewFixed:
      if (!parse_index(kType, index) || !parse_u32(second)) return false;
      out.u32(index);
      out.u32(second);
      return true;
    case ImmKind::ArrayData:
      uses_data_count_ = true;
      if (!parse_index(kType, index) || !parse_index(kData, second)) return false;
      out.u32(index);
      out.u32(second);
      return true;
    case ImmKind::ArrayElem:
      if (!parse_index(kType, index) || !parse_index(kElem, second)) return false;
      out.u32(index);
      out.u32(second);
      return true;
    case ImmKind::ArrayCopy:
      if (!parse_index(kType, index) || !parse_index(kType, second)) return false;
      out.u32(index);
      out.u32(second);
      return true;
    case ImmKind::BrOnCast: {
      if (!resolve_label(index)) return false;
      ValType from, to;
      if (!parse_reftype(from) || !parse_reftype(to)) return false;
      out.u8(uint8_t((from.nullable ? 1 : 0) | (to.nullable ? 2 : 0)));
      out.u32(index);
      write_heaptype(out, from.heap);
      write_heaptype(out, to.heap);
      return true;
    }
    case ImmKind::AtomicFence:
      out.u8(0);
      return true;
  }
  return fail("unsupported immediate kind");
}

// ---------------------------------------------------------------------------------------------
// @custom annotations and the final encoding

bool ModuleParser::parse_custom_annotation(const Annotation& annotation) {
  const std::vector<Token>& body = annotation.body;
  auto fail_annot = [&](uint32_t offset, std::string_view message) {
    return fail_at(offset, "@custom annotation: " + std::string(message));
  };
  if (body.empty() || body[0].kind != Tok::String)
    return fail_annot(body.empty() ? annotation.offset : body[0].offset, "missing section name");
  CustomSection section;
  if (!string_value(body[0], section.name)) return false;
  if (!is_valid_utf8(section.name)) return fail_annot(body[0].offset, "malformed UTF-8 encoding");
  size_t i = 1;
  // Default placement: after the last section.
  // Slots: 0 is before the first section, 2k+1 just before section k, 2k+2 just after it.
  section.slot = 2 * int(std::size(kSectionOrder));
  if (i < body.size() && body[i].kind == Tok::LParen) {
    if (i + 1 >= body.size() || body[i + 1].kind != Tok::Keyword)
      return fail_annot(body[i].offset, "malformed placement");
    std::string_view where = text(body[i + 1]);
    if (where != "before" && where != "after")
      return fail_annot(body[i + 1].offset, "malformed placement");
    if (i + 2 >= body.size() || body[i + 2].kind != Tok::Keyword)
      return fail_annot(body[i + 1].offset, "malformed section kind");
    if (i + 3 >= body.size()) return fail_annot(body[i + 2].offset, "malformed placement");
    std::string_view kind = text(body[i + 2]);
    static constexpr std::pair<std::string_view, uint8_t> kKinds[] = {
        {"type", 1},   {"import", 2},     {"func", 3},  {"table", 4}, {"memory", 5},
        {"global", 6}, {"export", 7},     {"start", 8}, {"elem", 9},  {"code", 10},
        {"data", 11},  {"datacount", 12}, {"tag", 13}};
    int slot = -1;
    if (kind == "first")
      slot = 0;
    else if (kind == "last")
      slot = 2 * int(std::size(kSectionOrder));
    else {
      for (auto& [name, id] : kKinds) {
        if (kind == name) {
          for (size_t k = 0; k < std::size(kSectionOrder); ++k)
            if (kSectionOrder[k] == id) slot = 2 * int(k) + 1 + (where == "after" ? 1 : 0);
        }
      }
      if (slot < 0) return fail_annot(body[i + 2].offset, "malformed section kind");
    }
    if (body[i + 3].kind != Tok::RParen)
      return fail_annot(body[i + 3].offset, "malformed placement");
    section.slot = slot;
    i += 4;
  }
  for (; i < body.size(); ++i) {
    if (body[i].kind != Tok::String) return fail_annot(body[i].offset, "unexpected token");
    std::string piece;
    if (!string_value(body[i], piece)) return false;
    section.payload += piece;
  }
  customs_.push_back(std::move(section));
  return true;
}

void ModuleParser::write_names(ByteWriter& out) {
  ByteWriter names;
  auto subsection = [&](uint8_t id, const ByteWriter& content) {
    names.u8(id);
    names.u32(uint32_t(content.size()));
    names.append(content.bytes);
  };
  std::string_view module_name =
      has_annotated_module_name_ ? std::string_view(annotated_module_name_) : module_name_;
  if (!module_name.empty()) {
    ByteWriter content;
    content.name(module_name);
    subsection(0, content);
  }
  auto name_map = [&](Space space, uint8_t id) {
    const IndexSpace& sp = spaces_[space];
    ByteWriter content;
    uint32_t count = 0;
    for (uint32_t i = 0; i < sp.names.size(); ++i)
      if (!sp.names[i].empty()) ++count;
    if (space == kFunc) {
      for (auto& [index, name] : annotated_func_names_) {
        if (index < sp.names.size() && sp.names[index].empty()) ++count;
      }
    }
    if (count == 0) return;
    content.u32(count);
    for (uint32_t i = 0; i < sp.names.size(); ++i) {
      std::string_view name = sp.names[i];
      if (space == kFunc) {
        for (auto& [index, annotated] : annotated_func_names_)
          if (index == i) name = annotated;
      }
      if (name.empty()) continue;
      content.u32(i);
      content.name(name);
    }
    subsection(id, content);
  };
  name_map(kFunc, 1);
  if (!local_names_.empty()) {
    std::sort(local_names_.begin(), local_names_.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    ByteWriter content;
    content.u32(uint32_t(local_names_.size()));
    for (auto& [func, locals] : local_names_) {
      content.u32(func);
      content.u32(uint32_t(locals.size()));
      for (auto& [index, name] : locals) {
        content.u32(index);
        content.name(name);
      }
    }
    subsection(2, content);
  }
  name_map(kType, 4);
  name_map(kTable, 5);
  name_map(kMemory, 6);
  name_map(kGlobal, 7);
  name_map(kElem, 8);
  name_map(kData, 9);
  {
    ByteWriter content;
    uint32_t count = 0;
    for (uint32_t t = 0; t < field_names_.size(); ++t)
      if (!field_names_[t].empty()) ++count;
    if (count) {
      content.u32(count);
      for (uint32_t t = 0; t < field_names_.size(); ++t) {
        if (field_names_[t].empty()) continue;
        content.u32(t);
        content.u32(uint32_t(field_names_[t].size()));
        for (auto& [name, index] : field_names_[t]) {
          content.u32(index);
          content.name(name);
        }
      }
      subsection(10, content);
    }
  }
  name_map(kTag, 11);
  if (names.size() == 0) return;
  out.u8(0);
  ByteWriter section;
  section.name("name");
  section.append(names.bytes);
  out.u32(uint32_t(section.size()));
  out.append(section.bytes);
}

void ModuleParser::encode(std::vector<uint8_t>& result) {
  ByteWriter out;
  const uint8_t header[] = {0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00};
  out.append(header, sizeof header);
  auto emit_customs = [&](int slot) {
    for (const CustomSection& custom : customs_) {
      if (custom.slot != slot) continue;
      ByteWriter content;
      content.name(custom.name);
      content.append(reinterpret_cast<const uint8_t*>(custom.payload.data()),
                     custom.payload.size());
      out.u8(0);
      out.u32(uint32_t(content.size()));
      out.append(content.bytes);
    }
  };
  auto section = [&](uint8_t id, uint32_t count, const ByteWriter& content) {
    out.u8(id);
    ByteWriter sized;
    sized.u32(count);
    sized.append(content.bytes);
    out.u32(uint32_t(sized.size()));
    out.append(sized.bytes);
  };
  // Types.
  ByteWriter types;
  for (const RecInfo& rec : recs_) {
    if (rec.explicit_rec) {
      types.u8(0x4E);
      types.u32(rec.count);
    }
    for (uint32_t i = rec.first; i < rec.first + rec.count; ++i) {
      const SubType& sub = types_[i];
      if (!sub.final_ || sub.supertype) {
        types.u8(sub.final_ ? 0x4F : 0x50);
        types.u32(sub.supertype ? 1 : 0);
        if (sub.supertype) types.u32(*sub.supertype);
      }
      if (i < describes_.size() && describes_[i]) {
        types.u8(0x4C);
        types.u32(*describes_[i]);
      }
      if (i < descriptor_.size() && descriptor_[i]) {
        types.u8(0x4D);
        types.u32(*descriptor_[i]);
      }
      types.u8(uint8_t(sub.kind));
      switch (sub.kind) {
        case CompositeKind::Func:
          types.u32(uint32_t(sub.func.params.size()));
          for (auto& t : sub.func.params) write_valtype(types, t);
          types.u32(uint32_t(sub.func.results.size()));
          for (auto& t : sub.func.results) write_valtype(types, t);
          break;
        case CompositeKind::Struct:
          types.u32(uint32_t(sub.struct_.fields.size()));
          for (auto& f : sub.struct_.fields) write_fieldtype(types, f);
          break;
        case CompositeKind::Array:
          write_fieldtype(types, sub.array.element);
          break;
      }
    }
  }
  emit_customs(0);
  for (size_t k = 0; k < std::size(kSectionOrder); ++k) {
    emit_customs(int(2 * k + 1));
    switch (kSectionOrder[k]) {
      case 1:
        if (!recs_.empty()) section(1, uint32_t(recs_.size()), types);
        break;
      case 2:
        if (import_count_) section(2, import_count_, imports_);
        break;
      case 3:
        if (func_count_) section(3, func_count_, funcs_);
        break;
      case 4:
        if (table_count_) section(4, table_count_, tables_);
        break;
      case 5:
        if (memory_count_) section(5, memory_count_, memories_);
        break;
      case 13:
        if (tag_count_) section(13, tag_count_, tags_);
        break;
      case 6:
        if (global_count_) section(6, global_count_, globals_);
        break;
      case 7:
        if (export_count_) section(7, export_count_, exports_);
        break;
      case 8:
        if (start_) {
          ByteWriter content;
          content.u32(*start_);
          out.u8(8);
          out.u32(uint32_t(content.size()));
          out.append(content.bytes);
        }
        break;
      case 9:
        if (elem_count_) section(9, elem_count_, elems_);
        break;
      case 12:
        if (uses_data_count_) {
          ByteWriter content;
          content.u32(data_count_);
          out.u8(12);
          out.u32(uint32_t(content.size()));
          out.append(content.bytes);
        }
        break;
      case 10:
        if (!branch_hints_.empty()) {
          // The branch hint section precedes the code it describes.
          ByteWriter content;
          content.name("metadata.code.branch_hint");
          content.u32(uint32_t(branch_hints_.size()));
          for (const auto& [func, hints] : branch_hints_) {
            content.u32(func);
            content.u32(uint32_t(hints.size()));
            for (auto [offset, value] : hints) {
              content.u32(offset);
              content.u32(1);
              content.u8(value);
            }
          }
          out.u8(0);
          out.u32(uint32_t(content.size()));
          out.append(content.bytes);
        }
        if (code_count_) section(10, code_count_, code_);
        break;
      case 11:
        if (data_count_) section(11, data_count_, datas_);
        break;
    }
    emit_customs(int(2 * k + 2));
  }
  write_names(out);
  result = std::move(out.bytes);
}

bool ModuleParser::take_branch_hint(size_t index, int16_t& hint) {
  hint = -1;
  if (!in_function_) return true;  // left untaken: reported as not in a function
  for (const Annotation& annotation : annotations_from(index)) {
    if (annotation.before_token != index) break;
    if (annotation.kind != Annotation::Kind::BranchHint) continue;
    constexpr std::string_view kWhat = "@metadata.code.branch_hint annotation: ";
    if (hint >= 0) return fail_at(annotation.offset, std::string(kWhat) + "duplicate annotation");
    std::string value;
    if (annotation.body.size() != 1 || annotation.body[0].kind != Tok::String)
      return fail_at(annotation.offset, std::string(kWhat) + "expected one string");
    if (!string_value(annotation.body[0], value)) return false;
    if (value.size() != 1 || uint8_t(value[0]) > 1)
      return fail_at(annotation.offset,
                     std::string(kWhat) + "malformed hint, expected \"\\00\" or \"\\01\"");
    hint = int16_t(value[0]);
    hint_taken_[size_t(&annotation - s_.annotations.data())] = true;
  }
  return true;
}

bool ModuleParser::check_annotation_placement(const Annotation& annotation, size_t end) {
  const size_t at = annotation.before_token;
  if (annotation.kind == Annotation::Kind::Custom) {
    // Between module fields only: before one, or before the module's closing `)`.
    if (at == end || std::binary_search(field_starts_.begin(), field_starts_.end(), at))
      return true;
    return fail_at(annotation.offset, "misplaced @custom annotation");
  }
  if (annotation.kind == Annotation::Kind::Name) {
    // Right after a binder: `(module $id?`, `(func $id?`, `(local $id?`, ...
    static constexpr std::string_view kBinders[] = {
        "block",  "data",   "elem",  "field", "func", "global",    "if",  "local", "loop",
        "memory", "module", "param", "table", "tag",  "try_table", "try", "type"};
    size_t keyword = at;
    if (keyword > 0 && toks_[keyword - 1].kind == Tok::Id) --keyword;
    const bool after_binder = keyword >= 2 && toks_[keyword - 1].kind == Tok::Keyword &&
                              toks_[keyword - 2].kind == Tok::LParen &&
                              std::find(std::begin(kBinders), std::end(kBinders),
                                        text(toks_[keyword - 1])) != std::end(kBinders);
    if (at == module_begin_ || after_binder) return true;
    return fail_at(annotation.offset, "misplaced @name annotation");
  }
  return true;
}

bool ModuleParser::run(size_t begin, bool bare, std::string_view module_id, size_t& end,
                       std::vector<uint8_t>& out) {
  module_name_ = module_id;
  if (!scan_fields(begin, bare, end)) return false;
  module_begin_ = begin;
  module_end_ = end;
  hint_taken_.assign(s_.annotations.size(), false);
  for (const Annotation& annotation : annotations_from(begin)) {
    if (annotation.before_token > end) break;
    if (!check_annotation_placement(annotation, end)) return false;
    if (annotation.kind == Annotation::Kind::Custom) {
      if (!parse_custom_annotation(annotation)) return false;
    } else if (annotation.before_token == begin && annotation.body.size() == 1 &&
               annotation.body[0].kind == Tok::String) {
      if (has_annotated_module_name_)
        return fail_at(annotation.offset, "@name annotation: multiple module names");
      if (!string_value(annotation.body[0], annotated_module_name_)) return false;
      has_annotated_module_name_ = true;
    }
  }
  if (!parse_types()) return false;
  for (size_t start : field_starts_) {
    pos_ = start;
    if (!parse_field()) return false;
  }
  for (const Annotation& annotation : annotations_from(begin)) {
    if (annotation.before_token > end) break;
    if (annotation.kind == Annotation::Kind::BranchHint &&
        !hint_taken_[size_t(&annotation - s_.annotations.data())]) {
      return fail_at(annotation.offset, "@metadata.code.branch_hint annotation: not in a function");
    }
  }
  encode(out);
  return true;
}

}  // namespace

Result<std::vector<uint8_t>> encode_module_fields(const TokenStream& stream, size_t begin,
                                                  bool bare, std::string_view module_id,
                                                  size_t& end, const wasm::Features& features) {
  ModuleParser parser(stream, features);
  std::vector<uint8_t> out;
  if (!parser.run(begin, bare, module_id, end, out)) {
    // The spec's lexer refuses an unknown token as soon as the parser reaches it, so a token
    // the grammar cannot know, at or before the point of failure (or just after a `(`, which
    // the parser looks past), is the error to report.
    const std::vector<Token>& toks = stream.tokens;
    size_t limit = std::min(parser.failed_index(), toks.size() - 1);
    if (toks[limit].kind == Tok::LParen && limit + 1 < toks.size()) ++limit;
    for (size_t i = begin; i <= limit; ++i) {
      if (is_unknown_token(stream, toks[i])) {
        return stream.error_at(
            toks[i].offset, "unknown operator " + std::string(stream.text(toks[i]).substr(0, 40)));
      }
    }
    return parser.error();
  }
  return out;
}

Result<std::vector<uint8_t>> encode_source(std::string_view source, std::string_view file,
                                           int quote_depth, const wasm::Features& features) {
  auto tokens = tokenize(source, file);
  if (!tokens) return std::move(tokens).err();
  const TokenStream& stream = tokens.ok();
  const auto& toks = stream.tokens;
  // `(module $id? ...)` or bare fields.
  if (toks.size() >= 2 && toks[0].kind == Tok::LParen && toks[1].kind == Tok::Keyword &&
      stream.text(toks[1]) == "module") {
    size_t pos = 2;
    std::string_view id;
    std::string quoted_id;
    if (toks[pos].kind == Tok::Id) {
      id = stream.text(toks[pos]).substr(1);
      if (id.size() >= 2 && id.front() == '"') {
        std::string message;
        if (!decode_string(id, quoted_id, message))
          return stream.error_at(toks[pos].offset, message);
        id = quoted_id;
      }
      ++pos;
    }
    if (toks[pos].kind == Tok::Keyword &&
        (stream.text(toks[pos]) == "binary" || stream.text(toks[pos]) == "quote")) {
      bool binary = stream.text(toks[pos]) == "binary";
      ++pos;
      std::string content, piece, message;
      while (toks[pos].kind == Tok::String) {
        if (!decode_string(stream.text(toks[pos]), piece, message))
          return stream.error_at(toks[pos].offset, message);
        content += piece;
        ++pos;
      }
      if (toks[pos].kind != Tok::RParen || toks[pos + 1].kind != Tok::Eof)
        return stream.error_at(toks[pos].offset, "unexpected token: expected a string or ')'");
      if (binary) return std::vector<uint8_t>(content.begin(), content.end());
      if (quote_depth >= 4)
        return stream.error_at(toks[2].offset, "module quote nested too deeply");
      return encode_source(content, file, quote_depth + 1, features);
    }
    size_t end = 0;
    auto result = encode_module_fields(stream, pos, false, id, end, features);
    if (!result) return result;
    if (toks[end + 1].kind != Tok::Eof)
      return stream.error_at(toks[end + 1].offset, "unexpected token after the module");
    return result;
  }
  size_t end = 0;
  return encode_module_fields(stream, 0, true, {}, end, features);
}

}  // namespace kiln::text
