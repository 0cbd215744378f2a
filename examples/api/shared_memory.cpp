// A memory shared by threads: each thread has its own store and instance, all of them import
// the same SharedMemory and count into it with atomic adds.
#include <cstring>
#include <iostream>
#include <thread>
#include <vector>

#include <kiln/kiln.hpp>

namespace wasmtime = kiln;
using namespace wasmtime;

int main() {
  Engine engine;
  Module module = Module::compile(engine, R"(
    (module
      (import "env" "memory" (memory 1 2 shared))
      (func (export "count") (param $times i32)
        (loop $again
          (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
          (br_if $again (local.tee $times (i32.sub (local.get $times) (i32.const 1)))))))
  )")
                      .unwrap();
  MemoryType type = MemoryType::Builder().min(1).max(2).shared(true).build().unwrap();
  SharedMemory memory = SharedMemory::create(engine, type).unwrap();

  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      Store store(engine);  // one store per thread; the engine and module are shared
      Linker linker(engine);
      linker.define(store, "env", "memory", memory).unwrap();
      Instance instance = linker.instantiate(store, module).unwrap();
      std::get<Func>(*instance.get(store, "count")).call(store, {100000}).unwrap();
    });
  }
  for (std::thread& thread : threads) thread.join();

  int32_t total = 0;
  std::memcpy(&total, memory.data().data(), sizeof total);
  std::cout << "4 threads counted to " << total << "\n";
  std::cout << "grow: " << memory.grow(1).unwrap() << " -> " << memory.size() << " pages\n";
}
