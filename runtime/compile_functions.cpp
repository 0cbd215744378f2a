#include "runtime/compile_functions.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <optional>
#include <system_error>
#include <thread>

namespace kiln::runtime {

namespace {

// Consecutive functions [begin, end) handed to one worker at a time.
struct Chunk {
  uint32_t begin = 0, end = 0;
};

// Chunks of about `target` body bytes (at least one function each): small enough that the
// workers finish together even when one function is much larger than the rest, large enough
// that taking the next chunk (one atomic add) costs nothing beside compiling it.
std::vector<Chunk> split_by_size(const std::vector<wasm::FunctionBody>& bodies, uint64_t target) {
  std::vector<Chunk> chunks;
  Chunk chunk;
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < bodies.size(); ++i) {
    bytes += bodies[i].range.size;
    chunk.end = i + 1;
    if (bytes >= target) {
      chunks.push_back(chunk);
      chunk.begin = chunk.end;
      bytes = 0;
    }
  }
  if (chunk.end > chunk.begin) chunks.push_back(chunk);
  return chunks;
}

uint64_t body_bytes(const std::vector<wasm::FunctionBody>& bodies) {
  uint64_t total = 0;
  for (const wasm::FunctionBody& body : bodies) total += body.range.size;
  return total;
}

Result<std::vector<jit::CompiledFunction>> compile_serially(const wasm::ModuleTypes& types,
                                                            const FunctionCompiler& compiler,
                                                            const jit::CompileOptions& options) {
  const uint32_t defined = uint32_t(types.module().bodies.size());
  std::vector<jit::CompiledFunction> functions;
  functions.reserve(defined);
  jit::CompileScratch scratch(types);
  for (uint32_t i = 0; i < defined; ++i) {
    auto compiled = compiler(types, i, scratch, options);
    if (!compiled) return std::move(compiled.err());
    functions.push_back(std::move(compiled.ok()));
  }
  return functions;
}

}  // namespace

unsigned compile_thread_count(const CompileThreads& threads, uint64_t body_bytes, size_t chunks) {
  if (!threads.parallel || body_bytes < threads.min_body_bytes) return 1;
  const unsigned cpus = threads.threads ? threads.threads : std::thread::hardware_concurrency();
  return unsigned(std::clamp<size_t>(chunks, 1, std::max(cpus, 1u)));
}

Result<std::vector<jit::CompiledFunction>> compile_functions(const wasm::ModuleTypes& types,
                                                             const FunctionCompiler& compiler,
                                                             const jit::CompileOptions& options,
                                                             const CompileThreads& threads) {
  const std::vector<wasm::FunctionBody>& bodies = types.module().bodies;
  const uint64_t total = body_bytes(bodies);
  const unsigned cpus = compile_thread_count(threads, total, bodies.size());
  if (cpus <= 1) return compile_serially(types, compiler, options);
  // About eight chunks per worker.
  const std::vector<Chunk> chunks =
      split_by_size(bodies, std::max<uint64_t>(total / (8 * cpus), 1));
  const unsigned workers = compile_thread_count(threads, total, chunks.size());
  if (workers <= 1) return compile_serially(types, compiler, options);

  const uint32_t defined = uint32_t(bodies.size());
  std::vector<jit::CompiledFunction> functions(defined);
  std::vector<std::optional<Error>> errors(defined);
  // The lowest index that failed so far: functions above it need not be compiled (the lowest
  // failure is the one reported, as the serial loop would), functions below it must.
  std::atomic<uint32_t> first_failure{UINT32_MAX};
  std::atomic<size_t> next_chunk{0};
  auto fail = [&](uint32_t index, Error error) {
    errors[index] = std::move(error);
    uint32_t seen = first_failure.load();
    while (index < seen && !first_failure.compare_exchange_weak(seen, index)) {
    }
  };
  auto work = [&] {
    std::optional<jit::CompileScratch> scratch;  // made by the thread that uses it
    for (size_t c = next_chunk.fetch_add(1); c < chunks.size(); c = next_chunk.fetch_add(1)) {
      for (uint32_t i = chunks[c].begin; i < chunks[c].end && i < first_failure.load(); ++i) {
        // A worker must not let an exception escape its thread (that would terminate the
        // process): it becomes the function's failure, reported in index order like any other.
        try {
          if (!scratch) scratch.emplace(types);
          auto compiled = compiler(types, i, *scratch, options);
          if (!compiled) {
            fail(i, std::move(compiled.err()));
            break;
          }
          functions[i] = std::move(compiled.ok());
        } catch (const std::exception& e) {
          fail(i, Error("internal error while compiling function " +
                        std::to_string(types.module().imported_funcs + i) + ": " + e.what()));
          break;
        }
      }
    }
  };
  {
    std::vector<std::jthread> helpers;
    helpers.reserve(workers - 1);
    try {
      for (unsigned t = 1; t < workers; ++t) helpers.emplace_back(work);
    } catch (const std::system_error&) {
      // No more threads to be had: the workers there are (the caller at least) do it all.
    }
    work();
  }  // joined
  if (const uint32_t failed = first_failure.load(); failed != UINT32_MAX) {
    return std::move(*errors[failed]);
  }
  return functions;
}

}  // namespace kiln::runtime
