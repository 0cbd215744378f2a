// Fuel: a store runs a bounded amount of wasm (Wasmtime's fuel example, and the seed's
// "Fuel-based Execution Control"). Each call gets 10,000 units; the cost of each operator is in
// docs/fuel-epochs.md, so the figures below are the same on every run and every machine.
#include <iostream>

#include <kiln/kiln.hpp>

namespace wasmtime = kiln;
using namespace wasmtime;

int main() {
  Config config;
  config.consume_fuel(true);
  Engine engine(std::move(config));
  Store store(engine);
  Module module = Module::compile(engine, R"(
    (module
      (func $fibonacci (export "fibonacci") (param $n i32) (result i32)
        (if (result i32) (i32.lt_s (local.get $n) (i32.const 2))
          (then (local.get $n))
          (else
            (i32.add
              (call $fibonacci (i32.sub (local.get $n) (i32.const 1)))
              (call $fibonacci (i32.sub (local.get $n) (i32.const 2))))))))
  )")
                      .unwrap();
  Instance instance = Instance::create(store, module, {}).unwrap();
  Func fibonacci = std::get<Func>(*instance.get(store, "fibonacci"));

  store.context().set_fuel(10000).unwrap();
  for (int32_t n = 1;; ++n) {
    uint64_t fuel_before = store.context().get_fuel().unwrap();
    auto result = fibonacci.call(store, {n});
    if (!result) {
      std::cout << "Exhausted fuel computing fib(" << n << "): " << result.err().message() << "\n";
      break;
    }
    uint64_t consumed = fuel_before - store.context().get_fuel().unwrap();
    std::cout << "fib(" << n << ") = " << result.ok()[0].i32() << " [consumed " << consumed
              << " fuel]\n";
    store.context().set_fuel(10000).unwrap();
  }

  // The store stays usable after running out: more fuel, and the next call runs.
  store.context().set_fuel(100000).unwrap();
  std::cout << "fib(15) = " << fibonacci.call(store, {int32_t(15)}).unwrap()[0].i32()
            << " with more fuel; remaining: " << store.context().get_fuel().unwrap() << "\n";
}
