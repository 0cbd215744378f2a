// A module's memory from the host: size, reading and writing, growing, bounds.
#include <iostream>

#include <kiln/kiln.hpp>

namespace wasmtime = kiln;
using namespace wasmtime;

int main() {
  Engine engine;
  Module module = Module::compile(engine, R"(
    (module
      (memory (export "memory") 2 3)
      (func (export "size") (result i32) (memory.size))
      (func (export "load") (param i32) (result i32) (i32.load8_s (local.get 0)))
      (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
      (data (i32.const 0x1000) "\01\02\03\04"))
  )")
                      .unwrap();
  Store store(engine);
  Instance instance = Instance::create(store, module, {}).unwrap();
  Memory memory = std::get<Memory>(*instance.get(store, "memory"));
  Func size = std::get<Func>(*instance.get(store, "size"));
  Func load = std::get<Func>(*instance.get(store, "load"));
  Func store_fn = std::get<Func>(*instance.get(store, "store"));

  std::cout << "pages: " << memory.size(store) << ", bytes: " << memory.data(store).size() << "\n";
  std::cout << "byte 0x1002: " << int(memory.data(store)[0x1002]) << "\n";
  std::cout << "load(0x1003): " << load.call(store, {0x1003}).unwrap()[0].i32() << "\n";
  memory.data(store)[0x1003] = 5;
  std::cout << "after a host write, load(0x1003): " << load.call(store, {0x1003}).unwrap()[0].i32()
            << "\n";
  store_fn.call(store, {0x1002, 6}).unwrap();
  std::cout << "after a wasm write, byte 0x1002: " << int(memory.data(store)[0x1002]) << "\n";
  auto trapped = load.call(store, {0x20000});
  std::cout << "load(0x20000): " << trapped.err().message() << "\n";

  std::cout << "grow by 1: was " << memory.grow(store, 1).unwrap() << " pages\n";
  std::cout << "memory.size: " << size.call(store, {}).unwrap()[0].i32() << "\n";
  std::cout << "grow past the maximum: " << memory.grow(store, 1).err().message() << "\n";

  Memory fresh = Memory::create(store, MemoryType(5, 5)).unwrap();
  std::cout << "a host-made memory of " << fresh.size(store) << " pages\n";
}
