// A host function imported by a module and called from wasm. Written as a program for
// Wasmtime's C++ API would be: only the include and the namespace alias differ.
#include <iostream>

#include <kiln/kiln.hpp>

namespace wasmtime = kiln;
using namespace wasmtime;

int main() {
  Engine engine;
  Module module = Module::compile(engine, R"(
    (module
      (import "" "hello" (func $hello))
      (func (export "run") (call $hello)))
  )")
                      .unwrap();
  Store store(engine);
  Func hello = Func::wrap(store, [] { std::cout << "Hello from the host!\n"; });
  Instance instance = Instance::create(store, module, {hello}).unwrap();
  Func run = std::get<Func>(*instance.get(store, "run"));
  run.call(store, {}).unwrap();
  std::cout << "done\n";
}
