// kiln::wasm::ModuleInfo: everything the binary decoder reads out of a module, except the
// function bodies, which stay byte ranges into the module's bytes until the compiler reads them.
// Indices are module-local (types index `types`, functions include imports first, ...).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace kiln::wasm {

// A byte range [offset, offset + size) inside the module's bytes.
struct ByteRange {
  uint32_t offset = 0;
  uint32_t size = 0;
  uint32_t end() const { return offset + size; }
};

// Abstract heap types, plus `Concrete` for a type index. The values are the binary encodings
// of the abstract heap types (negative s33 as a byte), so the decoder can map them directly.
enum class HeapKind : uint8_t {
  Exn = 0x69,
  NoExn = 0x74,
  Func = 0x70,
  NoFunc = 0x73,
  Extern = 0x6F,
  NoExtern = 0x72,
  Any = 0x6E,
  Eq = 0x6D,
  I31 = 0x6C,
  Struct = 0x6B,
  Array = 0x6A,
  None = 0x71,
  Concrete = 0x00,  // `index` names a type of the module (before canonicalisation)
  Bottom = 0x01,    // the validator's bottom heap type; never in a module
};

struct HeapType {
  HeapKind kind = HeapKind::Func;
  uint32_t index = 0;  // type index when kind == Concrete
  friend bool operator==(const HeapType&, const HeapType&) = default;
};

// The text name of a heap type: "func", "any", ...; a concrete type's index; "bot".
std::string heap_type_name(const HeapType& heap);

// Value types. Reference types carry nullability and a heap type.
enum class ValKind : uint8_t {
  I32 = 0x7F,
  I64 = 0x7E,
  F32 = 0x7D,
  F64 = 0x7C,
  V128 = 0x7B,
  Ref = 0x64,     // (ref null? ht): nullable says which
  Bottom = 0x00,  // the validator's unknown type on a polymorphic stack; never in a module
};

struct ValType {
  ValKind kind = ValKind::I32;
  bool nullable = false;  // only for Ref
  HeapType heap{};        // only for Ref

  static constexpr ValType i32() { return {ValKind::I32}; }
  static constexpr ValType i64() { return {ValKind::I64}; }
  static constexpr ValType f32() { return {ValKind::F32}; }
  static constexpr ValType f64() { return {ValKind::F64}; }
  static constexpr ValType v128() { return {ValKind::V128}; }
  static constexpr ValType ref(HeapType heap, bool nullable) {
    return {ValKind::Ref, nullable, heap};
  }
  static constexpr ValType funcref() { return ref({HeapKind::Func, 0}, true); }
  static constexpr ValType externref() { return ref({HeapKind::Extern, 0}, true); }
  static constexpr ValType exnref() { return ref({HeapKind::Exn, 0}, true); }
  bool is_ref() const { return kind == ValKind::Ref; }
  friend bool operator==(const ValType&, const ValType&) = default;
};

// The text format's name of a value type: the shorthand for nullable abstract references
// (funcref, nullref, ...), otherwise (ref null? HEAP); "bot" for the validator's bottom type.
std::string val_type_name(const ValType& type);

// Field storage: a value type or a packed i8/i16.
enum class PackedKind : uint8_t { None = 0, I8 = 0x78, I16 = 0x77 };

struct FieldType {
  ValType type{};  // meaningful when packed == None
  PackedKind packed = PackedKind::None;
  bool mutable_ = false;
  friend bool operator==(const FieldType&, const FieldType&) = default;
};

struct FuncType {
  std::vector<ValType> params;
  std::vector<ValType> results;
  friend bool operator==(const FuncType&, const FuncType&) = default;
};

struct StructType {
  std::vector<FieldType> fields;
  friend bool operator==(const StructType&, const StructType&) = default;
};

struct ArrayType {
  FieldType element;
  friend bool operator==(const ArrayType&, const ArrayType&) = default;
};

enum class CompositeKind : uint8_t { Func = 0x60, Struct = 0x5F, Array = 0x5E };

// One entry of the type section: a sub type (final or not, with at most one supertype in
// WebAssembly 3.0) over a composite type. Types without `sub` are final with no supertype.
struct SubType {
  bool final_ = true;
  std::optional<uint32_t> supertype;  // type index
  CompositeKind kind = CompositeKind::Func;
  FuncType func;           // kind == Func
  StructType struct_;      // kind == Struct
  ArrayType array;         // kind == Array
  uint32_t rec_group = 0;  // index into ModuleInfo::rec_groups
};

// A recursion group: types [first, first + count) of the type section.
struct RecGroup {
  uint32_t first = 0;
  uint32_t count = 0;
};

struct Limits {
  uint64_t min = 0;
  std::optional<uint64_t> max;
};

enum class IndexType : uint8_t { I32, I64 };

struct TableType {
  ValType element = ValType::funcref();
  Limits limits;
  IndexType index_type = IndexType::I32;  // table64 (memory64 proposal)
};

struct MemoryType {
  Limits limits;  // in pages
  IndexType index_type = IndexType::I32;
  bool shared = false;
  uint8_t page_size_log2 = 16;  // custom-page-sizes: 0 (1 byte) or 16 (64 KiB)
};

struct GlobalType {
  ValType type{};
  bool mutable_ = false;
};

struct TagType {
  uint8_t attribute = 0;  // 0 = exception
  uint32_t type_index = 0;
};

enum class ExternKind : uint8_t { Func = 0, Table = 1, Memory = 2, Global = 3, Tag = 4 };

struct Import {
  std::string module;
  std::string name;
  ExternKind kind = ExternKind::Func;
  uint32_t func_type = 0;  // kind == Func: type index
  TableType table;         // kind == Table
  MemoryType memory;       // kind == Memory
  GlobalType global;       // kind == Global
  TagType tag;             // kind == Tag
};

struct Export {
  std::string name;
  ExternKind kind = ExternKind::Func;
  uint32_t index = 0;
};

// A constant expression: its bytes (without the final `end`... included: the range covers
// the operators and the terminating `end`), read again by the validator and the evaluator.
struct ConstExpr {
  ByteRange range;
};

struct Table {
  TableType type;
  std::optional<ConstExpr> init;  // the 0x40 0x00 encoding with an initialiser expression
};

struct Global {
  GlobalType type;
  ConstExpr init;
};

enum class SegmentMode : uint8_t { Active, Passive, Declarative };

struct ElementSegment {
  SegmentMode mode = SegmentMode::Passive;
  uint32_t table = 0;  // Active only
  ConstExpr offset;    // Active only
  ValType type = ValType::funcref();
  // Exactly one of these is used: function indices (the elemkind 0x00 encodings) or
  // one constant expression per element (the expression encodings).
  std::vector<uint32_t> func_indices;
  std::vector<ConstExpr> exprs;
  bool uses_exprs = false;
  uint32_t count() const {
    return uses_exprs ? uint32_t(exprs.size()) : uint32_t(func_indices.size());
  }
};

struct DataSegment {
  SegmentMode mode = SegmentMode::Passive;  // never Declarative
  uint32_t memory = 0;                      // Active only
  ConstExpr offset;                         // Active only
  ByteRange bytes;
};

// A local declaration run: `count` locals of `type`.
struct LocalRun {
  uint32_t count = 0;
  ValType type{};
};

// A body's local declarations, one run per group of locals of one type. Nine bodies in ten
// declare at most two runs, so up to two are kept inline: decoding a module then allocates
// nothing per function for them. A vector in use (size(), [], iteration, a span).
class LocalRuns {
 public:
  static constexpr size_t kInline = 2;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const LocalRun* data() const { return size_ <= kInline ? inline_.data() : heap_.data(); }
  const LocalRun* begin() const { return data(); }
  const LocalRun* end() const { return data() + size_; }
  const LocalRun& operator[](size_t i) const { return data()[i]; }
  operator std::span<const LocalRun>() const { return {data(), size_}; }

  void reserve(size_t capacity) {
    if (capacity > kInline) heap_.reserve(capacity);
  }
  void push_back(const LocalRun& run) {
    if (size_ < kInline) {
      inline_[size_] = run;
    } else {
      if (size_ == kInline) heap_.assign(inline_.begin(), inline_.end());
      heap_.push_back(run);
    }
    ++size_;
  }

 private:
  std::array<LocalRun, kInline> inline_{};  // the runs while there are at most kInline
  std::vector<LocalRun> heap_;              // all of them beyond that
  uint32_t size_ = 0;
};

struct FunctionBody {
  ByteRange range;           // the whole body entry after its size (locals + code)
  ByteRange code;            // the operators, ending with the final `end`
  LocalRuns locals;          // declared locals (params are not included)
  uint64_t local_count = 0;  // total declared locals
};

struct CustomSection {
  std::string name;
  ByteRange payload;  // the bytes after the name
};

// The name section, kept for backtraces and the text printer. Maps are sorted by index.
struct NameMap {
  std::vector<std::pair<uint32_t, std::string>> entries;
  const std::string* find(uint32_t index) const;
};
struct IndirectNameMap {
  std::vector<std::pair<uint32_t, NameMap>> entries;
  const NameMap* find(uint32_t index) const;
};
struct Names {
  std::optional<std::string> module;
  NameMap functions;
  IndirectNameMap locals;
  IndirectNameMap labels;
  NameMap types;
  IndirectNameMap fields;
  NameMap tables;
  NameMap memories;
  NameMap globals;
  NameMap elements;
  NameMap data;
  NameMap tags;
};

// Where the module's entries start (byte offsets into the module), so that the validator's
// messages point at the entry that is wrong: one u32 per entry, index spaces in their order
// (imported entities first, at their import). A ModuleInfo assembled by hand may leave them
// empty: `at` then answers 0.
struct EntryOffsets {
  std::vector<uint32_t> types;     // each sub type
  std::vector<uint32_t> funcs;     // the import, or the function section's entry
  std::vector<uint32_t> tables;    // the import, or the table section's entry
  std::vector<uint32_t> memories;  // the import, or the memory section's entry
  std::vector<uint32_t> globals;   // the import, or the global section's entry
  std::vector<uint32_t> tags;      // the import, or the tag section's entry
  std::vector<uint32_t> exports;
  std::vector<uint32_t> elements;
  std::vector<uint32_t> data;
  uint32_t start = 0;       // the start section's function index
  uint32_t data_count = 0;  // the data count section's count

  static uint32_t at(const std::vector<uint32_t>& offsets, size_t index) {
    return index < offsets.size() ? offsets[index] : 0;
  }
};

struct ModuleInfo {
  std::vector<SubType> types;
  std::vector<RecGroup> rec_groups;
  std::vector<Import> imports;
  // Index spaces: imported entities first, then the module's own.
  uint32_t imported_funcs = 0, imported_tables = 0, imported_memories = 0, imported_globals = 0,
           imported_tags = 0;
  std::vector<uint32_t> func_types;      // type index per function (imports included)
  std::vector<TableType> table_types;    // per table (imports included)
  std::vector<Table> tables;             // defined tables only
  std::vector<MemoryType> memories;      // per memory (imports included)
  std::vector<GlobalType> global_types;  // per global (imports included)
  std::vector<Global> globals;           // defined globals only
  std::vector<TagType> tags;             // per tag (imports included)
  std::vector<Export> exports;
  std::optional<uint32_t> start;
  std::vector<ElementSegment> elements;
  std::optional<uint32_t> data_count;
  std::vector<DataSegment> data;
  std::vector<FunctionBody> bodies;  // defined functions only, in order
  std::vector<CustomSection> customs;
  Names names;
  EntryOffsets offsets;

  uint32_t func_count() const { return uint32_t(func_types.size()); }
  const SubType& type(uint32_t index) const { return types[index]; }
  const FuncType& func_type_of(uint32_t func_index) const {
    return types[func_types[func_index]].func;
  }
};

}  // namespace kiln::wasm
