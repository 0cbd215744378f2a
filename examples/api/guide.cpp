// The program of docs/embedding.md (kept identical: the test checks it compiles and runs).
#include <iostream>
#include <kiln/kiln.hpp>

using namespace kiln;

int main() {
  Engine engine;                                    // settings + compiled-code environment
  Module module = Module::compile(engine, R"(
    (module
      (import "host" "log" (func $log (param i32)))
      (memory (export "memory") 1)
      (func (export "run") (param i32) (result i32)
        (call $log (local.get 0))
        (i32.mul (local.get 0) (i32.const 2))))
  )").unwrap();                                     // text or binary; errors are values

  Store store(engine);                              // owns instances, memories, host functions
  store.context().set_data(std::string("tag"));     // the embedder's data, one per store

  Func log = Func::wrap(store, [](Caller caller, int32_t value) {
    // The caller reaches the calling instance's exports and the store's data.
    auto memory = std::get<Memory>(*caller.get_export("memory"));
    std::cout << "log " << value << " (" << memory.size(caller) << " page)\n";
  });

  auto instance = Instance::create(store, module, {log});   // imports in module order
  if (!instance) { std::cerr << instance.err().message() << "\n"; return 1; }
  Func run = std::get<Func>(*instance.ok().get(store, "run"));

  auto typed = run.typed<int32_t, int32_t>(store).unwrap();  // checked once, no boxing
  auto result = typed.call(store, 21);
  if (!result) {                                     // a Trap (code, frames) or an Error
    std::cerr << result.err().message() << "\n";
    return 1;
  }
  std::cout << "run(21) = " << result.ok() << "\n";
}
