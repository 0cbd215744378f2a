// The public API: Global (include/kiln/store.hpp).
#include <catch2/catch.hpp>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;
using test::contains;

TEST_CASE("Global: get, set, mutability and types enforced", "[api][global]") {
  Engine engine;
  Store store(engine);
  Module module = compile(engine, R"((module
    (global (export "counter") (mut i64) (i64.const 5))
    (global (export "fixed") f32 (f32.const 1.5))
    (func (export "read") (result i64) (global.get 0))))");
  auto instance = Instance::create(store, module, {});
  REQUIRE(instance);
  Global counter = std::get<Global>(*instance.ok().get(store, "counter"));
  Global fixed = std::get<Global>(*instance.ok().get(store, "fixed"));
  CHECK(counter.get(store).i64() == 5);
  CHECK(fixed.get(store).f32() == 1.5f);
  REQUIRE(counter.set(store, Val(int64_t(9))));
  CHECK(std::get<Func>(*instance.ok().get(store, "read")).call(store, {}).ok()[0].i64() == 9);
  auto immutable = fixed.set(store, Val(2.0f));
  REQUIRE_FALSE(immutable);
  CHECK(contains(immutable.err().message(), "immutable"));
  auto mistyped = counter.set(store, Val(1));
  REQUIRE_FALSE(mistyped);
  CHECK(contains(mistyped.err().message(), "i32 value for a global of i64"));
  CHECK(counter.type(store).is_mutable());

  auto made = Global::create(store, GlobalType(ValKind::F64, true), Val(0.5));
  REQUIRE(made);
  CHECK(made.ok().get(store).f64() == 0.5);
  CHECK_FALSE(Global::create(store, GlobalType(ValKind::F64, true), Val(1)));
}
