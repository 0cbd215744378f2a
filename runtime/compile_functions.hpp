// Compiling a module's defined functions, on the calling thread or on worker threads
// (Config::parallel_compilation). Either way the result is the same: the functions in index
// order, each compiled from the same bytes with the same options, so the code the runtime lays
// out from them is byte-identical; and a failure is the lowest-indexed failing function's.
#pragma once

#include <cstdint>
#include <vector>

#include "jit/compiler.hpp"
#include "kiln/error.hpp"
#include "runtime/runtime.hpp"

namespace kiln::runtime {

struct CompileThreads {
  bool parallel = true;
  unsigned threads = 0;         // workers, the calling thread included; 0: the CPUs there are
  uint64_t min_body_bytes = 0;  // modules whose bodies are smaller compile on the caller
};

// How many threads compile_functions would use for a module whose bodies total `body_bytes`
// split in `chunks` chunks (1: the calling thread alone).
unsigned compile_thread_count(const CompileThreads& threads, uint64_t body_bytes, size_t chunks);

// Compiles defined functions [0, types.module().bodies.size()) with `compiler`, which must be
// callable from several threads at once when `threads.parallel` (each call gets a scratch of
// its own thread's).
Result<std::vector<jit::CompiledFunction>> compile_functions(const wasm::ModuleTypes& types,
                                                             const FunctionCompiler& compiler,
                                                             const jit::CompileOptions& options,
                                                             const CompileThreads& threads);

}  // namespace kiln::runtime
