// kiln::Instance (include/kiln/store.hpp): instantiation with positional imports, the errors
// for imports of the wrong number, kind or type, a start function that traps, and exports by
// name and by index in the module's order.
#include <catch2/catch.hpp>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;
using test::contains;

namespace {

constexpr std::string_view kImporter = R"((module
  (import "env" "f" (func $f (param i32) (result i32)))
  (import "env" "g" (global $g i32))
  (func (export "call_f") (param i32) (result i32) (call $f (local.get 0)))
  (func (export "read_g") (result i32) (global.get $g))
  (memory (export "mem") 1)
  (table (export "tab") 2 funcref)
  (global (export "answer") i32 (i32.const 42))))";

}  // namespace

TEST_CASE("Instance::create takes imports in the module's order", "[api][instance]") {
  Engine engine;
  Store store(engine);
  Module module = compile(engine, kImporter);
  Func f = Func::wrap(store, [](int32_t x) -> int32_t { return x * 3; });
  Global g = Global::create(store, GlobalType(ValKind::I32, false), Val(int32_t(7))).unwrap();
  Instance instance = Instance::create(store, module, {f, g}).unwrap();
  CHECK(std::get<Func>(*instance.get(store, "call_f")).call(store, {5}).unwrap()[0].i32() == 15);
  CHECK(std::get<Func>(*instance.get(store, "read_g")).call(store, {}).unwrap()[0].i32() == 7);

  // Every export by index, in the module's order, with its kind; past the end is nullopt.
  const char* names[] = {"call_f", "read_g", "mem", "tab", "answer"};
  for (size_t i = 0; i < std::size(names); ++i) {
    auto item = instance.get(store, i);
    REQUIRE(item.has_value());
    CHECK(item->first == names[i]);
  }
  CHECK(std::holds_alternative<Memory>(instance.get(store, size_t(2))->second));
  CHECK(std::holds_alternative<Table>(instance.get(store, size_t(3))->second));
  CHECK(std::holds_alternative<Global>(instance.get(store, size_t(4))->second));
  CHECK_FALSE(instance.get(store, size_t(5)).has_value());
  CHECK_FALSE(instance.get(store, "nope").has_value());
}

TEST_CASE("Instance::create refuses imports of the wrong number, kind or type", "[api][instance]") {
  Engine engine;
  Store store(engine);
  Module module = compile(engine, kImporter);
  Func f = Func::wrap(store, [](int32_t x) -> int32_t { return x; });
  Func wrong_sig = Func::wrap(store, [](int64_t x) -> int64_t { return x; });
  Global g = Global::create(store, GlobalType(ValKind::I32, false), Val(int32_t(7))).unwrap();
  Global g64 = Global::create(store, GlobalType(ValKind::I64, false), Val(int64_t(7))).unwrap();

  auto too_few = Instance::create(store, module, {f});
  REQUIRE_FALSE(too_few);
  CHECK(contains(too_few.err().message(), "expected 2 imports, got 1"));

  auto too_many = Instance::create(store, module, {f, g, g});
  REQUIRE_FALSE(too_many);
  CHECK(contains(too_many.err().message(), "expected 2 imports, got 3"));

  auto swapped = Instance::create(store, module, {g, f});
  REQUIRE_FALSE(swapped);
  CHECK(contains(swapped.err().message(), "env::f: wrong kind of extern"));

  auto bad_func = Instance::create(store, module, {wrong_sig, g});
  REQUIRE_FALSE(bad_func);
  CHECK(contains(bad_func.err().message(), "env::f: function type mismatch"));

  auto bad_global = Instance::create(store, module, {f, g64});
  REQUIRE_FALSE(bad_global);
  CHECK(contains(bad_global.err().message(), "env::g: global type mismatch"));

  // After the refusals the store still instantiates the module with the right imports.
  CHECK(Instance::create(store, module, {f, g}));
}

TEST_CASE("Instance::create reports a trapping start function as a trap", "[api][instance]") {
  Engine engine;
  Store store(engine);
  Module module = compile(engine, R"((module
    (func $start (unreachable))
    (start $start)))");
  auto instance = Instance::create(store, module, {});
  REQUIRE_FALSE(instance);
  CHECK(contains(instance.err().message(), "wasm trap: unreachable"));
}

TEST_CASE("Instance: imports from another store are refused", "[api][instance]") {
  Engine engine;
  Store store(engine), other(engine);
  Module module = compile(engine, kImporter);
  Func f = Func::wrap(other, [](int32_t x) -> int32_t { return x; });
  Global g = Global::create(store, GlobalType(ValKind::I32, false), Val(int32_t(7))).unwrap();
  auto instance = Instance::create(store, module, {f, g});
  REQUIRE_FALSE(instance);
  CHECK(contains(instance.err().message(), "an import belongs to another store"));
}
