// kiln-bench-api: the embedding API's own costs (issue 7, point 8), through the public API only.
//
//   kiln-bench-api [ITERATIONS]
//
// Prints a Markdown table:
//   - instantiate: Instance::create of a small module (one function, one global, a 1-page memory)
//     into a fresh Store, and the same without a memory; store creation timed separately;
//   - host -> wasm: a TypedFunc call of an identity function, beside a native indirect call of
//     the same shape (a function pointer the compiler cannot see through);
//   - wasm -> host: a wasm loop calling an imported Func::wrap host function, per call, beside the
//     same loop calling a wasm function;
// each the best of 5 runs of ITERATIONS (default 100000; instantiation uses ITERATIONS / 20).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "kiln/kiln.hpp"

using namespace kiln;

namespace {

using Clock = std::chrono::steady_clock;

template <typename F>
double best_ns_per_iteration(int iterations, F&& body) {
  double best = 1e30;
  for (int run = 0; run < 5; ++run) {
    auto start = Clock::now();
    body(iterations);
    double ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
    best = std::min(best, ns / iterations);
  }
  return best;
}

__attribute__((noinline)) int32_t native_identity(int32_t x) {
  return x;
}
int32_t (*volatile native_pointer)(int32_t) = &native_identity;

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 100000;
  Engine engine;
  Module small = Module::compile(engine, R"((module
      (memory (export "memory") 1)
      (global (export "g") (mut i32) (i32.const 7))
      (func (export "f") (param i32) (result i32) (local.get 0))))")
                     .unwrap();
  Module no_memory = Module::compile(engine, R"((module
      (global (export "g") (mut i32) (i32.const 7))
      (func (export "f") (param i32) (result i32) (local.get 0))))")
                         .unwrap();
  Module calls = Module::compile(engine, R"((module
      (import "" "host" (func $host (param i32) (result i32)))
      (func $wasm (param i32) (result i32) (local.get 0))
      (func (export "identity") (param i32) (result i32) (local.get 0))
      (func (export "call_host") (param i32) (result i32) (local $acc i32)
        (loop $l
          (local.set $acc (i32.add (local.get $acc) (call $host (local.get 0))))
          (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
        (local.get $acc))
      (func (export "call_wasm") (param i32) (result i32) (local $acc i32)
        (loop $l
          (local.set $acc (i32.add (local.get $acc) (call $wasm (local.get 0))))
          (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
        (local.get $acc))))")
                     .unwrap();

  const int instantiations = std::max(1, iterations / 20);
  double store_ns = best_ns_per_iteration(instantiations, [&](int n) {
    for (int i = 0; i < n; ++i) Store store(engine);
  });
  double instantiate_ns = best_ns_per_iteration(instantiations, [&](int n) {
    for (int i = 0; i < n; ++i) {
      Store store(engine);
      Instance::create(store, small, {}).unwrap();
    }
  });
  double instantiate_no_memory_ns = best_ns_per_iteration(instantiations, [&](int n) {
    for (int i = 0; i < n; ++i) {
      Store store(engine);
      Instance::create(store, no_memory, {}).unwrap();
    }
  });

  Store store(engine);
  Func host = Func::wrap(store, [](int32_t x) { return x; });
  Instance instance = Instance::create(store, calls, {host}).unwrap();
  auto identity =
      std::get<Func>(*instance.get(store, "identity")).typed<int32_t, int32_t>(store).unwrap();
  auto call_host =
      std::get<Func>(*instance.get(store, "call_host")).typed<int32_t, int32_t>(store).unwrap();
  auto call_wasm =
      std::get<Func>(*instance.get(store, "call_wasm")).typed<int32_t, int32_t>(store).unwrap();

  int64_t sink = 0;
  double host_to_wasm_ns = best_ns_per_iteration(iterations, [&](int n) {
    for (int i = 0; i < n; ++i) sink += identity.call(store, i).unwrap();
  });
  double native_ns = best_ns_per_iteration(iterations, [&](int n) {
    for (int i = 0; i < n; ++i) sink += native_pointer(i);
  });
  double wasm_to_host_ns =
      best_ns_per_iteration(1, [&](int) { sink += call_host.call(store, iterations).unwrap(); }) /
      iterations;
  double wasm_to_wasm_ns =
      best_ns_per_iteration(1, [&](int) { sink += call_wasm.call(store, iterations).unwrap(); }) /
      iterations;

  std::printf("| what | time | note |\n|---|---:|---|\n");
  std::printf("| new Store | %.2f us | |\n", store_ns / 1000);
  std::printf("| new Store + Instance::create (1-page memory) | %.2f us | target < 10 us |\n",
              instantiate_ns / 1000);
  std::printf("| new Store + Instance::create (no memory) | %.2f us | |\n",
              instantiate_no_memory_ns / 1000);
  std::printf(
      "| host -> wasm call (TypedFunc) | %.1f ns | %.1fx a native indirect call (%.1f ns) |\n",
      host_to_wasm_ns, host_to_wasm_ns / native_ns, native_ns);
  std::printf(
      "| wasm -> host call (Func::wrap) | %.1f ns | %.1fx a wasm -> wasm call (%.1f ns) |\n",
      wasm_to_host_ns, wasm_to_host_ns / wasm_to_wasm_ns, wasm_to_wasm_ns);
  std::fprintf(stderr, "(checksum %lld)\n", (long long)sink);
}
