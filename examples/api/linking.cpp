// Two modules linked by name: one's exports satisfy the other's imports.
#include <iostream>

#include <kiln/kiln.hpp>

namespace wasmtime = kiln;
using namespace wasmtime;

int main() {
  Engine engine;
  Module library = Module::compile(engine, R"(
    (module
      (memory (export "memory") 1)
      (global $next (mut i32) (i32.const 64))
      (func (export "alloc") (param i32) (result i32)
        (global.get $next)
        (global.set $next (i32.add (global.get $next) (local.get 0)))))
  )")
                       .unwrap();
  Module program = Module::compile(engine, R"(
    (module
      (import "lib" "memory" (memory 1))
      (import "lib" "alloc" (func $alloc (param i32) (result i32)))
      (import "host" "print" (func $print (param i32)))
      (func (export "run")
        (call $print (call $alloc (i32.const 16)))
        (call $print (call $alloc (i32.const 16)))))
  )")
                       .unwrap();

  Store store(engine);
  Linker linker(engine);
  linker
      .func_wrap("host", "print",
                 [](int32_t value) { std::cout << "allocated at " << value << "\n"; })
      .unwrap();
  Instance lib = linker.instantiate(store, library).unwrap();
  linker.define_instance(store, "lib", lib).unwrap();
  Instance instance = linker.instantiate(store, program).unwrap();
  std::get<Func>(*instance.get(store, "run")).call(store, {}).unwrap();
}
