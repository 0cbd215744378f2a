#include "jit/gc_object.hpp"

namespace kiln::jit {

GcStorage storage_of(const wasm::FieldType& field) {
  switch (field.packed) {
    case wasm::PackedKind::I8:
      return GcStorage::I8;
    case wasm::PackedKind::I16:
      return GcStorage::I16;
    case wasm::PackedKind::None:
      break;
  }
  switch (field.type.kind) {
    case wasm::ValKind::I32:
      return GcStorage::I32;
    case wasm::ValKind::I64:
      return GcStorage::I64;
    case wasm::ValKind::F32:
      return GcStorage::F32;
    case wasm::ValKind::F64:
      return GcStorage::F64;
    case wasm::ValKind::V128:
      return GcStorage::V128;
    case wasm::ValKind::Ref:
    case wasm::ValKind::Bottom:
      break;
  }
  return GcStorage::Ref;
}

uint32_t storage_size(GcStorage storage) {
  switch (storage) {
    case GcStorage::I8:
      return 1;
    case GcStorage::I16:
      return 2;
    case GcStorage::I32:
    case GcStorage::F32:
      return 4;
    case GcStorage::I64:
    case GcStorage::F64:
    case GcStorage::Ref:
      return 8;
    case GcStorage::V128:
      return 16;
  }
  return 8;
}

GcLayout gc_layout(const wasm::SubType& type) {
  GcLayout layout;
  switch (type.kind) {
    case wasm::CompositeKind::Func:
      return layout;
    case wasm::CompositeKind::Array:
      layout.kind = GcKind::Array;
      layout.size = kArrayElementsOffset;
      layout.fields.push_back({kArrayElementsOffset, storage_of(type.array.element)});
      return layout;
    case wasm::CompositeKind::Struct:
      break;
  }
  layout.kind = GcKind::Struct;
  // The decoder allows at most 10,000 fields, so a struct (at most 32 bytes a field with
  // padding) stays far below 4 GiB and the offsets fit 32 bits.
  uint64_t end = kStructFieldsOffset;
  layout.fields.reserve(type.struct_.fields.size());
  for (const wasm::FieldType& field : type.struct_.fields) {
    const GcStorage storage = storage_of(field);
    const uint64_t size = storage_size(storage);
    const uint64_t offset = (end + size - 1) & ~(size - 1);
    layout.fields.push_back({uint32_t(offset), storage});
    end = offset + size;
  }
  layout.size = uint32_t((end + 7) & ~uint64_t(7));
  return layout;
}

std::optional<uint64_t> array_object_size(uint32_t element_size, uint64_t length) {
  uint64_t elements;
  uint64_t total;
  if (__builtin_mul_overflow(uint64_t(element_size), length, &elements) ||
      __builtin_add_overflow(elements, uint64_t(kArrayElementsOffset), &total)) {
    return std::nullopt;
  }
  return total;
}

}  // namespace kiln::jit
