// One engine and one module shared by several threads, each with its own store.
#include <algorithm>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include <kiln/kiln.hpp>

namespace wasmtime = kiln;
using namespace wasmtime;

int main() {
  Engine engine;
  Module module = Module::compile(engine, R"(
    (module
      (import "" "report" (func $report (param i32 i64)))
      (func $fib (param i64) (result i64)
        (if (result i64) (i64.lt_u (local.get 0) (i64.const 2))
          (then (local.get 0))
          (else (i64.add (call $fib (i64.sub (local.get 0) (i64.const 1)))
                         (call $fib (i64.sub (local.get 0) (i64.const 2)))))))
      (func (export "run") (param i32)
        (call $report (local.get 0) (call $fib (i64.extend_i32_u (i32.add (local.get 0) (i32.const 20)))))))
  )")
                      .unwrap();

  std::mutex mutex;
  std::vector<std::pair<int32_t, int64_t>> reports;
  std::vector<std::thread> threads;
  for (int32_t id = 0; id < 8; ++id) {
    threads.emplace_back([&, id, engine, module] {
      Store store(engine);
      Func report = Func::wrap(store, [&](int32_t who, int64_t value) {
        std::lock_guard<std::mutex> lock(mutex);
        reports.emplace_back(who, value);
      });
      auto instance = Instance::create(store, module, {report});
      if (!instance) return;
      std::get<Func>(*instance.unwrap().get(store, "run")).call(store, {id}).unwrap();
    });
  }
  for (auto& thread : threads) thread.join();
  std::sort(reports.begin(), reports.end());
  for (auto [who, value] : reports)
    std::cout << "thread " << who << ": fib(" << who + 20 << ") = " << value << "\n";
}
