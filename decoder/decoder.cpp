// The binary decoder: one forward pass over the sections of a module into ModuleInfo.
//
// Hostile input is the normal case here. Every vector length is checked against the bytes
// that remain before anything is allocated (Reader::count), implementation limits follow the
// JS API (the numbers V8 and Wasmtime enforce), nothing recurses on input and every lookup is
// linear. Error messages use the reference interpreter's wording where the spec testsuite
// checks it, so the spec runner can compare them as substrings.
#include "decoder/decoder.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "decoder/operators.hpp"
#include "decoder/reader.hpp"

namespace kiln::wasm {

// --- NameMap lookups (declared in module.hpp) ------------------------------------------------

const std::string* NameMap::find(uint32_t index) const {
  auto it = std::lower_bound(entries.begin(), entries.end(), index,
                             [](const auto& entry, uint32_t key) { return entry.first < key; });
  if (it == entries.end() || it->first != index) return nullptr;
  return &it->second;
}

const NameMap* IndirectNameMap::find(uint32_t index) const {
  auto it = std::lower_bound(entries.begin(), entries.end(), index,
                             [](const auto& entry, uint32_t key) { return entry.first < key; });
  if (it == entries.end() || it->first != index) return nullptr;
  return &it->second;
}

namespace {

// Propagate a failed Result out of the enclosing function, or bind its value.
#define KILN_CONCAT_INNER(a, b) a##b
#define KILN_CONCAT(a, b) KILN_CONCAT_INNER(a, b)
#define ASSIGN_OR_RETURN(lhs, expr) ASSIGN_OR_RETURN_IMPL(KILN_CONCAT(result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp) return std::move(tmp).err();      \
  lhs = std::move(tmp).ok()
#define RETURN_IF_ERROR(expr)                      \
  do {                                             \
    auto status_ = (expr);                         \
    if (!status_) return std::move(status_).err(); \
  } while (0)

// Implementation limits of the JS API (https://webassembly.github.io/spec/js-api/#limits, as of
// the 2024 raise of imports and exports to 1,000,000), which V8 and Wasmtime's wasmparser
// enforce at decode time too. Each error names the limit and its value ("too many imports (at
// most 1000000)"). "Defined" counts leave imports out, as the JS API words them.
constexpr uint64_t kMaxModuleSize = uint64_t(1) << 30;  // 1 GiB
constexpr uint32_t kMaxTypes = 1'000'000;
constexpr uint32_t kMaxRecGroups = 1'000'000;  // the type section's entries
constexpr uint32_t kMaxImports = 1'000'000;
constexpr uint32_t kMaxExports = 1'000'000;
constexpr uint32_t kMaxFunctions = 1'000'000;  // defined
constexpr uint32_t kMaxGlobals = 1'000'000;    // defined
constexpr uint32_t kMaxTags = 1'000'000;       // defined
constexpr uint32_t kMaxDataSegments = 100'000;
constexpr uint32_t kMaxTables = 100'000;  // imported and defined
constexpr uint32_t kMaxMemories = 100;    // imported and defined
// Kiln's own bound on segments (the JS API has none); their items are the JS API's "table
// entries in any table initialization". Table and memory sizes themselves (10,000,000 entries;
// 2^37-1 pages of a 64-bit memory) are limited where tables and memories are created: the spec
// testsuite has valid module definitions with larger ones (table.wast, memory64.wast).
constexpr uint32_t kMaxElementSegments = 10'000'000;
constexpr uint32_t kMaxElementSegmentItems = 10'000'000;
constexpr uint32_t kMaxStructFields = 10'000;
constexpr uint32_t kMaxParams = 1'000;
constexpr uint32_t kMaxResults = 1'000;
constexpr uint64_t kMaxLocals = 50'000;  // declared; the validator adds the parameters
constexpr uint32_t kMaxFunctionBodySize = 7'654'321;

// "too many <what> (at most <limit>)": the start is the wording tests and tools match.
std::string over_limit(const char* what, uint64_t limit) {
  return std::string(what) + " (at most " + std::to_string(limit) + ")";
}

constexpr uint8_t kMaxPageSizeLog2 = 64;

enum SectionId : uint8_t {
  kCustomSection = 0,
  kTypeSection = 1,
  kImportSection = 2,
  kFunctionSection = 3,
  kTableSection = 4,
  kMemorySection = 5,
  kGlobalSection = 6,
  kExportSection = 7,
  kStartSection = 8,
  kElementSection = 9,
  kCodeSection = 10,
  kDataSection = 11,
  kDataCountSection = 12,
  kTagSection = 13,
};
constexpr uint8_t kLastSectionId = kTagSection;

// The position of each non-custom section in the required order (the tag section sits
// between memory and global, data count between element and code).
constexpr uint8_t section_rank(uint8_t id) {
  constexpr uint8_t kRanks[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 11, 6};
  return kRanks[id];
}

// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(const uint8_t* text, size_t size) {
  size_t i = 0;
  while (i < size) {
    if (size - i >= 8) {
      uint64_t word;
      std::memcpy(&word, text + i, 8);
      if (!(word & 0x8080808080808080ull)) {
        i += 8;
        continue;
      }
    }
    uint8_t lead = text[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    uint8_t second_min = 0x80, second_max = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) second_min = 0xA0;  // overlong
      if (lead == 0xED) second_max = 0x9F;  // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) second_min = 0x90;  // overlong
      if (lead == 0xF4) second_max = 0x8F;  // above U+10FFFF
    } else {
      return false;
    }
    if (size - i < length) return false;
    if (text[i + 1] < second_min || text[i + 1] > second_max) return false;
    for (size_t k = 2; k < length; ++k) {
      if ((text[i + k] & 0xC0) != 0x80) return false;
    }
    i += length;
  }
  return true;
}

// Reads a name (a length-prefixed UTF-8 string).
Result<std::string> read_name(Reader& reader) {
  size_t length_offset = reader.offset();
  ASSIGN_OR_RETURN(uint32_t length, reader.u32());
  if (length > reader.remaining()) return reader.error_at("length out of bounds", length_offset);
  size_t start = reader.offset();
  const uint8_t* text = reader.data() + start;
  if (!is_valid_utf8(text, length)) return reader.error_at("malformed UTF-8 encoding", start);
  (void)reader.skip(length);
  return std::string(reinterpret_cast<const char*>(text), length);
}

// Reserves room for `count` more elements, but never more than the bytes left could encode
// (each element takes at least `min_bytes`), so a hostile count cannot cause a large
// allocation even where the element type is much bigger than its encoding.
template <typename T>
void reserve_plausible(std::vector<T>& vector, uint32_t count, const Reader& reader,
                       size_t min_bytes) {
  vector.reserve(vector.size() + std::min<size_t>(count, reader.remaining() / min_bytes + 1));
}

class ModuleDecoder {
 public:
  ModuleDecoder(std::span<const uint8_t> bytes, const Features& features)
      : bytes_(bytes), features_(features) {}

  Result<ModuleInfo> decode();

 private:
  Error error_at(std::string message, size_t offset) const {
    return Error(std::move(message), offset);
  }
  // A proposal that is switched off makes its encodings malformed, naming the proposal.
  Result<void> require(Proposal proposal, std::string_view what, size_t offset) const {
    if (features_.has(proposal)) return {};
    return error_at(std::string(what) + " requires the " + std::string(proposal_name(proposal)) +
                        " proposal, which is disabled",
                    offset);
  }

  Result<void> decode_section(uint8_t id, Reader& reader);
  Result<void> decode_type_section(Reader& reader);
  Result<void> decode_import_section(Reader& reader);
  Result<void> decode_function_section(Reader& reader);
  Result<void> decode_table_section(Reader& reader);
  Result<void> decode_memory_section(Reader& reader);
  Result<void> decode_global_section(Reader& reader);
  Result<void> decode_export_section(Reader& reader);
  Result<void> decode_start_section(Reader& reader);
  Result<void> decode_element_section(Reader& reader);
  Result<void> decode_code_section(Reader& reader);
  Result<void> decode_data_section(Reader& reader);
  Result<void> decode_data_count_section(Reader& reader);
  Result<void> decode_tag_section(Reader& reader);
  Result<void> decode_custom_section(Reader& reader);

  Result<void> read_sub_type(Reader& reader, SubType& out);
  Result<void> read_func_type(Reader& reader, FuncType& out);
  Result<FieldType> read_field_type(Reader& reader);
  Result<HeapType> read_heap_type(Reader& reader);
  Result<ValType> read_val_type(Reader& reader);
  Result<ValType> read_ref_type(Reader& reader);
  Result<ValType> read_abstract_ref(uint8_t code, size_t offset);
  Result<bool> read_mutability(Reader& reader);
  Result<TableType> read_table_type(Reader& reader);
  Result<MemoryType> read_memory_type(Reader& reader);
  Result<GlobalType> read_global_type(Reader& reader);
  Result<TagType> read_tag_type(Reader& reader);
  Result<ConstExpr> read_const_expr(Reader& reader);
  Result<ConstExpr> read_const_expr_bounded(Reader& reader, size_t start);
  Result<void> skip_operators_to_end(Reader& reader, bool else_ends = false);
  Error diagnose_missing_end(const FunctionBody& body);

  std::span<const uint8_t> bytes_;
  const Features& features_;
  ModuleInfo module_;
  std::optional<uint32_t> declared_functions_;  // the function section's count
  bool saw_code_section_ = false;
  size_t code_count_offset_ = 0;
  size_t section_end_ = 0;
  bool saw_data_section_ = false;
};

Result<ModuleInfo> ModuleDecoder::decode() {
  Reader reader(bytes_);
  static constexpr uint8_t kMagic[4] = {0x00, 0x61, 0x73, 0x6D};
  static constexpr uint8_t kVersion[4] = {0x01, 0x00, 0x00, 0x00};
  if (bytes_.size() < 4) return error_at("unexpected end", bytes_.size());
  if (std::memcmp(bytes_.data(), kMagic, 4) != 0) return error_at("magic header not detected", 0);
  if (bytes_.size() < 8) return error_at("unexpected end", bytes_.size());
  if (std::memcmp(bytes_.data() + 4, kVersion, 4) != 0)
    return error_at("unknown binary version", 4);
  reader.seek(8);

  uint8_t last_rank = 0;
  while (!reader.at_end()) {
    size_t section_offset = reader.offset();
    ASSIGN_OR_RETURN(uint8_t id, reader.u8());
    if (id > kLastSectionId) return error_at("malformed section id", section_offset);
    ASSIGN_OR_RETURN(uint32_t size, reader.u32());
    if (size > reader.remaining()) return error_at("length out of bounds", reader.offset());
    size_t begin = reader.offset();
    size_t end = begin + size;
    if (id != kCustomSection) {
      if (section_rank(id) <= last_rank)
        return error_at("unexpected content after last section", section_offset);
      last_rank = section_rank(id);
    }
    // Like the reference interpreter, a section's contents are read up to the end of the
    // module and its size is checked afterwards: which error a malformed section reports
    // then matches the spec testsuite's expectations.
    section_end_ = end;
    Reader section(bytes_, begin, bytes_.size());
    if (auto status = decode_section(id, section); !status) {
      // Running out of a section's bytes is the reference interpreter's "unexpected end of
      // section or function"; its prefix keeps the plain "unexpected end" tests matching.
      Error error = std::move(status).err();
      if (error.message() == "unexpected end")
        return Error("unexpected end of section or function", error.offset().value_or(end));
      return error;
    }
    if (section.offset() != end) return error_at("section size mismatch", section.offset());
    reader.seek(end);
  }

  if (declared_functions_.value_or(0) != module_.bodies.size()) {
    return error_at("function and code section have inconsistent lengths",
                    saw_code_section_ ? code_count_offset_ : bytes_.size());
  }
  if (module_.data_count && *module_.data_count != 0 && !saw_data_section_)
    return error_at("data count and data section have inconsistent lengths", bytes_.size());
  return std::move(module_);
}

Result<void> ModuleDecoder::decode_section(uint8_t id, Reader& reader) {
  switch (id) {
    case kCustomSection:
      return decode_custom_section(reader);
    case kTypeSection:
      return decode_type_section(reader);
    case kImportSection:
      return decode_import_section(reader);
    case kFunctionSection:
      return decode_function_section(reader);
    case kTableSection:
      return decode_table_section(reader);
    case kMemorySection:
      return decode_memory_section(reader);
    case kGlobalSection:
      return decode_global_section(reader);
    case kExportSection:
      return decode_export_section(reader);
    case kStartSection:
      return decode_start_section(reader);
    case kElementSection:
      return decode_element_section(reader);
    case kCodeSection:
      return decode_code_section(reader);
    case kDataSection:
      return decode_data_section(reader);
    case kDataCountSection:
      return decode_data_count_section(reader);
    case kTagSection:
      return decode_tag_section(reader);
  }
  return error_at("malformed section id", reader.offset());
}

// --- Types -----------------------------------------------------------------------------------

Result<ValType> ModuleDecoder::read_abstract_ref(uint8_t code, size_t offset) {
  HeapKind kind;
  Proposal proposal = Proposal::ReferenceTypes;
  switch (code) {
    case 0x70:
      // funcref is the MVP's table element type; as a value type it needs reference types,
      // which read_val_type checks.
      kind = HeapKind::Func;
      proposal = Proposal::Mvp;
      break;
    case 0x6F:
      kind = HeapKind::Extern;
      break;
    case 0x69:
      kind = HeapKind::Exn;
      proposal = Proposal::Exceptions;
      break;
    case 0x74:
      kind = HeapKind::NoExn;
      proposal = Proposal::Exceptions;
      break;
    case 0x73:
    case 0x72:
    case 0x71:
    case 0x6E:
    case 0x6D:
    case 0x6C:
    case 0x6B:
    case 0x6A:
      kind = HeapKind(code);
      proposal = Proposal::Gc;
      break;
    default:
      return error_at("malformed reference type", offset);
  }
  if (!features_.has(proposal)) {
    std::string type = heap_type_name({kind, 0});
    return require(proposal, "the " + type + " reference type", offset).err();
  }
  return ValType::ref({kind, 0}, true);
}

Result<HeapType> ModuleDecoder::read_heap_type(Reader& reader) {
  size_t offset = reader.offset();
  ASSIGN_OR_RETURN(int64_t value, reader.s33());
  if (value >= 0) {
    RETURN_IF_ERROR(require(Proposal::FunctionReferences, "a concrete heap type", offset));
    return HeapType{HeapKind::Concrete, uint32_t(value)};
  }
  // Abstract heap types are single bytes; only type indices use the longer s33 forms.
  if (value < -0x40 || reader.offset() != offset + 1)
    return error_at("malformed heap type", offset);
  auto ref = read_abstract_ref(uint8_t(value & 0x7F), offset);
  if (!ref) {
    if (ref.err().message() == "malformed reference type")
      return error_at("malformed heap type", offset);
    return std::move(ref).err();
  }
  return ref.ok().heap;
}

Result<ValType> ModuleDecoder::read_val_type(Reader& reader) {
  size_t offset = reader.offset();
  ASSIGN_OR_RETURN(uint8_t code, reader.u8());
  switch (code) {
    case 0x7F:
      return ValType::i32();
    case 0x7E:
      return ValType::i64();
    case 0x7D:
      return ValType::f32();
    case 0x7C:
      return ValType::f64();
    case 0x7B:
      RETURN_IF_ERROR(require(Proposal::Simd, "the v128 type", offset));
      return ValType::v128();
    case 0x64:
    case 0x63: {
      RETURN_IF_ERROR(require(Proposal::FunctionReferences, "a (ref ...) type", offset));
      ASSIGN_OR_RETURN(HeapType heap, read_heap_type(reader));
      return ValType::ref(heap, code == 0x63);
    }
    default:
      if (code >= 0x69 && code <= 0x74) {
        if (code == 0x70)
          RETURN_IF_ERROR(require(Proposal::ReferenceTypes, "funcref as a value type", offset));
        auto ref = read_abstract_ref(code, offset);
        if (ref || ref.err().message() != "malformed reference type") return ref;
      }
      // The reference interpreter reads value types as s7 LEBs: a continuation bit there
      // is an over-long integer.
      if (code & 0x80) return error_at("integer representation too long", offset);
      return error_at("malformed value type", offset);
  }
}

Result<ValType> ModuleDecoder::read_ref_type(Reader& reader) {
  size_t offset = reader.offset();
  ASSIGN_OR_RETURN(uint8_t code, reader.peek_u8());
  if (code == 0x64 || code == 0x63) return read_val_type(reader);
  (void)reader.u8();
  return read_abstract_ref(code, offset);
}

Result<bool> ModuleDecoder::read_mutability(Reader& reader) {
  size_t offset = reader.offset();
  ASSIGN_OR_RETURN(uint8_t flag, reader.u8());
  if (flag > 1) return error_at("malformed mutability", offset);
  return flag == 1;
}

Result<FieldType> ModuleDecoder::read_field_type(Reader& reader) {
  FieldType field;
  size_t offset = reader.offset();
  ASSIGN_OR_RETURN(uint8_t code, reader.peek_u8());
  if (code == 0x78 || code == 0x77) {
    (void)reader.u8();
    field.packed = PackedKind(code);
  } else {
    auto type = read_val_type(reader);
    if (!type) {
      if (type.err().message() == "malformed value type")
        return error_at("malformed storage type", offset);
      return std::move(type).err();
    }
    field.type = type.ok();
  }
  ASSIGN_OR_RETURN(field.mutable_, read_mutability(reader));
  return field;
}

Result<void> ModuleDecoder::read_func_type(Reader& reader, FuncType& out) {
  size_t offset = reader.offset();
  ASSIGN_OR_RETURN(uint32_t param_count, reader.count());
  if (param_count > kMaxParams)
    return error_at(over_limit("too many parameters", kMaxParams), offset);
  out.params.reserve(param_count);
  for (uint32_t i = 0; i < param_count; ++i) {
    ASSIGN_OR_RETURN(ValType type, read_val_type(reader));
    out.params.push_back(type);
  }
  offset = reader.offset();
  ASSIGN_OR_RETURN(uint32_t result_count, reader.count());
  if (result_count > kMaxResults)
    return error_at(over_limit("too many results", kMaxResults), offset);
  if (result_count > 1)
    RETURN_IF_ERROR(require(Proposal::MultiValue, "more than one result", offset));
  out.results.reserve(result_count);
  for (uint32_t i = 0; i < result_count; ++i) {
    ASSIGN_OR_RETURN(ValType type, read_val_type(reader));
    out.results.push_back(type);
  }
  return {};
}

Result<void> ModuleDecoder::read_sub_type(Reader& reader, SubType& out) {
  size_t offset = reader.offset();
  ASSIGN_OR_RETURN(uint8_t form, reader.u8());
  if (form == 0x50 || form == 0x4F) {
    RETURN_IF_ERROR(require(Proposal::Gc, "a sub type", offset));
    out.final_ = form == 0x4F;
    size_t count_offset = reader.offset();
    ASSIGN_OR_RETURN(uint32_t supertypes, reader.count());
    if (supertypes > 1) return error_at(over_limit("too many supertypes", 1), count_offset);
    if (supertypes == 1) {
      ASSIGN_OR_RETURN(out.supertype, reader.u32());
    }
    offset = reader.offset();
    ASSIGN_OR_RETURN(form, reader.u8());
  }
  switch (form) {
    case 0x60:
      out.kind = CompositeKind::Func;
      return read_func_type(reader, out.func);
    case 0x5F: {
      RETURN_IF_ERROR(require(Proposal::Gc, "a struct type", offset));
      out.kind = CompositeKind::Struct;
      size_t count_offset = reader.offset();
      ASSIGN_OR_RETURN(uint32_t field_count, reader.count(2));
      if (field_count > kMaxStructFields)
        return error_at(over_limit("too many struct fields", kMaxStructFields), count_offset);
      out.struct_.fields.reserve(field_count);
      for (uint32_t i = 0; i < field_count; ++i) {
        ASSIGN_OR_RETURN(FieldType field, read_field_type(reader));
        out.struct_.fields.push_back(field);
      }
      return {};
    }
    case 0x5E: {
      RETURN_IF_ERROR(require(Proposal::Gc, "an array type", offset));
      out.kind = CompositeKind::Array;
      ASSIGN_OR_RETURN(out.array.element, read_field_type(reader));
      return {};
    }
    default:
      if (form & 0x80) return error_at("integer representation too long", offset);
      return error_at("malformed definition type", offset);
  }
}

Result<void> ModuleDecoder::decode_type_section(Reader& reader) {
  size_t count_offset = reader.offset();
  ASSIGN_OR_RETURN(uint32_t entries, reader.count());
  // Each entry is a rec group (a plain type is a group of one); an empty `(rec)` still counts.
  if (entries > kMaxRecGroups)
    return error_at(over_limit("too many rec groups", kMaxRecGroups), count_offset);
  reserve_plausible(module_.types, entries, reader, 3);
  reserve_plausible(module_.rec_groups, entries, reader, 3);
  for (uint32_t entry = 0; entry < entries; ++entry) {
    size_t offset = reader.offset();
    ASSIGN_OR_RETURN(uint8_t form, reader.peek_u8());
    uint32_t group_size = 1;
    if (form == 0x4E) {
      RETURN_IF_ERROR(require(Proposal::Gc, "a rec group", offset));
      (void)reader.u8();
      ASSIGN_OR_RETURN(group_size, reader.count());
    }
    if (module_.types.size() + group_size > kMaxTypes)
      return error_at(over_limit("too many types", kMaxTypes), offset);
    uint32_t group_index = uint32_t(module_.rec_groups.size());
    module_.rec_groups.push_back({uint32_t(module_.types.size()), group_size});
    for (uint32_t i = 0; i < group_size; ++i) {
      module_.offsets.types.push_back(uint32_t(reader.offset()));
      SubType& type = module_.types.emplace_back();
      type.rec_group = group_index;
      RETURN_IF_ERROR(read_sub_type(reader, type));
    }
  }
  return {};
}

// --- Imports and entity types ------------------------------------------------------------------

Result<TableType> ModuleDecoder::read_table_type(Reader& reader) {
  TableType table;
  ASSIGN_OR_RETURN(table.element, read_ref_type(reader));
  size_t offset = reader.offset();
  ASSIGN_OR_RETURN(uint8_t flags, reader.u8());
  if (flags & ~0x05) return error_at("malformed limits flags", offset);
  if (flags & 0x04) {
    RETURN_IF_ERROR(require(Proposal::Memory64, "a 64-bit table", offset));
    table.index_type = IndexType::I64;
  }
  // WebAssembly 3.0 encodes limits as u64 for both index types; the validator bounds them.
  ASSIGN_OR_RETURN(table.limits.min, reader.u64());
  if (flags & 0x01) {
    ASSIGN_OR_RETURN(table.limits.max, reader.u64());
  }
  return table;
}

Result<MemoryType> ModuleDecoder::read_memory_type(Reader& reader) {
  MemoryType memory;
  size_t offset = reader.offset();
  ASSIGN_OR_RETURN(uint8_t flags, reader.u8());
  // Bit 0: a maximum follows; bit 1: shared (threads); bit 2: 64-bit (memory64); bit 3: a page
  // size follows (custom-page-sizes). WebAssembly 3.0 itself defines no bit 3: without that
  // proposal the byte is no flags value at all (the core testsuite's wording), and the message
  // also names the proposal that would give it a meaning.
  constexpr uint8_t kPageSizeFlag = 0x08;
  if (flags & ~0x0F) return error_at("malformed limits flags", offset);
  if ((flags & kPageSizeFlag) && !features_.has(Proposal::CustomPageSizes))
    return error_at(
        "malformed limits flags: a custom page size requires the custom-page-sizes proposal",
        offset);
  if (flags & 0x02) {
    RETURN_IF_ERROR(require(Proposal::Threads, "a shared memory", offset));
    memory.shared = true;
  }
  if (flags & 0x04) {
    RETURN_IF_ERROR(require(Proposal::Memory64, "a 64-bit memory", offset));
    memory.index_type = IndexType::I64;
  }
  ASSIGN_OR_RETURN(memory.limits.min, reader.u64());
  if (flags & 0x01) {
    ASSIGN_OR_RETURN(memory.limits.max, reader.u64());
  }
  if (flags & kPageSizeFlag) {
    size_t log2_offset = reader.offset();
    ASSIGN_OR_RETURN(uint32_t log2, reader.u32());
    // Only 0 and 16 are valid (the validator says so); beyond 64 it is not even a size.
    if (log2 > kMaxPageSizeLog2) return error_at("invalid custom page size", log2_offset);
    memory.page_size_log2 = uint8_t(log2);
  }
  return memory;
}

Result<GlobalType> ModuleDecoder::read_global_type(Reader& reader) {
  GlobalType global;
  ASSIGN_OR_RETURN(global.type, read_val_type(reader));
  ASSIGN_OR_RETURN(global.mutable_, read_mutability(reader));
  return global;
}

Result<TagType> ModuleDecoder::read_tag_type(Reader& reader) {
  TagType tag;
  size_t offset = reader.offset();
  ASSIGN_OR_RETURN(tag.attribute, reader.u8());
  // The only attribute is 0 (exception); the reference interpreter words it so.
  if (tag.attribute != 0) return error_at("zero byte expected", offset);
  ASSIGN_OR_RETURN(tag.type_index, reader.u32());
  return tag;
}

Result<void> ModuleDecoder::decode_import_section(Reader& reader) {
  size_t count_offset = reader.offset();
  ASSIGN_OR_RETURN(uint32_t count, reader.count());
  if (count > kMaxImports)
    return error_at(over_limit("too many imports", kMaxImports), count_offset);
  reserve_plausible(module_.imports, count, reader, 4);
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t import_offset = uint32_t(reader.offset());
    Import& import = module_.imports.emplace_back();
    ASSIGN_OR_RETURN(import.module, read_name(reader));
    ASSIGN_OR_RETURN(import.name, read_name(reader));
    size_t kind_offset = reader.offset();
    ASSIGN_OR_RETURN(uint8_t kind, reader.u8());
    switch (kind) {
      case 0x00: {
        import.kind = ExternKind::Func;
        ASSIGN_OR_RETURN(import.func_type, reader.u32());
        module_.func_types.push_back(import.func_type);
        module_.offsets.funcs.push_back(import_offset);
        ++module_.imported_funcs;
        break;
      }
      case 0x01: {
        import.kind = ExternKind::Table;
        ASSIGN_OR_RETURN(import.table, read_table_type(reader));
        if (module_.table_types.size() >= kMaxTables)
          return error_at(over_limit("too many tables", kMaxTables), import_offset);
        module_.table_types.push_back(import.table);
        module_.offsets.tables.push_back(import_offset);
        ++module_.imported_tables;
        break;
      }
      case 0x02: {
        import.kind = ExternKind::Memory;
        ASSIGN_OR_RETURN(import.memory, read_memory_type(reader));
        if (module_.memories.size() >= kMaxMemories)
          return error_at(over_limit("too many memories", kMaxMemories), import_offset);
        module_.memories.push_back(import.memory);
        module_.offsets.memories.push_back(import_offset);
        ++module_.imported_memories;
        break;
      }
      case 0x03: {
        import.kind = ExternKind::Global;
        ASSIGN_OR_RETURN(import.global, read_global_type(reader));
        module_.global_types.push_back(import.global);
        module_.offsets.globals.push_back(import_offset);
        ++module_.imported_globals;
        break;
      }
      case 0x04: {
        RETURN_IF_ERROR(require(Proposal::Exceptions, "a tag import", kind_offset));
        import.kind = ExternKind::Tag;
        ASSIGN_OR_RETURN(import.tag, read_tag_type(reader));
        module_.tags.push_back(import.tag);
        module_.offsets.tags.push_back(import_offset);
        ++module_.imported_tags;
        break;
      }
      default:
        return error_at("malformed import kind", kind_offset);
    }
  }
  return {};
}

// --- Function, table, memory, global, tag, export and start sections ---------------------------

Result<void> ModuleDecoder::decode_function_section(Reader& reader) {
  size_t count_offset = reader.offset();
  ASSIGN_OR_RETURN(uint32_t count, reader.count());
  if (count > kMaxFunctions)
    return error_at(over_limit("too many functions", kMaxFunctions), count_offset);
  declared_functions_ = count;
  module_.func_types.reserve(module_.func_types.size() + count);
  module_.offsets.funcs.reserve(module_.func_types.size() + count);
  for (uint32_t i = 0; i < count; ++i) {
    module_.offsets.funcs.push_back(uint32_t(reader.offset()));
    ASSIGN_OR_RETURN(uint32_t type_index, reader.u32());
    module_.func_types.push_back(type_index);
  }
  return {};
}

Result<void> ModuleDecoder::decode_table_section(Reader& reader) {
  size_t count_offset = reader.offset();
  ASSIGN_OR_RETURN(uint32_t count, reader.count());
  if (uint64_t(count) + module_.table_types.size() > kMaxTables)
    return error_at(over_limit("too many tables", kMaxTables), count_offset);
  reserve_plausible(module_.tables, count, reader, 3);
  reserve_plausible(module_.table_types, count, reader, 3);
  for (uint32_t i = 0; i < count; ++i) {
    Table& table = module_.tables.emplace_back();
    size_t offset = reader.offset();
    module_.offsets.tables.push_back(uint32_t(offset));
    ASSIGN_OR_RETURN(uint8_t first, reader.peek_u8());
    if (first == 0x40) {
      RETURN_IF_ERROR(require(Proposal::FunctionReferences, "a table with an initialiser", offset));
      (void)reader.u8();
      size_t reserved_offset = reader.offset();
      ASSIGN_OR_RETURN(uint8_t reserved, reader.u8());
      if (reserved != 0x00) return error_at("zero byte expected", reserved_offset);
      ASSIGN_OR_RETURN(table.type, read_table_type(reader));
      ASSIGN_OR_RETURN(table.init, read_const_expr(reader));
    } else {
      ASSIGN_OR_RETURN(table.type, read_table_type(reader));
    }
    module_.table_types.push_back(table.type);
  }
  return {};
}

Result<void> ModuleDecoder::decode_memory_section(Reader& reader) {
  size_t count_offset = reader.offset();
  ASSIGN_OR_RETURN(uint32_t count, reader.count());
  if (uint64_t(count) + module_.memories.size() > kMaxMemories)
    return error_at(over_limit("too many memories", kMaxMemories), count_offset);
  reserve_plausible(module_.memories, count, reader, 2);
  for (uint32_t i = 0; i < count; ++i) {
    module_.offsets.memories.push_back(uint32_t(reader.offset()));
    ASSIGN_OR_RETURN(MemoryType memory, read_memory_type(reader));
    module_.memories.push_back(memory);
  }
  return {};
}

Result<void> ModuleDecoder::decode_global_section(Reader& reader) {
  size_t count_offset = reader.offset();
  ASSIGN_OR_RETURN(uint32_t count, reader.count());
  if (count > kMaxGlobals)
    return error_at(over_limit("too many globals", kMaxGlobals), count_offset);
  reserve_plausible(module_.globals, count, reader, 3);
  reserve_plausible(module_.global_types, count, reader, 3);
  for (uint32_t i = 0; i < count; ++i) {
    Global& global = module_.globals.emplace_back();
    module_.offsets.globals.push_back(uint32_t(reader.offset()));
    ASSIGN_OR_RETURN(global.type, read_global_type(reader));
    ASSIGN_OR_RETURN(global.init, read_const_expr(reader));
    module_.global_types.push_back(global.type);
  }
  return {};
}

Result<void> ModuleDecoder::decode_tag_section(Reader& reader) {
  RETURN_IF_ERROR(require(Proposal::Exceptions, "the tag section", reader.offset()));
  size_t count_offset = reader.offset();
  ASSIGN_OR_RETURN(uint32_t count, reader.count());
  if (count > kMaxTags) return error_at(over_limit("too many tags", kMaxTags), count_offset);
  reserve_plausible(module_.tags, count, reader, 2);
  for (uint32_t i = 0; i < count; ++i) {
    module_.offsets.tags.push_back(uint32_t(reader.offset()));
    ASSIGN_OR_RETURN(TagType tag, read_tag_type(reader));
    module_.tags.push_back(tag);
  }
  return {};
}

Result<void> ModuleDecoder::decode_export_section(Reader& reader) {
  size_t count_offset = reader.offset();
  ASSIGN_OR_RETURN(uint32_t count, reader.count());
  if (count > kMaxExports)
    return error_at(over_limit("too many exports", kMaxExports), count_offset);
  reserve_plausible(module_.exports, count, reader, 3);
  for (uint32_t i = 0; i < count; ++i) {
    Export& exported = module_.exports.emplace_back();
    module_.offsets.exports.push_back(uint32_t(reader.offset()));
    ASSIGN_OR_RETURN(exported.name, read_name(reader));
    size_t kind_offset = reader.offset();
    ASSIGN_OR_RETURN(uint8_t kind, reader.u8());
    if (kind > 0x04) return error_at("malformed export kind", kind_offset);
    if (kind == 0x04) RETURN_IF_ERROR(require(Proposal::Exceptions, "a tag export", kind_offset));
    exported.kind = ExternKind(kind);
    ASSIGN_OR_RETURN(exported.index, reader.u32());
  }
  return {};
}

Result<void> ModuleDecoder::decode_start_section(Reader& reader) {
  module_.offsets.start = uint32_t(reader.offset());
  ASSIGN_OR_RETURN(module_.start, reader.u32());
  return {};
}

// --- Constant expressions --------------------------------------------------------------------

// The common constant operators are skipped inline (an element section can hold a million
// `ref.func` expressions); anything else, including non-constant operators the validator will
// reject, goes through the OperatorReader so every encoding is understood.
Result<ConstExpr> ModuleDecoder::read_const_expr(Reader& section_reader) {
  // An expression never extends past its section, even though sections are otherwise read
  // on to the end of the module (see decode()).
  size_t start = section_reader.offset();
  Reader reader(bytes_, start, std::max(start, section_end_));
  auto result = read_const_expr_bounded(reader, start);
  section_reader.seek(reader.offset());
  return result;
}

Result<ConstExpr> ModuleDecoder::read_const_expr_bounded(Reader& reader, size_t start) {
  for (;;) {
    size_t op_offset = reader.offset();
    ASSIGN_OR_RETURN(uint8_t opcode, reader.u8());
    switch (opcode) {
      case 0x0B:  // end
        return ConstExpr{{uint32_t(start), uint32_t(reader.offset() - start)}};
      case 0x41:  // i32.const
        RETURN_IF_ERROR(reader.s32());
        break;
      case 0x42:  // i64.const
        RETURN_IF_ERROR(reader.s64());
        break;
      case 0x43:  // f32.const
        RETURN_IF_ERROR(reader.skip(4));
        break;
      case 0x44:  // f64.const
        RETURN_IF_ERROR(reader.skip(8));
        break;
      case 0x23:  // global.get
      case 0xD2:  // ref.func
        RETURN_IF_ERROR(reader.u32());
        break;
      case 0xD0:  // ref.null
        RETURN_IF_ERROR(read_heap_type(reader));
        break;
      case 0xFD: {  // v128.const
        ASSIGN_OR_RETURN(uint32_t sub, reader.u32());
        if (sub != 12) {
          reader.seek(op_offset);
          RETURN_IF_ERROR(skip_operators_to_end(reader));
          return ConstExpr{{uint32_t(start), uint32_t(reader.offset() - start)}};
        }
        RETURN_IF_ERROR(reader.skip(16));
        break;
      }
      case 0xFB: {
        ASSIGN_OR_RETURN(uint32_t sub, reader.u32());
        switch (sub) {
          case 0x00:  // struct.new
          case 0x01:  // struct.new_default
          case 0x06:  // array.new
          case 0x07:  // array.new_default
            RETURN_IF_ERROR(reader.u32());
            break;
          case 0x08:  // array.new_fixed
            RETURN_IF_ERROR(reader.u32());
            RETURN_IF_ERROR(reader.u32());
            break;
          case 0x1A:  // any.convert_extern
          case 0x1B:  // extern.convert_any
          case 0x1C:  // ref.i31
            break;
          default:
            reader.seek(op_offset);
            RETURN_IF_ERROR(skip_operators_to_end(reader));
            return ConstExpr{{uint32_t(start), uint32_t(reader.offset() - start)}};
        }
        break;
      }
      case 0x6A:  // i32.add
      case 0x6B:  // i32.sub
      case 0x6C:  // i32.mul
      case 0x7C:  // i64.add
      case 0x7D:  // i64.sub
      case 0x7E:  // i64.mul
        break;
      default:
        reader.seek(op_offset);
        RETURN_IF_ERROR(skip_operators_to_end(reader));
        return ConstExpr{{uint32_t(start), uint32_t(reader.offset() - start)}};
    }
  }
}

// Reads operators from the reader's position up to the `end` that closes the expression.
// Blocks are only counted (an iterative depth, never recursion); whether the operators are
// allowed in a constant expression is the validator's question. With `else_ends`, an `else`
// outside any block stops the scan as "END opcode expected" (a function body's rule).
Result<void> ModuleDecoder::skip_operators_to_end(Reader& reader, bool else_ends) {
  size_t start = reader.offset();
  OperatorReader operators(bytes_, {uint32_t(start), uint32_t(reader.end() - start)});
  Operator op;
  uint64_t depth = 0;
  for (;;) {
    RETURN_IF_ERROR(operators.read(op));
    switch (op.op) {
      case Op::Block:
      case Op::Loop:
      case Op::If:
      case Op::Try:
      case Op::TryTable:
        ++depth;
        break;
      case Op::Delegate:  // closes a legacy `try` like `end`
        if (depth > 0) --depth;
        break;
      case Op::Else:
        if (depth == 0 && else_ends) return error_at("END opcode expected", op.offset);
        break;
      case Op::End:
        if (depth == 0) {
          reader.seek(operators.offset());
          return {};
        }
        --depth;
        break;
      default:
        break;
    }
  }
}

// --- Elements and data -----------------------------------------------------------------------

Result<void> ModuleDecoder::decode_element_section(Reader& reader) {
  size_t count_offset = reader.offset();
  ASSIGN_OR_RETURN(uint32_t count, reader.count());
  if (count > kMaxElementSegments)
    return error_at(over_limit("too many element segments", kMaxElementSegments), count_offset);
  reserve_plausible(module_.elements, count, reader, 3);
  for (uint32_t i = 0; i < count; ++i) {
    ElementSegment& segment = module_.elements.emplace_back();
    size_t flags_offset = reader.offset();
    module_.offsets.elements.push_back(uint32_t(flags_offset));
    ASSIGN_OR_RETURN(uint32_t flags, reader.u32());
    if (flags > 7) return error_at("malformed elements segment kind", flags_offset);
    if (flags != 0)
      RETURN_IF_ERROR(require(Proposal::BulkMemory, "this element segment encoding", flags_offset));
    if (flags & 0x04)
      RETURN_IF_ERROR(
          require(Proposal::ReferenceTypes, "an element segment of expressions", flags_offset));
    // Bit 0: passive or declarative (else active); bit 1: explicit table index (active) or
    // declarative (passive); bit 2: expressions instead of function indices.
    bool explicit_kind = flags & 0x03;
    if (flags & 0x01) {
      segment.mode = (flags & 0x02) ? SegmentMode::Declarative : SegmentMode::Passive;
    } else {
      segment.mode = SegmentMode::Active;
      if (flags & 0x02) {
        ASSIGN_OR_RETURN(segment.table, reader.u32());
      }
      ASSIGN_OR_RETURN(segment.offset, read_const_expr(reader));
    }
    segment.uses_exprs = flags & 0x04;
    if (segment.uses_exprs) {
      if (explicit_kind) {
        ASSIGN_OR_RETURN(segment.type, read_ref_type(reader));
      } else {
        segment.type = ValType::funcref();
      }
      size_t items_offset = reader.offset();
      ASSIGN_OR_RETURN(uint32_t items, reader.count());
      if (items > kMaxElementSegmentItems)
        return error_at(
            over_limit("too many elements in an element segment", kMaxElementSegmentItems),
            items_offset);
      reserve_plausible(segment.exprs, items, reader, 1);
      for (uint32_t k = 0; k < items; ++k) {
        ASSIGN_OR_RETURN(ConstExpr expr, read_const_expr(reader));
        segment.exprs.push_back(expr);
      }
    } else {
      if (explicit_kind) {
        size_t kind_offset = reader.offset();
        ASSIGN_OR_RETURN(uint8_t elem_kind, reader.u8());
        if (elem_kind != 0x00) return error_at("malformed element kind", kind_offset);
      }
      // Function indices are never null: (ref func).
      segment.type = ValType::ref({HeapKind::Func, 0}, false);
      size_t items_offset = reader.offset();
      ASSIGN_OR_RETURN(uint32_t items, reader.count());
      if (items > kMaxElementSegmentItems)
        return error_at(
            over_limit("too many elements in an element segment", kMaxElementSegmentItems),
            items_offset);
      segment.func_indices.reserve(items);
      for (uint32_t k = 0; k < items; ++k) {
        ASSIGN_OR_RETURN(uint32_t func_index, reader.u32());
        segment.func_indices.push_back(func_index);
      }
    }
  }
  return {};
}

Result<void> ModuleDecoder::decode_data_count_section(Reader& reader) {
  RETURN_IF_ERROR(require(Proposal::BulkMemory, "the data count section", reader.offset()));
  module_.offsets.data_count = uint32_t(reader.offset());
  ASSIGN_OR_RETURN(module_.data_count, reader.u32());
  return {};
}

Result<void> ModuleDecoder::decode_data_section(Reader& reader) {
  saw_data_section_ = true;
  size_t count_offset = reader.offset();
  ASSIGN_OR_RETURN(uint32_t count, reader.count());
  if (count > kMaxDataSegments)
    return error_at(over_limit("too many data segments", kMaxDataSegments), count_offset);
  if (module_.data_count && *module_.data_count != count)
    return error_at("data count and data section have inconsistent lengths", count_offset);
  reserve_plausible(module_.data, count, reader, 2);
  for (uint32_t i = 0; i < count; ++i) {
    DataSegment& segment = module_.data.emplace_back();
    size_t flags_offset = reader.offset();
    module_.offsets.data.push_back(uint32_t(flags_offset));
    ASSIGN_OR_RETURN(uint32_t flags, reader.u32());
    switch (flags) {
      case 0: {
        segment.mode = SegmentMode::Active;
        ASSIGN_OR_RETURN(segment.offset, read_const_expr(reader));
        break;
      }
      case 1: {
        RETURN_IF_ERROR(require(Proposal::BulkMemory, "a passive data segment", flags_offset));
        segment.mode = SegmentMode::Passive;
        break;
      }
      case 2: {
        segment.mode = SegmentMode::Active;
        ASSIGN_OR_RETURN(segment.memory, reader.u32());
        ASSIGN_OR_RETURN(segment.offset, read_const_expr(reader));
        break;
      }
      default:
        return error_at("malformed data segment kind", flags_offset);
    }
    ASSIGN_OR_RETURN(uint32_t size, reader.u32());
    ASSIGN_OR_RETURN(size_t at, reader.skip(size));
    segment.bytes = {uint32_t(at), size};
  }
  return {};
}

// --- Code ------------------------------------------------------------------------------------

Result<void> ModuleDecoder::decode_code_section(Reader& reader) {
  saw_code_section_ = true;
  size_t count_offset = reader.offset();
  ASSIGN_OR_RETURN(uint32_t count, reader.count());
  // Checked once every section is read, so an out-of-order section is reported first (as
  // the reference interpreter does).
  code_count_offset_ = count_offset;
  if (count > kMaxFunctions)
    return error_at(over_limit("too many functions", kMaxFunctions), count_offset);
  reserve_plausible(module_.bodies, count, reader, 2);
  for (uint32_t i = 0; i < count; ++i) {
    FunctionBody& body = module_.bodies.emplace_back();
    size_t size_offset = reader.offset();
    ASSIGN_OR_RETURN(uint32_t size, reader.u32());
    if (size > kMaxFunctionBodySize)
      return error_at(over_limit("function body too large", kMaxFunctionBodySize), size_offset);
    ASSIGN_OR_RETURN(size_t begin, reader.skip(size));
    body.range = {uint32_t(begin), size};
    Reader locals(bytes_, begin, begin + size);
    size_t runs_offset = locals.offset();
    ASSIGN_OR_RETURN(uint32_t runs, locals.count(2));
    if (runs > kMaxLocals) return error_at(over_limit("too many locals", kMaxLocals), runs_offset);
    body.locals.reserve(runs);
    for (uint32_t k = 0; k < runs; ++k) {
      size_t run_offset = locals.offset();
      ASSIGN_OR_RETURN(uint32_t run, locals.u32());
      body.local_count += run;
      if (body.local_count > kMaxLocals)
        return error_at(over_limit("too many locals", kMaxLocals), run_offset);
      ASSIGN_OR_RETURN(ValType type, read_val_type(locals));
      body.locals.push_back({run, type});
    }
    body.code = {uint32_t(locals.offset()), uint32_t(begin + size - locals.offset())};
    // Every body ends with `end`; the operators in between are the validator's to read.
    if (body.code.size == 0 || bytes_[body.code.end() - 1] != 0x0B)
      return diagnose_missing_end(body);
  }
  return {};
}

// A body whose last byte is not `end` is malformed. Which error the spec testsuite expects
// depends on what follows: the reference interpreter reads the operators on past the body's
// size, so the error is the first one that reading meets, or "section size mismatch" when it
// finds the closing `end` beyond the body. This reads the same way to report the same error;
// it only runs for a body that is already known to be malformed.
Error ModuleDecoder::diagnose_missing_end(const FunctionBody& body) {
  Reader rest(bytes_, body.code.offset, bytes_.size());
  auto scan = skip_operators_to_end(rest, /*else_ends=*/true);
  if (scan) return error_at("section size mismatch", body.range.end());
  return std::move(scan).err();
}

// --- Custom sections and the name section ------------------------------------------------------

// Name sections are not validated: one that is malformed is dropped, the module stays valid.
class NameSectionParser {
 public:
  NameSectionParser(std::span<const uint8_t> bytes, size_t begin, size_t end)
      : reader_(bytes, begin, end) {}

  bool parse(Names& names) {
    int last_id = -1;
    while (!reader_.at_end()) {
      auto id = reader_.u8();
      auto size = reader_.u32();
      if (!id || !size || size.ok() > reader_.remaining()) return false;
      if (int(id.ok()) <= last_id) return false;  // each subsection once, in order
      last_id = id.ok();
      size_t end = reader_.offset() + size.ok();
      Reader sub(std::span<const uint8_t>(reader_.data(), end), reader_.offset(), end);
      bool ok = true;
      switch (id.ok()) {
        case 0: {
          auto name = read_name(sub);
          ok = bool(name);
          if (ok) names.module = std::move(name).ok();
          break;
        }
        case 1:
          ok = name_map(sub, names.functions);
          break;
        case 2:
          ok = indirect_name_map(sub, names.locals);
          break;
        case 3:
          ok = indirect_name_map(sub, names.labels);
          break;
        case 4:
          ok = name_map(sub, names.types);
          break;
        case 5:
          ok = name_map(sub, names.tables);
          break;
        case 6:
          ok = name_map(sub, names.memories);
          break;
        case 7:
          ok = name_map(sub, names.globals);
          break;
        case 8:
          ok = name_map(sub, names.elements);
          break;
        case 9:
          ok = name_map(sub, names.data);
          break;
        case 10:
          ok = indirect_name_map(sub, names.fields);
          break;
        case 11:
          ok = name_map(sub, names.tags);
          break;
        default:
          break;  // a subsection from a later proposal: skipped
      }
      if (!ok || (id.ok() <= 11 && !sub.at_end())) return false;
      reader_.seek(end);
    }
    return true;
  }

 private:
  // Indices strictly increase, so lookups can binary-search and duplicates are caught in the
  // same single pass.
  static bool name_map(Reader& reader, NameMap& map) {
    auto count = reader.count(2);
    if (!count) return false;
    map.entries.reserve(count.ok());
    for (uint32_t i = 0; i < count.ok(); ++i) {
      auto index = reader.u32();
      if (!index) return false;
      if (!map.entries.empty() && index.ok() <= map.entries.back().first) return false;
      auto name = read_name(reader);
      if (!name) return false;
      map.entries.emplace_back(index.ok(), std::move(name).ok());
    }
    return true;
  }

  static bool indirect_name_map(Reader& reader, IndirectNameMap& map) {
    auto count = reader.count(2);
    if (!count) return false;
    map.entries.reserve(count.ok());
    for (uint32_t i = 0; i < count.ok(); ++i) {
      auto index = reader.u32();
      if (!index) return false;
      if (!map.entries.empty() && index.ok() <= map.entries.back().first) return false;
      map.entries.emplace_back(index.ok(), NameMap{});
      if (!name_map(reader, map.entries.back().second)) return false;
    }
    return true;
  }

  Reader reader_;
};

Result<void> ModuleDecoder::decode_custom_section(Reader& reader) {
  size_t section_offset = reader.offset();
  ASSIGN_OR_RETURN(std::string name, read_name(reader));
  CustomSection& custom = module_.customs.emplace_back();
  custom.name = std::move(name);
  if (reader.offset() > section_end_) return error_at("unexpected end", section_offset);
  custom.payload = {uint32_t(reader.offset()), uint32_t(section_end_ - reader.offset())};
  if (custom.name == "name") {
    Names names;
    NameSectionParser parser(bytes_, custom.payload.offset, custom.payload.end());
    if (parser.parse(names)) module_.names = std::move(names);
  }
  reader.seek(section_end_);
  return {};
}

}  // namespace

Result<ModuleInfo> decode_module(std::span<const uint8_t> bytes, const Features& features) {
  // The JS API's limit, which also keeps every offset within the 32 bits ModuleInfo stores.
  if (bytes.size() > kMaxModuleSize)
    return Error("module too large (at most " + std::to_string(kMaxModuleSize) + " bytes)", 0);
  return ModuleDecoder(bytes, features).decode();
}

std::string heap_type_name(const HeapType& heap) {
  switch (heap.kind) {
    case HeapKind::Exn:
      return "exn";
    case HeapKind::NoExn:
      return "noexn";
    case HeapKind::Func:
      return "func";
    case HeapKind::NoFunc:
      return "nofunc";
    case HeapKind::Extern:
      return "extern";
    case HeapKind::NoExtern:
      return "noextern";
    case HeapKind::Any:
      return "any";
    case HeapKind::Eq:
      return "eq";
    case HeapKind::I31:
      return "i31";
    case HeapKind::Struct:
      return "struct";
    case HeapKind::Array:
      return "array";
    case HeapKind::None:
      return "none";
    case HeapKind::Concrete:
      return std::to_string(heap.index);
    case HeapKind::Bottom:
      return "bot";
  }
  return "?";
}

std::string val_type_name(const ValType& type) {
  switch (type.kind) {
    case ValKind::I32:
      return "i32";
    case ValKind::I64:
      return "i64";
    case ValKind::F32:
      return "f32";
    case ValKind::F64:
      return "f64";
    case ValKind::V128:
      return "v128";
    case ValKind::Ref:
      if (type.nullable && type.heap.kind != HeapKind::Concrete) {
        switch (type.heap.kind) {
          case HeapKind::None:
            return "nullref";
          case HeapKind::NoFunc:
            return "nullfuncref";
          case HeapKind::NoExtern:
            return "nullexternref";
          case HeapKind::NoExn:
            return "nullexnref";
          default:
            return heap_type_name(type.heap) + "ref";
        }
      }
      return std::string(type.nullable ? "(ref null " : "(ref ") + heap_type_name(type.heap) + ")";
    case ValKind::Bottom:
      return "bot";
  }
  return "?";
}

}  // namespace kiln::wasm
