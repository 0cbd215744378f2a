// The public API: ExternRef (include/kiln/store.hpp): host values through wasm, and anyrefs wasm
// made external.
#include <catch2/catch.hpp>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;
using test::contains;
using Fixture = test::AnyRefFixture;

TEST_CASE("ExternRef: host values through tables, globals, calls and host functions",
          "[api][externref]") {
  Engine engine;
  Store store(engine);
  Module module = compile(engine, R"((module
    (import "" "len" (func $len (param externref) (result i32)))
    (table (export "table") 2 externref)
    (func (export "len_of") (param externref) (result i32) (call $len (local.get 0)))
    (func (export "is_null") (param externref) (result i32) (ref.is_null (local.get 0)))))");
  Func len = Func::wrap(store, [](Caller caller, std::optional<ExternRef> ref) -> int32_t {
    if (!ref) return -1;
    return int32_t(std::any_cast<std::string&>(ref->data(caller)).size());
  });
  auto instance = Instance::create(store, module, {len});
  REQUIRE(instance);
  ExternRef text(store, std::string("four"));
  Func len_of = std::get<Func>(*instance.ok().get(store, "len_of"));
  CHECK(len_of.call(store, {text}).ok()[0].i32() == 4);
  CHECK(len_of.call(store, {std::optional<ExternRef>()}).ok()[0].i32() == -1);
  Func is_null = std::get<Func>(*instance.ok().get(store, "is_null"));
  CHECK(is_null.call(store, {text}).ok()[0].i32() == 0);
  CHECK(is_null.call(store, {std::optional<ExternRef>()}).ok()[0].i32() == 1);

  Table table = std::get<Table>(*instance.ok().get(store, "table"));
  CHECK_FALSE(table.get(store, 0)->externref().has_value());
  REQUIRE(table.set(store, 1, text));
  CHECK(table.get(store, 1)->externref() == text);
  CHECK_FALSE(table.set(store, 0, Val(1)));  // an i32 is not an externref

  // A value of another store is refused where the call can fail.
  Store other(engine);
  ExternRef foreign(other, 1);
  auto refused = len_of.call(store, {foreign});
  REQUIRE_FALSE(refused.has_value());
}

TEST_CASE("ExternRef: an anyref wasm made external crosses the API", "[api][anyref]") {
  Fixture f;
  Global converted = f.global("converted");
  std::optional<ExternRef> ref = converted.get(f.store).externref();
  REQUIRE(ref);
  // Its data is the anyref it came from; the same value gives the same ExternRef.
  CHECK(std::any_cast<AnyRef>(ref->data(f.store)).i31(f.store) == 9);
  CHECK(converted.get(f.store).externref() == ref);
}
