// The public API: Func (include/kiln/store.hpp): calls, host functions typed and untyped,
// host functions calling back into wasm.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;
using test::contains;

TEST_CASE("Func::call: values in, values out, argument errors", "[api][func]") {
  Engine engine;
  Store store(engine);
  Module module = compile(engine, R"((module
    (func (export "gcd") (param i32 i32) (result i32)
      (local i32)
      (block (loop
        (br_if 1 (i32.eqz (local.get 1)))
        (local.set 2 (i32.rem_u (local.get 0) (local.get 1)))
        (local.set 0 (local.get 1))
        (local.set 1 (local.get 2))
        (br 0)))
      (local.get 0))
    (func (export "swap") (param i64 f64) (result f64 i64) (local.get 1) (local.get 0))))");
  auto instance = Instance::create(store, module, {});
  REQUIRE(instance);
  Func gcd = std::get<Func>(*instance.ok().get(store, "gcd"));
  auto result = gcd.call(store, {6, 27});
  REQUIRE(result);
  REQUIRE(result.ok().size() == 1);
  CHECK(result.ok()[0].i32() == 3);

  Func swap = std::get<Func>(*instance.ok().get(store, "swap"));
  auto swapped = swap.call(store, {Val(int64_t(-5)), Val(2.5)});
  REQUIRE(swapped);
  CHECK(swapped.ok()[0].f64() == 2.5);
  CHECK(swapped.ok()[1].i64() == -5);
  FuncType type = swap.type(store);
  CHECK(type->params().size() == 2);
  CHECK(type->results()[1].kind() == ValKind::I64);

  auto too_few = gcd.call(store, {6});
  REQUIRE_FALSE(too_few);
  CHECK(std::holds_alternative<Error>(too_few.err().data));
  CHECK(contains(too_few.err().message(), "takes 2 arguments"));
  auto wrong_type = gcd.call(store, {Val(int64_t(6)), Val(27)});
  REQUIRE_FALSE(wrong_type);
  CHECK(contains(wrong_type.err().message(), "argument 0 is i64"));

  // Exports by index, in the module's order.
  auto first = instance.ok().get(store, size_t(0));
  REQUIRE(first.has_value());
  CHECK(first->first == "gcd");
  CHECK_FALSE(instance.ok().get(store, size_t(2)).has_value());
  CHECK_FALSE(instance.ok().get(store, "missing").has_value());
}

TEST_CASE("Func::wrap: signatures deduced from C++, callers, tuples, traps", "[api][func]") {
  Engine engine;
  Store store(engine);
  int calls = 0;
  Func add = Func::wrap(store, [&calls](int32_t a, int64_t b) -> int64_t {
    ++calls;
    return a + b;
  });
  FuncType add_type = add.type(store);
  REQUIRE(add_type.params().size() == 2);
  CHECK(add_type.params()[0].kind() == ValKind::I32);
  CHECK(add_type.results()[0].kind() == ValKind::I64);

  Func pair = Func::wrap(store, [](float x, double y) { return std::make_tuple(y, x); });
  Func nothing = Func::wrap(store, [] {});
  Func failing = Func::wrap(store, [](int32_t x) -> Result<int32_t, Trap> {
    if (x < 0) return Trap("negative input");
    return x * 2;
  });
  Func throwing = Func::wrap(store, []() -> int32_t { throw std::runtime_error("boom"); });
  Func with_caller = Func::wrap(store, [](Caller caller, int32_t offset) -> int32_t {
    auto memory = caller.get_export("memory");
    if (!memory) return -1;
    return std::get<Memory>(*memory).data(caller)[size_t(offset)];
  });

  Module module = compile(engine, R"((module
    (import "host" "add" (func $add (param i32 i64) (result i64)))
    (import "host" "pair" (func $pair (param f32 f64) (result f64 f32)))
    (import "host" "nothing" (func $nothing))
    (import "host" "failing" (func $failing (param i32) (result i32)))
    (import "host" "throwing" (func $throwing (result i32)))
    (import "host" "peek" (func $peek (param i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 7) "\2a")
    (func (export "add") (param i32 i64) (result i64) (call $add (local.get 0) (local.get 1)))
    (func (export "pair") (result f64 f32) (call $pair (f32.const 1.5) (f64.const 2.25)))
    (func (export "nothing") (call $nothing))
    (func (export "failing") (param i32) (result i32) (call $failing (local.get 0)))
    (func (export "throwing") (result i32) (call $throwing))
    (func (export "peek") (param i32) (result i32) (call $peek (local.get 0)))))");
  auto instance =
      Instance::create(store, module, {add, pair, nothing, failing, throwing, with_caller});
  REQUIRE(instance);
  auto get = [&](const char* name) { return std::get<Func>(*instance.ok().get(store, name)); };

  auto sum = get("add").call(store, {Val(40), Val(int64_t(2))});
  REQUIRE(sum);
  CHECK(sum.ok()[0].i64() == 42);
  CHECK(calls == 1);
  auto swapped = get("pair").call(store, {});
  REQUIRE(swapped);
  CHECK(swapped.ok()[0].f64() == 2.25);
  CHECK(swapped.ok()[1].f32() == 1.5f);
  CHECK(get("nothing").call(store, {}));

  auto doubled = get("failing").call(store, {21});
  REQUIRE(doubled);
  CHECK(doubled.ok()[0].i32() == 42);
  auto trapped = get("failing").call(store, {-1});
  REQUIRE_FALSE(trapped);
  const Trap& trap = std::get<Trap>(trapped.err().data);
  CHECK(trap.message() == "negative input");
  CHECK_FALSE(trap.code());  // a host-made trap has no code
  // The wasm frame the host trap unwound through is in its trace: export "failing" is
  // function 9 (six imports, then add, pair, nothing, failing).
  REQUIRE(trap.trace().size() >= 1);
  CHECK(trap.trace()[trap.trace().size() - 1].func_index() == 9);

  auto threw = get("throwing").call(store, {});
  REQUIRE_FALSE(threw);
  CHECK(contains(threw.err().message(), "boom"));

  // The store still works after traps.
  auto peeked = get("peek").call(store, {7});
  REQUIRE(peeked);
  CHECK(peeked.ok()[0].i32() == 42);
  // Called directly from the host, a Caller has no instance.
  auto direct = with_caller.call(store, {7});
  REQUIRE(direct);
  CHECK(direct.ok()[0].i32() == -1);
}

TEST_CASE("Func(store, type, callback): untyped host functions", "[api][func]") {
  Engine engine;
  Store store(engine);
  FuncType type({ValKind::I32, ValKind::I32}, {ValKind::I32});
  Func sub(store, type,
           [](Caller, Span<const Val> params, Span<Val> results) -> Result<std::monostate, Trap> {
             results[0] = params[0].i32() - params[1].i32();
             return std::monostate();
           });
  auto difference = sub.call(store, {10, 3});
  REQUIRE(difference);
  CHECK(difference.ok()[0].i32() == 7);

  Func wrong(store, type, [](Caller, Span<const Val>, Span<Val> results) {
    results[0] = Val(int64_t(1));  // not the declared i32
    return std::monostate();
  });
  auto bad = wrong.call(store, {1, 2});
  REQUIRE_FALSE(bad);
  CHECK(contains(bad.err().message(), "result 0 is i64"));
}

TEST_CASE("Host functions may call back into wasm", "[api][func]") {
  Engine engine;
  Store store(engine);
  Module module = compile(engine, R"((module
    (import "" "host" (func $host (param i32) (result i32)))
    (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
    (func (export "run") (param i32) (result i32) (call $host (local.get 0)))))");
  std::optional<Func> double_it;
  Func host = Func::wrap(store, [&double_it](Caller caller, int32_t x) -> Result<int32_t, Trap> {
    auto result = double_it->call(caller, {x});
    if (!result) return Trap(result.err().message());
    return result.ok()[0].i32() + 1;
  });
  auto instance = Instance::create(store, module, {host});
  REQUIRE(instance);
  double_it = std::get<Func>(*instance.ok().get(store, "double"));
  auto result = std::get<Func>(*instance.ok().get(store, "run")).call(store, {20});
  REQUIRE(result);
  CHECK(result.ok()[0].i32() == 41);
}
