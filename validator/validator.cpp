// Module-level validation: everything outside function bodies, then every body.
#include "validator/validator.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_set>

#include "decoder/decoder.hpp"

namespace kiln::wasm {

namespace {

constexpr uint32_t kNoOffset = 0;  // a module assembled by hand, whose offsets are unknown

Result<void> check_module_sections(const ModuleTypes& types, FuncValidator& validator);

// Each check reports at `at`, the byte offset of the entry being checked.
Result<void> check_limits(const Limits& limits, uint64_t bound, const char* too_large,
                          uint32_t at) {
  if (limits.max && limits.min > *limits.max)
    return Error("size minimum must not be greater than maximum", at);
  if (limits.min > bound || (limits.max && *limits.max > bound)) return Error(too_large, at);
  return {};
}

Result<void> check_memory_type(const MemoryType& memory, const Features& features, uint32_t at) {
  if (memory.page_size_log2 != 0 && memory.page_size_log2 != 16)
    return Error("invalid custom page size", at);
  if (memory.page_size_log2 != 16 && !features.has(Proposal::CustomPageSizes))
    return Error("custom page sizes require the custom-page-sizes proposal", at);
  if (memory.index_type == IndexType::I64 && !features.has(Proposal::Memory64))
    return Error("64-bit memories require the memory64 proposal", at);
  if (memory.shared && !features.has(Proposal::Threads))
    return Error("shared memories require the threads proposal", at);
  // The byte size must fit the index type (2^32 bytes for i32, 2^64 for i64) and the page
  // count must fit the limits' encoding (at most 2^32-1 for i32 with 1-byte pages).
  unsigned address_bits = memory.index_type == IndexType::I64 ? 64 : 32;
  unsigned page_bits = memory.page_size_log2;
  uint64_t max_pages =
      address_bits - page_bits >= 64 ? ~uint64_t(0) : uint64_t(1) << (address_bits - page_bits);
  if (memory.index_type == IndexType::I32) max_pages = std::min<uint64_t>(max_pages, 0xFFFFFFFFu);
  if (memory.index_type == IndexType::I32 && page_bits == 16) max_pages = 65536;
  const char* message =
      memory.index_type == IndexType::I64
          ? (page_bits == 16 ? "memory size must be at most 2^48 pages (256 TiB)"
                             : "memory size must be at most 2^64-1 pages (16 EiB)")
          : (page_bits == 16 ? "memory size must be at most 65536 pages (4GiB)"
                             : "memory size must be at most 4294967295 pages (4GiB)");
  if (auto r = check_limits(memory.limits, max_pages, message, at); !r) return r;
  if (memory.shared && !memory.limits.max) return Error("shared memory must have maximum", at);
  return {};
}

Result<void> check_table_type(const ModuleTypes& types, const TableType& table, uint32_t at) {
  if (auto r = types.check_val_type(table.element, at); !r) return r;
  if (!table.element.is_ref()) return Error("malformed reference type", at);
  if (table.index_type == IndexType::I64 && !types.features().has(Proposal::Memory64))
    return Error("64-bit tables require the memory64 proposal", at);
  uint64_t bound = table.index_type == IndexType::I64 ? ~uint64_t(0) : 0xFFFFFFFFull;
  return check_limits(table.limits, bound,
                      table.index_type == IndexType::I64 ? "table size must be at most 2^64-1"
                                                         : "table size must be at most 2^32-1",
                      at);
}

Result<void> check_func_type_index(const ModuleInfo& module, uint32_t type_index, uint32_t at) {
  if (type_index >= module.types.size() || module.types[type_index].kind != CompositeKind::Func)
    return Error("unknown type " + std::to_string(type_index), at);
  return {};
}

Result<void> check_tag_type(const ModuleInfo& module, const TagType& tag, uint32_t at) {
  if (auto r = check_func_type_index(module, tag.type_index, at); !r) return r;
  if (!module.types[tag.type_index].func.results.empty())
    return Error("non-empty tag result type", at);
  return {};
}

// `i32.const n end` (or i64) with n short enough to need no range check: the shape nearly every
// segment offset has, so a module with thousands of segments need not read them all through the
// operator reader. Anything else is read and visited.
bool is_plain_constant(std::span<const uint8_t> bytes, const ConstExpr& expr, ValType expected) {
  if (expected.kind != ValKind::I32 && expected.kind != ValKind::I64) return false;
  const bool i32 = expected.kind == ValKind::I32;
  const size_t longest = i32 ? 4 : 9;  // shorter than the longest encoding, whose last byte
                                       // has range checks of its own
  const size_t size = expr.range.size;
  if (size < 3 || size > longest + 2) return false;
  const uint8_t* p = bytes.data() + expr.range.offset;
  if (p[0] != (i32 ? 0x41 : 0x42) || p[size - 1] != 0x0B) return false;
  for (size_t i = 1; i < size - 2; ++i)
    if (!(p[i] & 0x80)) return false;  // the LEB ends only at its last byte
  return !(p[size - 2] & 0x80);
}

Result<void> validate_const_expr(FuncValidator& validator, std::span<const uint8_t> bytes,
                                 const ConstExpr& expr, ValType expected,
                                 uint32_t visible_globals) {
  if (uint64_t(expr.range.offset) + expr.range.size > bytes.size())
    return Error("unexpected end", expr.range.offset);
  if (validator.allows(Proposal::Mvp) && is_plain_constant(bytes, expr, expected)) return {};
  validator.reset_const_expr(expected, visible_globals);
  OperatorReader reader(bytes, expr.range);
  Operator op;
  while (!reader.at_end()) {
    if (auto r = reader.read(op); !r) return r;
    if (auto r = validator.visit(op); !r) return r;
  }
  return validator.finish(expr.range.end());
}

}  // namespace

Result<ModuleTypes> validate_module_sections(const ModuleInfo& module,
                                             std::span<const uint8_t> bytes,
                                             const Features& features, TypeRegistry& registry) {
  auto built = ModuleTypes::build(module, bytes, features, registry);
  if (!built) return std::move(built).err();
  FuncValidator validator(built.ok());
  if (auto r = check_module_sections(built.ok(), validator); !r) return std::move(r).err();
  return built;
}

namespace {

// The module rules after the type section's, with `validator` (over `types`) for the constant
// expressions.
Result<void> check_module_sections(const ModuleTypes& types, FuncValidator& validator) {
  const ModuleInfo& module = types.module();
  const std::span<const uint8_t> bytes = types.bytes();
  const Features& features = types.features();
  const EntryOffsets& offsets = module.offsets;
  auto at = [](const std::vector<uint32_t>& entries, size_t index) {
    return EntryOffsets::at(entries, index);
  };

  // Functions (imported and defined) name function types.
  for (size_t i = 0; i < module.func_types.size(); ++i)
    if (auto r = check_func_type_index(module, module.func_types[i], at(offsets.funcs, i)); !r)
      return r;
  if (module.bodies.size() + module.imported_funcs != module.func_types.size())
    return Error("function and code section have inconsistent lengths", kNoOffset);

  if (module.table_types.size() > 1 && !features.has(Proposal::ReferenceTypes))
    return Error("multiple tables", at(offsets.tables, 1));
  for (size_t i = 0; i < module.table_types.size(); ++i)
    if (auto r = check_table_type(types, module.table_types[i], at(offsets.tables, i)); !r)
      return r;
  if (module.memories.size() > 1 && !features.has(Proposal::MultiMemory))
    return Error("multiple memories", at(offsets.memories, 1));
  for (size_t i = 0; i < module.memories.size(); ++i)
    if (auto r = check_memory_type(module.memories[i], features, at(offsets.memories, i)); !r)
      return r;
  for (size_t i = 0; i < module.global_types.size(); ++i)
    if (auto r = types.check_val_type(module.global_types[i].type, at(offsets.globals, i)); !r)
      return r;
  for (size_t i = 0; i < module.tags.size(); ++i)
    if (auto r = check_tag_type(module, module.tags[i], at(offsets.tags, i)); !r) return r;

  // Table initialisers see only imported globals (tables precede globals).
  for (size_t i = 0; i < module.tables.size(); ++i) {
    const Table& table = module.tables[i];
    if (table.init) {
      if (auto r = validate_const_expr(validator, bytes, *table.init, table.type.element,
                                       module.imported_globals);
          !r)
        return r;
    } else if (!table.type.element.nullable) {
      return Error("type mismatch: a table of non-nullable references needs an initialiser",
                   at(offsets.tables, module.imported_tables + i));
    }
  }
  // Global initialisers see imported globals and the globals defined before them.
  for (size_t i = 0; i < module.globals.size(); ++i) {
    const Global& global = module.globals[i];
    if (auto r = validate_const_expr(validator, bytes, global.init, global.type.type,
                                     module.imported_globals + uint32_t(i));
        !r)
      return r;
  }
  const uint32_t all_globals = uint32_t(module.global_types.size());

  {
    std::unordered_set<std::string_view> names;
    names.reserve(module.exports.size());
    for (size_t i = 0; i < module.exports.size(); ++i) {
      const Export& e = module.exports[i];
      const uint32_t entry = at(offsets.exports, i);
      if (!names.insert(e.name).second) return Error("duplicate export name", entry);
      auto [count, what] = [&]() -> std::pair<size_t, const char*> {
        switch (e.kind) {
          case ExternKind::Func:
            return {module.func_types.size(), "function"};
          case ExternKind::Table:
            return {module.table_types.size(), "table"};
          case ExternKind::Memory:
            return {module.memories.size(), "memory"};
          case ExternKind::Global:
            return {module.global_types.size(), "global"};
          case ExternKind::Tag:
            return {module.tags.size(), "tag"};
        }
        return {0, "export"};
      }();
      if (e.index >= count)
        return Error(std::string("unknown ") + what + " " + std::to_string(e.index), entry);
    }
  }

  if (module.start) {
    uint32_t start = *module.start;
    if (start >= module.func_types.size())
      return Error("unknown function " + std::to_string(start), offsets.start);
    const FuncType& type = types.func_type(start);
    if (!type.params.empty() || !type.results.empty())
      return Error("start function must have type [] -> []", offsets.start);
  }

  for (size_t i = 0; i < module.elements.size(); ++i) {
    const ElementSegment& segment = module.elements[i];
    const uint32_t entry = at(offsets.elements, i);
    if (auto r = types.check_val_type(segment.type, entry); !r) return r;
    if (!segment.type.is_ref()) return Error("malformed reference type", entry);
    if (segment.mode == SegmentMode::Active) {
      if (segment.table >= module.table_types.size())
        return Error("unknown table " + std::to_string(segment.table), entry);
      const TableType& table = module.table_types[segment.table];
      ValType index_type = table.index_type == IndexType::I64 ? ValType::i64() : ValType::i32();
      if (auto r = validate_const_expr(validator, bytes, segment.offset, index_type, all_globals);
          !r)
        return r;
      if (!types.is_subtype(segment.type, table.element))
        return Error("type mismatch: element segment does not fit the table", entry);
    }
    if (segment.uses_exprs) {
      for (const ConstExpr& expr : segment.exprs)
        if (auto r = validate_const_expr(validator, bytes, expr, segment.type, all_globals); !r)
          return r;
    } else {
      for (uint32_t f : segment.func_indices) {
        if (f >= module.func_types.size())
          return Error("unknown function " + std::to_string(f), entry);
        ValType ref = ValType::ref({HeapKind::Concrete, module.func_types[f]}, false);
        if (!types.is_subtype(ref, segment.type))
          return Error("type mismatch: function does not fit the element segment", entry);
      }
    }
  }

  if (module.data_count && *module.data_count != module.data.size())
    return Error("data count and data section have inconsistent lengths", offsets.data_count);
  for (size_t i = 0; i < module.data.size(); ++i) {
    const DataSegment& segment = module.data[i];
    if (segment.mode != SegmentMode::Active) continue;
    if (segment.memory >= module.memories.size())
      return Error("unknown memory " + std::to_string(segment.memory), at(offsets.data, i));
    ValType index_type = module.memories[segment.memory].index_type == IndexType::I64
                             ? ValType::i64()
                             : ValType::i32();
    if (auto r = validate_const_expr(validator, bytes, segment.offset, index_type, all_globals); !r)
      return r;
  }
  return {};
}

}  // namespace

Result<void> begin_function_body(const ModuleTypes& types, uint32_t defined_index,
                                 FuncValidator& validator) {
  const ModuleInfo& module = types.module();
  if (defined_index >= module.bodies.size()) return Error("unknown function body", kNoOffset);
  const FunctionBody& body = module.bodies[defined_index];
  std::span<const uint8_t> bytes = types.bytes();
  if (uint64_t(body.code.offset) + body.code.size > bytes.size())
    return Error("unexpected end", body.code.offset);
  if (body.range.size > kMaxFunctionSize)
    return Error("function body too large (at most " + std::to_string(kMaxFunctionSize) + ")",
                 body.range.offset);
  if (auto r = validator.reset(module.imported_funcs + defined_index, body.locals); !r) {
    Error error = std::move(r).err();
    return Error(error.message(), body.range.offset);
  }
  return {};
}

Result<void> validate_function_body(const ModuleTypes& types, uint32_t defined_index,
                                    FuncValidator& validator) {
  if (auto r = begin_function_body(types, defined_index, validator); !r) return r;
  const FunctionBody& body = types.module().bodies[defined_index];
  return validator.validate_body(types.bytes(), body.code);
}

Result<void> validate_module(const ModuleInfo& module, std::span<const uint8_t> bytes,
                             const Features& features) {
  auto types = ModuleTypes::build(module, bytes, features, TypeRegistry::global());
  if (!types) return std::move(types).err();
  // One validator for the constant expressions and then every body.
  FuncValidator validator(types.ok());
  if (auto r = check_module_sections(types.ok(), validator); !r) return r;
  for (uint32_t i = 0; i < module.bodies.size(); ++i)
    if (auto r = validate_function_body(types.ok(), i, validator); !r) return r;
  return {};
}

}  // namespace kiln::wasm

namespace kiln {

Result<wasm::ModuleInfo> decode_and_validate(std::span<const uint8_t> bytes,
                                             const wasm::Features& features) {
  auto module = wasm::decode_module(bytes, features);
  if (!module) return std::move(module).err();
  if (auto r = wasm::validate_module(module.ok(), bytes, features); !r) return std::move(r).err();
  return std::move(module).ok();
}

}  // namespace kiln
