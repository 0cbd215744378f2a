// The VMContext: what compiled code reads through r14. A plain struct with a fixed layout; the
// JIT uses the offsetof constants below, the runtime fills the fields. See docs/jit-abi.md.
// It lives in jit/ because the compiler needs the offsets and jit/ must not include runtime/.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kiln::jit {

// One linear memory as compiled code sees it. Memories of 32-bit index type are a reservation
// of 4 GiB plus a guard region that never moves, so `base` is stable for their lifetime.
struct VMMemory {
  uint8_t* base;
  uint64_t size;  // in bytes, current
};

// A function as a value: enough to call it from anywhere.
struct VMFuncRef {
  const uint8_t* code;  // entry point, Kiln's wasm calling convention
  void* vmctx;          // the VMContext of the instance it belongs to (or host-function data)
  uint32_t type_id;     // canonical type id (engine-wide), for call_indirect and casts
  uint32_t reserved;
};

struct VMTable {
  void** elements;  // funcref tables: VMFuncRef*; externref/anyref: opaque pointers; null = 0
  uint64_t size;    // current number of elements
};

// A global's storage: 16 bytes so v128 fits; i32/f32 in the low 4 bytes, i64/f64/refs in 8.
struct alignas(16) VMGlobal {
  uint8_t bytes[16];
};

// Per-Store state shared by every instance of the store (fuel, epoch deadline).
struct VMStoreContext {
  // Minus the fuel left (docs/fuel-epochs.md): compiled code adds each block's cost and, at
  // function entries and loop headers, stops when it is >= 0 (no fuel left).
  int64_t fuel_consumed;
  uint64_t epoch_deadline;  // the check stops when *VMContext::epoch_counter >= this
  uintptr_t stack_limit;    // lowest rsp compiled code may use (with a margin for host calls)
};

struct VMContext {
  uint64_t magic;                 // kVMContextMagic, checked in debug builds
  uintptr_t stack_limit;          // copied from the store on every entry from the host
  uint8_t* memory0_base;          // memory 0's base (kept current by the runtime)
  VMMemory* memory0;              // memory 0's definition (size)
  VMMemory** memories;            // every memory's definition, imported ones included
  VMGlobal** globals;             // every global's storage, imported ones included
  VMFuncRef* func_refs;           // every function, imported ones included
  VMTable** tables;               // every table, imported ones included
  const uint32_t* type_ids;       // canonical type id of each type index of the module
  const void* const* builtins;    // runtime helpers, indexed by jit::Builtin
  VMStoreContext* store;          // fuel, epoch deadline
  const uint64_t* epoch_counter;  // the engine's epoch counter
  void* instance;                 // the runtime's Instance object (opaque here)
};

inline constexpr uint64_t kVMContextMagic = 0x6B696C6E766D6378ull;  // "kilnvmcx"

// Offsets the compiler emits; the static_asserts keep them honest.
namespace vm_offsets {
inline constexpr int32_t kStackLimit = offsetof(VMContext, stack_limit);
inline constexpr int32_t kMemory0Base = offsetof(VMContext, memory0_base);
inline constexpr int32_t kMemory0 = offsetof(VMContext, memory0);
inline constexpr int32_t kMemories = offsetof(VMContext, memories);
inline constexpr int32_t kGlobals = offsetof(VMContext, globals);
inline constexpr int32_t kFuncRefs = offsetof(VMContext, func_refs);
inline constexpr int32_t kTables = offsetof(VMContext, tables);
inline constexpr int32_t kTypeIds = offsetof(VMContext, type_ids);
inline constexpr int32_t kBuiltins = offsetof(VMContext, builtins);
inline constexpr int32_t kStore = offsetof(VMContext, store);
inline constexpr int32_t kEpochCounter = offsetof(VMContext, epoch_counter);
inline constexpr int32_t kFuelConsumed = offsetof(VMStoreContext, fuel_consumed);
inline constexpr int32_t kEpochDeadline = offsetof(VMStoreContext, epoch_deadline);
inline constexpr int32_t kMemoryBase = offsetof(VMMemory, base);
inline constexpr int32_t kMemorySize = offsetof(VMMemory, size);
inline constexpr int32_t kFuncRefCode = offsetof(VMFuncRef, code);
inline constexpr int32_t kFuncRefVmctx = offsetof(VMFuncRef, vmctx);
inline constexpr int32_t kFuncRefTypeId = offsetof(VMFuncRef, type_id);
inline constexpr int32_t kFuncRefSize = sizeof(VMFuncRef);
inline constexpr int32_t kTableElements = offsetof(VMTable, elements);
inline constexpr int32_t kTableSize = offsetof(VMTable, size);
}  // namespace vm_offsets

static_assert(sizeof(VMFuncRef) == 24);
static_assert(sizeof(VMGlobal) == 16);
static_assert(vm_offsets::kStackLimit == 8, "the prologue's stack check reads this offset");

// Runtime helpers compiled code calls through VMContext::builtins, with the System V ABI.
// Each takes the caller's VMContext* first. Signatures are documented at their definition in
// runtime/; a helper that traps returns a TrapCode + 1 (0 = no trap) where noted.
enum class Builtin : uint32_t {
  MemoryGrow,  // uint64_t (VMContext*, uint32_t memory, uint64_t delta_pages) -> old or -1
  MemoryFill,  // uint32_t (VMContext*, uint32_t memory, uint64_t dst, uint32_t val, uint64_t n)
  MemoryCopy,  // uint32_t (VMContext*, uint32_t dst_mem, uint32_t src_mem, u64 dst, u64 src, u64 n)
  MemoryInit,  // uint32_t (VMContext*, uint32_t memory, uint32_t data, u64 dst, u32 src, u32 n)
  DataDrop,    // void (VMContext*, uint32_t data)
  TableGrow,   // uint64_t (VMContext*, uint32_t table, void* init, uint64_t delta) -> old or -1
  TableFill,   // uint32_t (VMContext*, uint32_t table, uint64_t dst, void* value, uint64_t n)
  TableCopy,   // uint32_t (VMContext*, uint32_t dst_t, uint32_t src_t, u64 dst, u64 src, u64 n)
  TableInit,   // uint32_t (VMContext*, uint32_t table, uint32_t elem, u64 dst, u32 src, u32 n)
  ElemDrop,    // void (VMContext*, uint32_t elem)
  // call_indirect's slow path, after the exact type-id compare failed: the callee itself when
  // its type is a declared subtype of `expected` (GC subtyping), otherwise null.
  FuncRefSubtype,  // const VMFuncRef* (VMContext*, const VMFuncRef* callee, uint32_t expected)
  // The slow path of the fuel and epoch checks (docs/fuel-epochs.md): out of fuel or past the
  // epoch deadline, runs the store's callback or decides the trap.
  InterruptCheck,  // uint32_t (VMContext*) -> 0 to continue, or 1 after recording the trap
  // Not System V: the trampoline compiled code calls at a failed check (with r14 = its
  // VMContext). It preserves every register compiled code allocates (the check sits at loop
  // headers, where cached locals are live), calls InterruptCheck and, when that says trap,
  // executes the host-call stub's deferred-trap ud2.
  InterruptStub,
  // An atomic access (threads) on a host address the compiled code checked (in bounds and
  // aligned): `code` is the operator's 0xFE code (atomic.fence included).
  Atomic,  // uint64_t (VMContext*, uint32_t code, uint8_t* address, uint64_t operand, uint64_t replacement)
  Count,
};

// The 0xFE operators that access memory: memory.atomic.notify (0x00), wait32 (0x01), wait64
// (0x02), then from i32.atomic.load (0x10) to i64.atomic.rmw32.cmpxchg_u (0x4E) groups of seven
// operators, one per width, in the same order in every group.
enum class AtomicGroup : uint8_t { Load, Store, Add, Sub, And, Or, Xor, Xchg, Cmpxchg, Notify, Wait };
inline constexpr uint32_t kAtomicNotify = 0x00, kAtomicWait32 = 0x01, kAtomicWait64 = 0x02,
                          kAtomicFence = 0x03;
inline constexpr uint32_t kAtomicFirstAccess = 0x10;
inline constexpr uint32_t kAtomicLastAccess = 0x4E;
struct AtomicAccess {
  AtomicGroup group;
  uint8_t bytes;  // the access width
  bool wide;      // the operator's value operands and result are i64 (not wait64's: i32 result)
  // The operands on the wasm stack, the address included, and whether there is a result.
  uint8_t operands() const {
    switch (group) {
      case AtomicGroup::Load:
        return 1;
      case AtomicGroup::Cmpxchg:
      case AtomicGroup::Wait:
        return 3;
      default:
        return 2;
    }
  }
  bool has_result() const { return group != AtomicGroup::Store; }
  bool result_wide() const { return wide && group != AtomicGroup::Wait; }
};
constexpr AtomicAccess atomic_access(uint32_t code) {
  if (code == kAtomicNotify) return {AtomicGroup::Notify, 4, false};
  if (code == kAtomicWait32) return {AtomicGroup::Wait, 4, false};
  if (code == kAtomicWait64) return {AtomicGroup::Wait, 8, true};
  constexpr uint8_t kBytes[7] = {4, 8, 1, 2, 1, 2, 4};
  constexpr bool kWide[7] = {false, true, false, false, true, true, true};
  const uint32_t at = code - kAtomicFirstAccess;
  return {AtomicGroup(at / 7), kBytes[at % 7], kWide[at % 7]};
}

}  // namespace kiln::jit
