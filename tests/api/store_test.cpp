// The public API: Store and Store::Context (include/kiln/store.hpp): user data, moves, and
// handles or references of another store refused. Store limits are in limits_test.cpp, fuel and
// epochs in fuel_epoch_test.cpp.
#include <catch2/catch.hpp>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;
using test::contains;

TEST_CASE("Store: user data, contexts, handles of another store", "[api][store]") {
  Engine engine;
  Store store(engine);
  store.context().set_data(std::string("hello"));
  CHECK(std::any_cast<std::string>(store.context().get_data()) == "hello");
  Func reader = Func::wrap(store, [](Caller caller) -> int32_t {
    return int32_t(std::any_cast<std::string&>(caller.context().get_data()).size());
  });
  auto size = reader.call(store, {});
  REQUIRE(size);
  CHECK(size.ok()[0].i32() == 5);

  auto fuel = store.context().get_fuel();
  REQUIRE_FALSE(fuel);
  CHECK(contains(fuel.err().message(), "consume_fuel"));
  CHECK(store.gc());

  Store other(engine);
  auto foreign = reader.call(other, {});
  REQUIRE_FALSE(foreign);
  CHECK(contains(foreign.err().message(), "another store"));
  Module module = compile(engine, "(module (import \"\" \"f\" (func (result i32))))");
  auto mixed = Instance::create(other, module, {reader});
  REQUIRE_FALSE(mixed);
  CHECK(contains(mixed.err().message(), "another store"));

  // A moved store keeps its objects.
  Store moved = std::move(store);
  auto again = reader.call(moved, {});
  REQUIRE(again);
  CHECK(again.ok()[0].i32() == 5);
}

TEST_CASE("References of another store are errors, never dangling", "[api][store]") {
  Engine engine;
  Store store(engine), other(engine);
  Module module = compile(engine, R"((module
    (table (export "t") 1 externref)
    (global (export "g") (mut externref) (ref.null extern))))");
  auto instance = Instance::create(store, module, {});
  REQUIRE(instance);
  ExternRef foreign(other, std::string("elsewhere"));
  Table table = std::get<Table>(*instance.ok().get(store, "t"));
  Global global = std::get<Global>(*instance.ok().get(store, "g"));
  auto set = table.set(store, 0, foreign);
  REQUIRE_FALSE(set);
  CHECK(contains(set.err().message(), "another store"));
  CHECK_FALSE(global.set(store, foreign));
  CHECK_FALSE(table.grow(store, 1, foreign));
  Func foreign_func = Func::wrap(other, [] {});
  CHECK_FALSE(Table::create(store, TableType(ValKind::FuncRef, 1), foreign_func));
}
