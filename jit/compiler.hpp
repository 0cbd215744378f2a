// The single-pass compiler: one validated-while-compiled function body in, machine code out.
// It drives the validator (validator/) operator by operator and lowers each reachable operator
// once, through the MacroAssembler of the target (jit/masm.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "jit/masm.hpp"
#include "kiln/error.hpp"
#include "validator/validator.hpp"

namespace kiln::jit {

// Config::cranelift_opt_level as the single-pass JIT reads it (docs/embedding.md, "Optimisation
// levels"). None: locals are never cached in registers (every read of a local loads its frame
// slot). Speed: the default code. SpeedAndSize: Speed's code, with functions laid out back to
// back instead of 16-byte aligned (the runtime's layout, runtime/runtime.cpp).
enum class OptLevel : uint8_t { None = 0, Speed = 1, SpeedAndSize = 2 };

struct CompileOptions {
  bool guard_pages = true;  // 32-bit memories are 4 GiB reservations + guard: no bounds checks
  uint64_t guard_size = 32ull << 20;  // accesses with static offset + width beyond it are checked
  bool consume_fuel = false;
  bool epoch_interruption = false;
  OptLevel opt_level = OptLevel::Speed;
};

// One function's machine code, position-independent, with what the runtime needs to place it.
struct CompiledFunction {
  std::vector<uint8_t> code;
  std::vector<TrapSite> trap_sites;  // sorted by code_offset
  std::vector<CallSite> call_sites;  // direct calls to patch with the callee's address
  // (code offset, wasm offset) pairs in increasing code offset: the operator each instruction
  // range came from, for backtraces and `kiln compile --disassemble`.
  std::vector<std::pair<uint32_t, uint32_t>> source_map;
};

// What compiling one function after another reuses: the validator, the compiler's stacks and
// the assembler's buffers, so that a function costs no allocation beyond its output. One per
// thread; it refers to the module's types, which must outlive it.
class CompileScratch {
 public:
  explicit CompileScratch(const wasm::ModuleTypes& types);
  ~CompileScratch();
  CompileScratch(const CompileScratch&) = delete;
  CompileScratch& operator=(const CompileScratch&) = delete;

 private:
  friend Result<CompiledFunction> compile_function(uint32_t, CompileScratch&,
                                                   const CompileOptions&);
  struct State;
  std::unique_ptr<State> state_;
};

// Validates and compiles defined function `defined_index` of the scratch's module. Errors:
// validation errors as the validator words them, or "unsupported operator X at offset N" for an
// operator this JIT cannot lower yet.
Result<CompiledFunction> compile_function(uint32_t defined_index, CompileScratch& scratch,
                                          const CompileOptions& options = {});

// The same with a compiler set up for this one call (tests, one-off compiles); `scratch` is
// reused across calls.
Result<CompiledFunction> compile_function(const wasm::ModuleTypes& types, uint32_t defined_index,
                                          wasm::FuncValidator& scratch,
                                          const CompileOptions& options = {});

}  // namespace kiln::jit
