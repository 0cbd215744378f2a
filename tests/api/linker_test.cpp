// The public API: Linker (include/kiln/linker.hpp). InstancePre is in instance_pre_test.cpp.
#include <catch2/catch.hpp>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;
using test::contains;

TEST_CASE("Linker: define, host functions for every store, instances, errors", "[api][linker]") {
  Engine engine;
  Linker linker(engine);
  REQUIRE(linker.func_wrap("env", "twice", [](int32_t x) { return x * 2; }));
  auto duplicate = linker.func_wrap("env", "twice", [](int32_t x) { return x; });
  REQUIRE_FALSE(duplicate);
  CHECK(contains(duplicate.err().message(), "already defined"));
  linker.allow_shadowing(true);
  REQUIRE(linker.func_wrap("env", "twice", [](int32_t x) { return x + x; }));
  REQUIRE(linker.func_new("env", "neg", FuncType({ValKind::I32}, {ValKind::I32}),
                          [](Caller, Span<const Val> args, Span<Val> results) {
                            results[0] = -args[0].i32();
                            return std::monostate();
                          }));

  Module provider = compile(engine, R"((module
    (memory (export "memory") 1)
    (global (export "base") i32 (i32.const 100))))");
  Module user = compile(engine, R"((module
    (import "env" "twice" (func $twice (param i32) (result i32)))
    (import "env" "neg" (func $neg (param i32) (result i32)))
    (import "lib" "base" (global $base i32))
    (import "lib" "memory" (memory 1))
    (func (export "run") (param i32) (result i32)
      (i32.add (global.get $base) (call $neg (call $twice (local.get 0)))))))");

  // The host functions serve two stores.
  for (int round = 0; round < 2; ++round) {
    Store store(engine);
    auto lib = linker.instantiate(store, provider);
    REQUIRE(lib);
    REQUIRE(linker.define_instance(store, "lib", lib.ok()));
    auto instance = linker.instantiate(store, user);
    REQUIRE(instance);
    auto result = std::get<Func>(*instance.ok().get(store, "run")).call(store, {4});
    REQUIRE(result);
    CHECK(result.ok()[0].i32() == 92);
    CHECK(linker.get(store, "lib", "memory").has_value());
    CHECK_FALSE(linker.get(store, "lib", "nothing").has_value());
  }

  Linker empty(engine);
  Store store(engine);
  auto missing = empty.instantiate(store, user);
  REQUIRE_FALSE(missing);
  CHECK(contains(missing.err().message(), "unknown import: `env::twice`"));
  // WASI's names are ordinary definitions: a second define_wasi collides with the first.
  REQUIRE(empty.define_wasi());
  auto again = empty.define_wasi();
  REQUIRE_FALSE(again);
  CHECK(contains(again.err().message(), "wasi_snapshot_preview1::args_get"));
}

TEST_CASE("Linker: modules as reactors and commands, default functions", "[api][linker]") {
  Engine engine;
  Linker linker(engine);
  Store store(engine);
  Module reactor = compile(engine, R"((module
    (global $g (mut i32) (i32.const 0))
    (func (export "_initialize") (global.set $g (i32.const 10)))
    (func (export "get") (result i32) (global.get $g))))");
  REQUIRE(linker.module(store, "reactor", reactor));
  auto get = linker.get(store, "reactor", "get");
  REQUIRE(get.has_value());
  CHECK(std::get<Func>(*get).call(store, {}).ok()[0].i32() == 10);

  Module command = compile(engine, R"((module
    (global $count (mut i32) (i32.const 0))
    (func (export "_start"))
    (func (export "bump") (result i32)
      (global.set $count (i32.add (global.get $count) (i32.const 1))) (global.get $count))))");
  REQUIRE(linker.module(store, "cmd", command));
  Func bump = std::get<Func>(*linker.get(store, "cmd", "bump"));
  // Each call runs in a fresh instance of the command.
  CHECK(bump.call(store, {}).ok()[0].i32() == 1);
  CHECK(bump.call(store, {}).ok()[0].i32() == 1);
  auto start = linker.get_default(store, "cmd");
  REQUIRE(start);
  CHECK(start.ok().call(store, {}));
  auto none = linker.get_default(store, "nothing-here");
  REQUIRE(none);
  CHECK(none.ok().call(store, {}));
}

TEST_CASE("Linker: a shadowed host function is never confused with its replacement",
          "[api][linker]") {
  Engine engine;
  Store store(engine);
  Linker linker(engine);
  linker.allow_shadowing(true);
  Module module = compile(engine, R"((module
    (import "env" "value" (func $value (result i32)))
    (func (export "run") (result i32) (call $value))))");
  // Each definition replaces the previous one, which is freed: a cache keyed by the freed
  // definition's address could hand the old function out for the new definition.
  for (int32_t i = 0; i < 8; ++i) {
    REQUIRE(linker.func_wrap("env", "value", [i] { return i; }));
    auto instance = linker.instantiate(store, module);
    REQUIRE(instance);
    CHECK(std::get<Func>(*instance.ok().get(store, "run")).call(store, {}).ok()[0].i32() == i);
  }
}
