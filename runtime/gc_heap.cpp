#include "runtime/gc_heap.hpp"

#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace kiln::runtime {

// calloc's blocks must be aligned enough for objects: every object starts a block or is carved
// from a chunk at a multiple of kGcObjectAlignment.
static_assert(alignof(std::max_align_t) >= jit::kGcObjectAlignment);
static_assert(GcHeap::kChunkSize % jit::kGcObjectAlignment == 0);

GcHeap::GcHeap(uint64_t max_bytes) : max_bytes_(max_bytes) {}

GcHeap::~GcHeap() {
  for (void* block : blocks_) std::free(block);
}

uint8_t* GcHeap::allocate(uint64_t size) {
  const uint64_t align = jit::kGcObjectAlignment;
  if (size > max_bytes_ - allocated_ || size > UINT64_MAX - (align - 1)) return nullptr;
  size = (size + align - 1) & ~(align - 1);
  if (size > max_bytes_ - allocated_) return nullptr;
  uint8_t* object;
  if (size > kLargeObjectSize) {
    // calloc: the pages of a large block are zero without being touched.
    object = static_cast<uint8_t*>(std::calloc(1, size_t(size)));
    if (!object) return nullptr;
    blocks_.push_back(object);
  } else {
    if (size > uint64_t(end_ - next_)) {
      auto* chunk = static_cast<uint8_t*>(std::calloc(1, kChunkSize));
      if (!chunk) return nullptr;
      blocks_.push_back(chunk);
      next_ = chunk;
      end_ = chunk + kChunkSize;
    }
    object = next_;
    next_ += size;
  }
  allocated_ += size;
  return object;
}

Result<jit::VMGcHeader*, TrapCode> GcHeap::new_struct(uint32_t type_id,
                                                      const jit::GcLayout& layout) {
  uint8_t* memory = allocate(layout.size);
  if (!memory) return TrapCode::AllocationTooLarge;
  auto* header = reinterpret_cast<jit::VMGcHeader*>(memory);
  header->type_id = type_id;
  header->kind = jit::GcKind::Struct;
  return header;
}

Result<jit::VMGcArray*, TrapCode> GcHeap::new_array(uint32_t type_id, const jit::GcLayout& layout,
                                                    uint32_t length) {
  const uint32_t element_size = jit::storage_size(layout.fields.front().storage);
  const std::optional<uint64_t> size = jit::array_object_size(element_size, length);
  if (!size) return TrapCode::AllocationTooLarge;
  uint8_t* memory = allocate(*size);
  if (!memory) return TrapCode::AllocationTooLarge;
  auto* array = reinterpret_cast<jit::VMGcArray*>(memory);
  array->header.type_id = type_id;
  array->header.kind = jit::GcKind::Array;
  array->length = length;
  return array;
}

void write_gc_value(uint8_t* at, jit::GcStorage storage, uint64_t bits, const uint8_t* v128) {
  if (storage == jit::GcStorage::V128) {
    std::memcpy(at, v128, 16);
    return;
  }
  // Little-endian: the low bytes of `bits` are the value truncated to the storage's width.
  std::memcpy(at, &bits, jit::storage_size(storage));
}

}  // namespace kiln::runtime
