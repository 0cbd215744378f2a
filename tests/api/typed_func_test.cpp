// The public API: TypedFunc (include/kiln/store.hpp), Func's statically typed view.
#include <catch2/catch.hpp>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;
using test::contains;

TEST_CASE("TypedFunc: static signatures, checked once", "[api][func]") {
  Engine engine;
  Store store(engine);
  Module module = compile(engine, R"((module
    (func (export "mul") (param i32 i32) (result i32) (i32.mul (local.get 0) (local.get 1)))
    (func (export "split") (param i64) (result i32 i32)
      (i32.wrap_i64 (local.get 0)) (i32.wrap_i64 (i64.shr_u (local.get 0) (i64.const 32))))
    (func (export "div") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))))");
  auto instance = Instance::create(store, module, {});
  REQUIRE(instance);
  Func mul = std::get<Func>(*instance.ok().get(store, "mul"));
  auto typed = mul.typed<std::tuple<int32_t, int32_t>, int32_t>(store);
  REQUIRE(typed);
  auto product = typed.ok().call(store, {6, 7});
  REQUIRE(product);
  CHECK(product.ok() == 42);

  auto mistyped = mul.typed<int64_t, int32_t>(store);
  REQUIRE_FALSE(mistyped);
  CHECK(contains(mistyped.err().message(), "does not match"));

  Func split = std::get<Func>(*instance.ok().get(store, "split"));
  auto halves = split.typed<uint64_t, std::tuple<uint32_t, uint32_t>>(store);
  REQUIRE(halves);
  auto parts = halves.ok().call(store, 0x0000000200000001ull);
  REQUIRE(parts);
  CHECK(std::get<0>(parts.ok()) == 1);
  CHECK(std::get<1>(parts.ok()) == 2);

  Func div = std::get<Func>(*instance.ok().get(store, "div"));
  auto typed_div = div.typed<int32_t, int32_t>(store).unwrap();
  auto zero = typed_div.call(store, 0);
  REQUIRE_FALSE(zero);
  const Trap& trap = std::get<Trap>(zero.err().data);
  CHECK(trap.code() == TrapCode::IntegerDivisionByZero);
  CHECK(trap.message() == "wasm trap: integer divide by zero");
}
