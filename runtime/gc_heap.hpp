// The GC heap of one Store: where struct and array objects (layout: jit/gc_object.hpp) live.
//
// No collector yet: every object lives until its Store is destroyed, however unreachable it
// becomes. A module that keeps allocating therefore runs into the heap's limit
// (EngineConfig::max_gc_heap_bytes) and traps with AllocationTooLarge instead of being
// collected. This is a known limitation of this first stage, documented in docs/jit-abi.md.
//
// Allocation is a bump pointer through chunks, so that compiled code can later allocate inline
// (a pointer compare and add against fields the VMStoreContext would expose); objects larger
// than a quarter of a chunk get a block of their own. Objects never move, so references held by
// the runtime (tables, globals, element segments) stay valid without being updated; a future
// collector that keeps this property needs no relocation, only the roots.
#pragma once

#include <cstdint>
#include <vector>

#include "jit/gc_object.hpp"
#include "kiln/error.hpp"
#include "kiln/trap.hpp"

namespace kiln::runtime {

class GcHeap {
 public:
  static constexpr uint64_t kChunkSize = 256 * 1024;
  static constexpr uint64_t kLargeObjectSize = kChunkSize / 4;

  explicit GcHeap(uint64_t max_bytes);
  ~GcHeap();
  GcHeap(const GcHeap&) = delete;
  GcHeap& operator=(const GcHeap&) = delete;

  // A struct of canonical type `type_id` whose layout is `layout`, every field zero (each
  // field's default: 0, +0.0 or null). TrapCode::AllocationTooLarge when the heap's limit would
  // be exceeded or the host is out of memory.
  Result<jit::VMGcHeader*, TrapCode> new_struct(uint32_t type_id, const jit::GcLayout& layout);
  // An array of `length` elements, every element zero. AllocationTooLarge as above, and when the
  // size does not fit in 64 bits.
  Result<jit::VMGcArray*, TrapCode> new_array(uint32_t type_id, const jit::GcLayout& layout,
                                              uint32_t length);

  // Bytes of objects allocated (each rounded up to kGcObjectAlignment) and the limit on them.
  uint64_t bytes_allocated() const { return allocated_; }
  uint64_t max_bytes() const { return max_bytes_; }

 private:
  // `size` zeroed bytes, kGcObjectAlignment-aligned, or nullptr when over the limit or out of
  // host memory.
  uint8_t* allocate(uint64_t size);

  uint64_t max_bytes_;
  uint64_t allocated_ = 0;
  uint8_t* next_ = nullptr;  // bump region of the current chunk: [next_, end_)
  uint8_t* end_ = nullptr;
  std::vector<void*> blocks_;  // chunks and large objects; freed with the heap
};

// Writes a value to a field or element: the low storage_size(storage) bytes of `bits`, or all of
// `v128` for GcStorage::V128. Packed fields keep the low 8 or 16 bits (struct.new's wrapping).
void write_gc_value(uint8_t* at, jit::GcStorage storage, uint64_t bits, const uint8_t* v128);

}  // namespace kiln::runtime
