// Type descriptions: names, the MemoryType builder, and conversions to the decoder's types.
#include "api/state.hpp"

namespace kiln {

std::string_view to_string(ValKind kind) {
  switch (kind) {
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
    case ValKind::ExternRef:
      return "externref";
    case ValKind::FuncRef:
      return "funcref";
    case ValKind::AnyRef:
      return "anyref";
    case ValKind::ExnRef:
      return "exnref";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& out, const ValKind& kind) {
  return out << to_string(kind);
}

Result<MemoryType> MemoryType::Builder::build() const {
  if (type_.page_size_log2_ != 0 && type_.page_size_log2_ != 16)
    return Error("memory type: the page size must be 1 byte or 64 KiB (log2 0 or 16), not 2^" +
                 std::to_string(type_.page_size_log2_));
  if (type_.max_ && *type_.max_ < type_.min_)
    return Error("memory type: the minimum (" + std::to_string(type_.min_) +
                 " pages) is above the maximum (" + std::to_string(*type_.max_) + ")");
  if (type_.shared_ && !type_.max_) return Error("memory type: a shared memory needs a maximum");
  return type_;
}

namespace detail {

ValType val_type_of(const wasm::ValType& type) {
  switch (type.kind) {
    case wasm::ValKind::I32:
      return ValKind::I32;
    case wasm::ValKind::I64:
      return ValKind::I64;
    case wasm::ValKind::F32:
      return ValKind::F32;
    case wasm::ValKind::F64:
      return ValKind::F64;
    case wasm::ValKind::V128:
      return ValKind::V128;
    default:
      break;
  }
  // References by their hierarchy's top (concrete types: a function type is in func's).
  switch (type.heap.kind) {
    case wasm::HeapKind::Func:
    case wasm::HeapKind::NoFunc:
      return ValKind::FuncRef;
    case wasm::HeapKind::Extern:
    case wasm::HeapKind::NoExtern:
      return ValKind::ExternRef;
    case wasm::HeapKind::Exn:
    case wasm::HeapKind::NoExn:
      return ValKind::ExnRef;
    default:
      return ValKind::AnyRef;
  }
}

Result<wasm::ValType> wasm_val_type(const ValType& type) {
  switch (type.kind()) {
    case ValKind::I32:
      return wasm::ValType::i32();
    case ValKind::I64:
      return wasm::ValType::i64();
    case ValKind::F32:
      return wasm::ValType::f32();
    case ValKind::F64:
      return wasm::ValType::f64();
    case ValKind::V128:
      return wasm::ValType::v128();
    case ValKind::FuncRef:
      return wasm::ValType::funcref();
    case ValKind::ExternRef:
      return wasm::ValType::externref();
    case ValKind::AnyRef:
      return wasm::ValType::ref({wasm::HeapKind::Any, 0}, true);
    case ValKind::ExnRef:
      return wasm::ValType::exnref();
  }
  return Error("unknown value kind");
}

FuncType func_type_of(const wasm::FuncType& type) {
  std::vector<ValType> params, results;
  for (const wasm::ValType& param : type.params) params.push_back(val_type_of(param));
  for (const wasm::ValType& result : type.results) results.push_back(val_type_of(result));
  return FuncType(std::move(params), std::move(results));
}

Result<wasm::FuncType> wasm_func_type(const FuncType& type) {
  wasm::FuncType out;
  for (const ValType& param : type.params()) {
    auto converted = wasm_val_type(param);
    if (!converted) return std::move(converted).err();
    out.params.push_back(converted.ok());
  }
  for (const ValType& result : type.results()) {
    auto converted = wasm_val_type(result);
    if (!converted) return std::move(converted).err();
    out.results.push_back(converted.ok());
  }
  return out;
}

MemoryType memory_type_of(const wasm::MemoryType& type) {
  MemoryType::Builder builder;
  builder.min(type.limits.min)
      .max(type.limits.max)
      .memory64(type.index_type == wasm::IndexType::I64)
      .shared(type.shared)
      .page_size_log2(type.page_size_log2);
  // A module's types were validated: building cannot fail, except a shared memory without a
  // maximum, which validation already refused.
  auto built = builder.build();
  return built ? built.ok() : MemoryType(0);
}

TableType table_type_of(const wasm::TableType& type) {
  if (type.index_type == wasm::IndexType::I64)
    return TableType::New64(val_type_of(type.element), type.limits.min, type.limits.max);
  TableType out(val_type_of(type.element), uint32_t(type.limits.min));
  if (type.limits.max)
    out =
        TableType(val_type_of(type.element), uint32_t(type.limits.min), uint32_t(*type.limits.max));
  return out;
}

GlobalType global_type_of(const wasm::GlobalType& type) {
  return GlobalType(val_type_of(type.type), type.mutable_);
}

}  // namespace detail
}  // namespace kiln
