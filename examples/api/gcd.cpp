// Calls an exported function with arguments, untyped and typed.
#include <iostream>

#include <kiln/kiln.hpp>

namespace wasmtime = kiln;
using namespace wasmtime;

int main() {
  Engine engine;
  Module module = Module::compile(engine, R"(
    (module
      (func $gcd (export "gcd") (param i32 i32) (result i32)
        (if (result i32) (i32.eqz (local.get 1))
          (then (local.get 0))
          (else (call $gcd (local.get 1) (i32.rem_u (local.get 0) (local.get 1)))))))
  )")
                      .unwrap();
  Store store(engine);
  Instance instance = Instance::create(store, module, {}).unwrap();
  Func gcd = std::get<Func>(*instance.get(store, "gcd"));
  auto results = gcd.call(store, {6, 27}).unwrap();
  std::cout << "gcd(6, 27) = " << results[0].i32() << "\n";
  auto typed = gcd.typed<std::tuple<int32_t, int32_t>, int32_t>(store).unwrap();
  std::cout << "gcd(1071, 462) = " << typed.call(store, {1071, 462}).unwrap() << "\n";
}
