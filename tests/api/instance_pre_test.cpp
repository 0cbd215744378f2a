// The public API: InstancePre (include/kiln/linker.hpp), a module with its imports resolved.
#include <catch2/catch.hpp>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;
using test::contains;

TEST_CASE("InstancePre: imports resolved once, instantiated in many stores", "[api][linker]") {
  Engine engine;
  Linker linker(engine);
  int calls = 0;
  REQUIRE(linker.func_wrap("env", "tick", [&calls] { ++calls; }));
  Module module = compile(engine, R"((module
    (import "env" "tick" (func $tick))
    (func (export "run") (call $tick) (call $tick))))");
  auto pre = linker.instantiate_pre(module);
  REQUIRE(pre);
  // Shadowing after the fact does not change what the pre-instantiation resolved.
  linker.allow_shadowing(true);
  REQUIRE(linker.func_wrap("env", "tick", [] {}));
  for (int i = 0; i < 3; ++i) {
    Store store(engine);
    auto instance = pre.ok().instantiate(store);
    REQUIRE(instance);
    REQUIRE(std::get<Func>(*instance.ok().get(store, "run")).call(store, {}));
  }
  CHECK(calls == 6);
  Module other = compile(engine, "(module (import \"env\" \"missing\" (func)))");
  auto missing = linker.instantiate_pre(other);
  REQUIRE_FALSE(missing);
  CHECK(contains(missing.err().message(), "env::missing"));
}

TEST_CASE("InstancePre and command wrappers outlive a moved and destroyed linker",
          "[api][linker]") {
  Engine engine;
  Module command = compile(engine, R"((module
    (import "env" "base" (func $base (result i32)))
    (func (export "_start"))
    (func (export "next") (result i32) (i32.add (call $base) (i32.const 1)))))");
  std::optional<InstancePre> pre;
  Store store(engine);
  std::optional<Func> next;
  {
    auto linker = std::make_unique<Linker>(engine);
    REQUIRE(linker->func_wrap("env", "base", [] { return int32_t(41); }));
    REQUIRE(linker->module(store, "cmd", command));
    pre.emplace(linker->instantiate_pre(command).unwrap());
    next = std::get<Func>(*linker->get(store, "cmd", "next"));
    // Moved twice, then destroyed: neither the wrappers nor the InstancePre point into it.
    Linker moved(std::move(*linker));
    linker.reset();
    Linker again = std::move(moved);
  }
  CHECK(next->call(store, {}).ok()[0].i32() == 42);
  Store fresh(engine);
  auto instance = pre->instantiate(fresh);
  REQUIRE(instance);
  CHECK(std::get<Func>(*instance.ok().get(fresh, "next")).call(fresh, {}).ok()[0].i32() == 42);
}
