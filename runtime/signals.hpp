// Traps in compiled code: the signal handler, the per-thread activation records of the entry
// trampoline and the registry of compiled code the handler consults.
//
// A fault (SIGSEGV/SIGBUS from a guard page, SIGILL from a ud2 trap stub, SIGFPE) is ours only
// when the thread is running wasm (it has an activation) and the pc is a registered trap site.
// Then the handler records the trap in the activation and resumes the thread at the entry
// trampoline's trap landing. Anything else goes to the handler installed before ours.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "jit/masm.hpp"
#include "jit/x64/trampolines.hpp"
#include "kiln/trap.hpp"
#include "runtime/source_map.hpp"

namespace kiln::runtime {

// One function's code inside a registered range.
struct CodeFunction {
  uint32_t code_offset = 0;  // from the range's start
  uint32_t code_size = 0;
  uint32_t func_index = 0;  // in the module's function index space
};

// What the registry knows about one range of compiled code. Immutable while registered.
struct CodeInfo {
  uintptr_t start = 0;
  uintptr_t end = 0;
  std::vector<jit::TrapSite> trap_sites;  // offsets from `start`, sorted
  // A trap site whose code the runtime records in the activation before executing it (the
  // host-call stub's ud2). UINT32_MAX = none.
  uint32_t deferred_trap_offset = UINT32_MAX;
  std::vector<CodeFunction> functions;  // sorted by code_offset (empty for the trampolines)
  // Code offsets (from `start`) to wasm offsets.
  SourceMap source_map;
  const void* owner = nullptr;  // the runtime Module, for backtraces

  const jit::TrapSite* find_trap_site(uint32_t offset) const;
  const CodeFunction* find_function(uint32_t offset) const;
  // The wasm offset of the operator the instruction at `offset` came from.
  std::optional<uint32_t> wasm_offset_at(uint32_t offset) const;
};

// The code registry: read by the signal handler without locks (readers are counted; a writer
// publishes a new sorted snapshot and frees the old one once no reader is inside).
void register_code(const CodeInfo* info);
void unregister_code(const CodeInfo* info);
// The registered range holding `pc`, or null. Outside the signal handler the caller must keep
// the range's owner alive.
const CodeInfo* find_code(uintptr_t pc);

// A call from the host into wasm: pushed by `call_wasm` for the duration of the call.
struct Activation {
  jit::x64::EntryRecord entry;  // first: the trampoline writes it
  Activation* previous = nullptr;
  // Written by the signal handler (or the host-call path) on a trap.
  bool trapped = false;
  TrapCode trap_code = TrapCode::UnreachableCodeReached;
  uintptr_t trap_pc = 0;
  uintptr_t trap_rbp = 0;
  // rax at a compiled trap site (not a host function's): call_indirect keeps the element index
  // there at its IndirectCallToNull check (docs/jit-abi.md).
  std::optional<uint64_t> trap_rax;
  // The return addresses of the frames between the trap and the entry trampoline, innermost
  // first (trap_frames[0] is trap_pc), collected by the handler while the stack is intact: once
  // the thread resumes at the trap landing, that part of the stack is reused.
  // Not zeroed: only the first trap_frame_count entries are ever read, and clearing 512 bytes
  // on every host->wasm call would cost more than the call itself.
  static constexpr uint32_t kMaxTrapFrames = 64;
  uintptr_t trap_frames[kMaxTrapFrames];
  uint32_t trap_frame_count = 0;
  // A host function that fails records its trap here before its stub executes the ud2 (and so
  // does the InterruptCheck builtin before the interrupt stub jumps to that ud2).
  TrapCode pending_host_trap = TrapCode::UnreachableCodeReached;
};
static_assert(offsetof(Activation, entry) == 0);

// The innermost activation of this thread, or null outside wasm.
Activation* current_activation();

// Installs the SIGSEGV, SIGBUS, SIGILL and SIGFPE handlers (chaining to the handlers installed
// before). Idempotent; reinstalls ours (saving the current handler as the one to chain to)
// when someone replaced it since.
void install_signal_handlers();

// Lowest address compiled code may push to on this thread: the stack's low end plus a margin
// for host functions, runtime helpers and signal delivery. Computed once per thread.
uintptr_t thread_stack_limit();
inline constexpr uintptr_t kStackMargin = 64 * 1024;
inline constexpr uintptr_t kMaxWasmStack = 256ull << 20;

// The shared trampolines, mapped executable and registered once per process.
struct TrampolineCode {
  jit::x64::EntryFunction entry = nullptr;
  const uint8_t* trap_landing = nullptr;
  const uint8_t* host_stub = nullptr;
  const uint8_t* interrupt_stub = nullptr;  // jit::Builtin::InterruptStub
};
const TrampolineCode& trampolines();

// Calls compiled code through the entry trampoline on this thread (see trampolines.hpp).
// Returns true when the call returned; false when it trapped, with `activation` describing it.
bool call_wasm(const uint8_t* code, void* vmctx, uint64_t* values, uint32_t param_slots,
               uint32_t result_slots, Activation& activation);

}  // namespace kiln::runtime
