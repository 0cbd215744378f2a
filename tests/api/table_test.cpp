// The public API: Table (include/kiln/store.hpp).
#include <catch2/catch.hpp>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;
using test::contains;

TEST_CASE("Table: get, set, grow, funcrefs", "[api][table]") {
  Engine engine;
  Store store(engine);
  Module module = compile(engine, R"((module
    (table (export "table") 2 4 funcref)
    (func $seven (result i32) (i32.const 7))
    (elem (i32.const 0) $seven)
    (type $t (func (result i32)))
    (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0)))))");
  auto instance = Instance::create(store, module, {});
  REQUIRE(instance);
  Table table = std::get<Table>(*instance.ok().get(store, "table"));
  CHECK(table.size(store) == 2);
  auto first = table.get(store, 0);
  REQUIRE(first.has_value());
  REQUIRE(first->funcref());
  auto seven = first->funcref()->call(store, {});
  REQUIRE(seven);
  CHECK(seven.ok()[0].i32() == 7);
  CHECK_FALSE(table.get(store, 1)->funcref());
  CHECK_FALSE(table.get(store, 2).has_value());

  Func nine = Func::wrap(store, []() -> int32_t { return 9; });
  REQUIRE(table.set(store, 1, nine));
  Func call = std::get<Func>(*instance.ok().get(store, "call"));
  CHECK(call.call(store, {1}).ok()[0].i32() == 9);
  CHECK_FALSE(table.set(store, 5, nine));
  CHECK_FALSE(table.set(store, 0, Val(1)));  // not a funcref

  auto grown = table.grow(store, 2, std::optional<Func>());
  REQUIRE(grown);
  CHECK(grown.ok() == 2);
  CHECK_FALSE(table.grow(store, 1, std::optional<Func>()));
  CHECK(table.type(store).max() == 4);

  auto made = Table::create(store, TableType(ValKind::FuncRef, 3), nine);
  REQUIRE(made);
  CHECK(made.ok().get(store, 2)->funcref() == nine);
}
