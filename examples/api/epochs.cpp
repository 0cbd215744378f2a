// Epoch interruption: another thread bounds how long wasm runs (the seed's "Epoch-based
// Interruption"). The store's deadline is a number of ticks beyond the current epoch; a second
// thread ticks the engine's epoch, and the infinite loop stops with a trap once the deadline
// passes. The check costs a load and a compare at function entries and loop headers.
#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include <kiln/kiln.hpp>

namespace wasmtime = kiln;
using namespace wasmtime;

int main() {
  Config config;
  config.epoch_interruption(true);
  Engine engine(std::move(config));
  Store store(engine);
  Module module = Module::compile(engine, R"(
    (module
      (global $iterations (export "iterations") (mut i64) (i64.const 0))
      (func (export "run_forever")
        (loop $forever
          (global.set $iterations (i64.add (global.get $iterations) (i64.const 1)))
          (br $forever))))
  )")
                      .unwrap();
  Instance instance = Instance::create(store, module, {}).unwrap();
  Func run_forever = std::get<Func>(*instance.get(store, "run_forever"));

  // Interrupt after 5 ticks; the ticker thread ticks every 10 ms.
  store.context().set_epoch_deadline(5);
  std::atomic<bool> done = false;
  std::thread ticker([&] {
    while (!done.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      engine.increment_epoch();
    }
  });

  auto result = run_forever.call(store, {});
  done = true;
  ticker.join();
  if (result) {
    std::cout << "the loop returned?\n";
    return 1;
  }
  std::cout << "interrupted: " << result.err().message().substr(0, result.err().message().find('\n'))
            << "\n";
  Global iterations = std::get<Global>(*instance.get(store, "iterations"));
  std::cout << "the loop ran: " << (iterations.get(store).i64() > 0 ? "yes" : "no") << "\n";

  // A deadline callback may extend the deadline instead: here three times, then stop.
  int extensions = 0;
  store.context().epoch_deadline_callback([&](Store::Context) -> Result<uint64_t, Trap> {
    std::cout << "deadline reached; extending (" << ++extensions << ")\n";
    if (extensions == 3) return Trap("stopped by the deadline callback");
    return uint64_t(1);
  });
  store.context().set_epoch_deadline(1);
  done = false;
  std::thread second_ticker([&] {
    while (!done.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      engine.increment_epoch();
    }
  });
  auto second = run_forever.call(store, {});
  done = true;
  second_ticker.join();
  std::cout << "stopped: " << (second ? std::string("no") : second.err().message().substr(0, second.err().message().find('\n'))) << "\n";

  // The store is usable again once the deadline is moved.
  store.context().epoch_deadline_trap();
  store.context().set_epoch_deadline(1000);
  Module quick = Module::compile(engine, "(module (func (export \"answer\") (result i32) i32.const 42))").unwrap();
  Instance answer_instance = Instance::create(store, quick, {}).unwrap();
  Func answer = std::get<Func>(*answer_instance.get(store, "answer"));
  std::cout << "answer: " << answer.call(store, {}).unwrap()[0].i32() << "\n";
}
