// GC objects (structs and arrays) and GC references as compiled code and the runtime both see
// them: the object header, where each field and element lives, and how reference bits encode
// i31 values and converted extern/any references. See docs/jit-abi.md, "GC objects".
//
// It lives in jit/, beside vmcontext.hpp, because the compiler will need these offsets to emit
// struct.get/array.get inline, and jit/ must not include runtime/. The runtime's heap
// (runtime/gc_heap.hpp) allocates objects in this layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "decoder/module.hpp"

namespace kiln::jit {

// What the header says an object is. Zero is never a valid kind, so a zeroed header is
// recognisably not an object.
enum class GcKind : uint8_t { None = 0, Struct = 1, Array = 2 };

// The first 8 bytes of every GC object. A reference to an object points here.
struct VMGcHeader {
  // The engine-wide canonical id of the object's defined type (TypeRegistry), so a cast
  // compares ids and, when they differ, walks the declared supertypes of this one.
  uint32_t type_id;
  GcKind kind;
  // Reserved for the collector (mark bits); always 0 until there is one.
  uint8_t gc_bits;
  uint16_t reserved;
};

// An array's header: the common header, then the length. Elements start at
// kArrayElementsOffset whatever their type, so array.get needs no per-type header size and
// v128 elements are 16-byte aligned.
struct VMGcArray {
  VMGcHeader header;
  uint32_t length;
  uint32_t reserved;
};

// Objects start 16-byte aligned (so v128 fields can be, and the low 4 bits of a reference to
// an object are free for the tags below); sizes are rounded up to it.
inline constexpr uint32_t kGcObjectAlignment = 16;
inline constexpr uint32_t kStructFieldsOffset = sizeof(VMGcHeader);
inline constexpr uint32_t kArrayElementsOffset = sizeof(VMGcArray);

namespace gc_offsets {
inline constexpr int32_t kTypeId = offsetof(VMGcHeader, type_id);
inline constexpr int32_t kKind = offsetof(VMGcHeader, kind);
inline constexpr int32_t kArrayLength = offsetof(VMGcArray, length);
}  // namespace gc_offsets

static_assert(sizeof(VMGcHeader) == 8);
static_assert(sizeof(VMGcArray) == 16);
static_assert(kArrayElementsOffset % 16 == 0, "v128 elements must be naturally aligned");

// How a field or element is stored. Packed i8/i16 take 1 and 2 bytes; references take 8
// bytes, the same bits a reference has on the value stack.
enum class GcStorage : uint8_t { I8, I16, I32, I64, F32, F64, V128, Ref };

GcStorage storage_of(const wasm::FieldType& field);
// Size in bytes, which is also the alignment (natural alignment): 1, 2, 4, 8 or 16.
uint32_t storage_size(GcStorage storage);

struct GcField {
  uint32_t offset;  // bytes from the header
  GcStorage storage;
};

// Where a defined type's fields are.
//
// Structs: fields in declaration order, each at the next offset that is a multiple of its size.
// Declaration order (rather than sorting fields to save padding) keeps the layout of a
// supertype's fields a prefix of every subtype's, so struct.get through a supertype reads the
// same offset whatever the object's actual type.
//
// Arrays: one entry, element 0; element i is at fields[0].offset + i * storage_size.
struct GcLayout {
  GcKind kind = GcKind::None;  // None for function types
  // Struct: the object's size, header included, rounded up to 8 (allocation rounds further).
  // Array: the bytes before element 0 (kArrayElementsOffset).
  uint32_t size = 0;
  std::vector<GcField> fields;
};

GcLayout gc_layout(const wasm::SubType& type);

// The bytes of an array object of `length` elements of `element_size` bytes, header included;
// nullopt if that does not fit in 64 bits (the heap then refuses it as too large).
std::optional<uint64_t> array_object_size(uint32_t element_size, uint64_t length);

// ---- Reference bits
//
// A reference is 64 bits; 0 is null in every hierarchy. In the any hierarchy (any, eq, i31,
// struct, array, none) and for externref:
//   xxx1  an i31 value: bits = (value & 0x7FFFFFFF) << 1 | 1. Objects are 16-byte aligned, so
//         an i31 is never a pointer, and ref.eq stays one 64-bit compare: equal i31 values have
//         equal bits and never equal an object's address.
//   x000  anyref: a pointer to a VMGcHeader. externref: the host's pointer (which must be
//         8-byte aligned).
//   x010  anyref only: a host externref converted by any.convert_extern (the host pointer | 2).
//   x100  externref only: a GC object converted by extern.convert_any (the object's address | 4).
// The conversions never allocate, round-trip exactly, and leave every non-i31 anyref that is
// untagged a GC object, so casts can read its header without asking who made it.
inline constexpr uint64_t kI31Tag = 1;
inline constexpr uint64_t kInternalizedExternTag = 2;
inline constexpr uint64_t kExternalizedAnyTag = 4;

constexpr uint64_t i31_from_i32(uint32_t value) {
  return (uint64_t(value & 0x7FFFFFFFu) << 1) | kI31Tag;
}
constexpr bool is_i31(uint64_t bits) {
  return (bits & kI31Tag) != 0;
}
constexpr uint32_t i31_get_u(uint64_t bits) {
  return uint32_t(bits) >> 1;
}
constexpr int32_t i31_get_s(uint64_t bits) {
  return int32_t(uint32_t(bits)) >> 1;  // arithmetic shift: bit 31 is the i31's sign bit
}

// any.convert_extern
constexpr uint64_t any_convert_extern(uint64_t bits) {
  if (bits == 0 || is_i31(bits)) return bits;
  if (bits & kExternalizedAnyTag) return bits & ~kExternalizedAnyTag;
  return bits | kInternalizedExternTag;
}

// extern.convert_any
constexpr uint64_t extern_convert_any(uint64_t bits) {
  if (bits == 0 || is_i31(bits)) return bits;
  if (bits & kInternalizedExternTag) return bits & ~kInternalizedExternTag;
  return bits | kExternalizedAnyTag;
}

}  // namespace kiln::jit
