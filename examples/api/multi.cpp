// Several parameters and results, both ways across the boundary.
#include <iostream>

#include <kiln/kiln.hpp>

namespace wasmtime = kiln;
using namespace wasmtime;

int main() {
  Engine engine;
  Module module = Module::compile(engine, R"(
    (module
      (func $swap (import "" "swap") (param i32 i64) (result i64 i32))
      (func (export "g") (param i32 i64) (result i64 i32)
        (call $swap (local.get 0) (local.get 1)))
      (func (export "round_trip_many") (param i64 i64 i64 i64 i64) (result i64 i64 i64 i64 i64)
        local.get 0 local.get 1 local.get 2 local.get 3 local.get 4))
  )")
                      .unwrap();
  Store store(engine);
  Func swap = Func::wrap(store, [](int32_t a, int64_t b) -> std::tuple<int64_t, int32_t> {
    std::cout << "host got " << a << " and " << b << "\n";
    return {b + 1, a + 1};
  });
  Instance instance = Instance::create(store, module, {swap}).unwrap();
  Func g = std::get<Func>(*instance.get(store, "g"));
  auto results = g.call(store, {Val(int32_t(1)), Val(int64_t(3))}).unwrap();
  std::cout << "g returned " << results[0].i64() << " and " << results[1].i32() << "\n";

  Func many = std::get<Func>(*instance.get(store, "round_trip_many"));
  std::vector<Val> args;
  for (int64_t k = 0; k < 5; ++k) args.push_back(Val(k * 10));
  auto back = many.call(store, args).unwrap();
  std::cout << "round_trip_many returned " << back.size() << " values:";
  for (const Val& v : back) std::cout << " " << v.i64();
  std::cout << "\n";
}
