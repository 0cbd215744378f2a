// Fuel and epoch interruption through the public API (docs/fuel-epochs.md): the documented cost
// of what ran, deterministic out-of-fuel points, refuelling, host calls reading and changing the
// fuel, epoch deadlines and their callback, a second thread interrupting an infinite loop, and
// stores that stay usable after either trap.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;
using test::contains;

namespace {

Engine engine_with(bool fuel, bool epochs) {
  Config config;
  config.consume_fuel(fuel);
  config.epoch_interruption(epochs);
  auto engine = Engine::create(std::move(config));
  if (!engine) FAIL(engine.err().message());
  return engine.ok();
}

Func func(Store& store, Instance& instance, const char* name) {
  return std::get<Func>(*instance.get(store, name));
}

uint64_t fuel_of(Store& store) {
  auto fuel = store.context().get_fuel();
  REQUIRE(fuel);
  return fuel.ok();
}

std::optional<TrapCode> trap_code(const TrapError& error) {
  const Trap* trap = std::get_if<Trap>(&error.data);
  return trap ? trap->code() : std::nullopt;
}

// The call trapped with `code`.
void expect_trap(const TrapResult<std::vector<Val>>& result, TrapCode code) {
  REQUIRE_FALSE(result);
  CHECK(trap_code(result.err()) == code);
}

// Costs below follow the table of docs/fuel-epochs.md: 1 per operator; nop, drop, block, loop,
// unreachable, return, else and end are free.
constexpr std::string_view kCosted = R"((module
  (table 2 funcref)
  (elem (i32.const 0) $leaf $leaf)
  (memory 1)
  (global $count (export "count") (mut i32) (i32.const 0))
  ;; i32.const, i32.const, i32.add: 3
  (func (export "straight") (result i32)
    i32.const 1 i32.const 2 i32.add)
  ;; per iteration local.get, i32.const, i32.sub, local.tee, br_if: 5; then local.get: 1
  (func (export "countdown") (param i32) (result i32)
    (loop
      local.get 0 i32.const 1 i32.sub local.tee 0
      br_if 0)
    local.get 0)
  ;; local.get, if: 2; either arm's i32.const: 1; nop and block free
  (func (export "branch") (param i32) (result i32)
    local.get 0
    (if (result i32) (then nop i32.const 10) (else (block (result i32) i32.const 20))))
  ;; i32.const, drop (free), i32.const, drop: 2; unreachable free
  (func (export "unreachable")
    i32.const 1 drop i32.const 2 drop unreachable)
  ;; the run a fault ends is not charged: i32.const, i32.load trap before any charge
  (func (export "fault") (result i32)
    i32.const 0x7fff0000 i32.load)
  ;; i32.const: 1, call: 1, $leaf: 3
  (func (export "call") (result i32)
    i32.const 5 call $leaf)
  ;; i32.const, i32.const, call_indirect: 3, $leaf: 3
  (func (export "indirect") (result i32)
    i32.const 6 i32.const 1 call_indirect (param i32) (result i32))
  (func $leaf (param i32) (result i32)
    local.get 0 i32.const 1 i32.add)
  ;; per iteration global.get, i32.const, i32.add, global.set, br: 5
  (func (export "spin")
    (loop
      global.get $count i32.const 1 i32.add global.set $count
      br 0)))
)";

}  // namespace

TEST_CASE("Fuel: a completed call costs what the table says", "[api][fuel]") {
  Engine engine = engine_with(true, false);
  Store store(engine);
  Module module = compile(engine, kCosted);
  auto created = Instance::create(store, module, {});
  REQUIRE(created);
  Instance instance = created.ok();
  REQUIRE(store.context().set_fuel(1000));
  CHECK(fuel_of(store) == 1000);

  auto expect_cost = [&](const char* name, std::vector<Val> args, uint64_t cost) {
    INFO(name);
    REQUIRE(store.context().set_fuel(1000));
    auto result = func(store, instance, name).call(store, args);
    REQUIRE(result);
    CHECK(1000 - fuel_of(store) == cost);
  };
  expect_cost("straight", {}, 3);
  for (int32_t n : {1, 2, 7, 50}) expect_cost("countdown", {Val(n)}, 5 * uint64_t(n) + 1);
  expect_cost("branch", {Val(int32_t(1))}, 3);
  expect_cost("branch", {Val(int32_t(0))}, 3);
  expect_cost("call", {}, 2 + 3);
  expect_cost("indirect", {}, 3 + 3);

  // Traps: `unreachable` charges what ran before it; a fault ends a run that was not charged.
  REQUIRE(store.context().set_fuel(1000));
  auto trapped = func(store, instance, "unreachable").call(store, {});
  expect_trap(trapped, TrapCode::UnreachableCodeReached);
  CHECK(fuel_of(store) == 1000 - 2);
  REQUIRE(store.context().set_fuel(1000));
  auto faulted = func(store, instance, "fault").call(store, {});
  expect_trap(faulted, TrapCode::MemoryOutOfBounds);
  CHECK(fuel_of(store) == 1000);
}

TEST_CASE("Fuel: running out traps at the same place every time", "[api][fuel]") {
  Engine engine = engine_with(true, false);
  for (uint64_t fuel : {0, 1, 23, 25, 26, 1000}) {
    INFO("fuel " << fuel);
    Store store(engine);
    Module module = compile(engine, kCosted);
    auto instance = Instance::create(store, module, {});
    REQUIRE(instance);
    REQUIRE(store.context().set_fuel(fuel));
    auto result = func(store, instance.ok(), "spin").call(store, {});
    REQUIRE_FALSE(result);
    CHECK(trap_code(result.err()) == TrapCode::OutOfFuel);
    CHECK(contains(result.err().message(), "all fuel consumed by WebAssembly"));
    // Each iteration costs 5 and the header's check stops once nothing is left: after
    // ceil(fuel / 5) iterations.
    Global count = std::get<Global>(*instance.ok().get(store, "count"));
    CHECK(uint64_t(count.get(store).i32()) == (fuel + 4) / 5);
    CHECK(fuel_of(store) == 0);

    // The store stays usable: with fuel added, the next call runs.
    REQUIRE(store.context().set_fuel(100));
    auto after = func(store, instance.ok(), "countdown").call(store, {Val(int32_t(3))});
    REQUIRE(after);
    CHECK(fuel_of(store) == 100 - 16);
  }
}

TEST_CASE("Fuel: an error without Config::consume_fuel", "[api][fuel]") {
  Engine engine = engine_with(false, false);
  Store store(engine);
  auto set = store.context().set_fuel(10);
  REQUIRE_FALSE(set);
  CHECK(contains(set.err().message(), "Config::consume_fuel(true)"));
  auto get = store.context().get_fuel();
  REQUIRE_FALSE(get);
  CHECK(contains(get.err().message(), "Config::consume_fuel(true)"));
}

TEST_CASE("Fuel: host functions read and change it through the Caller", "[api][fuel]") {
  Engine engine = engine_with(true, false);
  Store store(engine);
  std::optional<uint64_t> seen;
  Func host = Func::wrap(store, [&seen](Caller caller) {
    auto fuel = caller.context().get_fuel();
    REQUIRE(fuel);
    seen = fuel.ok();
    REQUIRE(caller.context().set_fuel(1000));
  });
  Module module = compile(engine, R"((module
    (import "" "host" (func $host))
    ;; call: 1 charged before the host runs; i32.const after it: 1
    (func (export "f") (result i32) call $host i32.const 7)))");
  auto instance = Instance::create(store, module, {host});
  REQUIRE(instance);
  REQUIRE(store.context().set_fuel(50));
  auto result = func(store, instance.ok(), "f").call(store, {});
  REQUIRE(result);
  CHECK(seen == 49);
  CHECK(fuel_of(store) == 999);
}

TEST_CASE("Fuel: the out-of-fuel callback refuels or stops", "[api][fuel]") {
  Engine engine = engine_with(true, false);
  Store store(engine);
  Module module = compile(engine, kCosted);
  auto instance = Instance::create(store, module, {});
  REQUIRE(instance);
  int refills = 0;
  store.context().out_of_fuel_callback([&refills](Store::Context) -> Result<uint64_t, Trap> {
    if (refills == 4) return Trap("scheduler: time slice over");
    ++refills;
    return uint64_t(10);
  });
  REQUIRE(store.context().set_fuel(10));
  auto result = func(store, instance.ok(), "spin").call(store, {});
  REQUIRE_FALSE(result);
  CHECK(refills == 4);
  CHECK(contains(result.err().message(), "scheduler: time slice over"));
  // 50 units in all, 5 per iteration.
  Global count = std::get<Global>(*instance.ok().get(store, "count"));
  CHECK(count.get(store).i32() == 10);

  // Back to trapping.
  store.context().out_of_fuel_trap();
  REQUIRE(store.context().set_fuel(5));
  auto trapped = func(store, instance.ok(), "spin").call(store, {});
  expect_trap(trapped, TrapCode::OutOfFuel);
}

TEST_CASE("Epochs: the deadline traps, moves, and the callback extends it", "[api][epoch]") {
  Engine engine = engine_with(false, true);
  Store store(engine);
  Func tick = Func::wrap(store, [&engine] { engine.increment_epoch(); });
  Module module = compile(engine, R"((module
    (import "" "tick" (func $tick))
    (func (export "answer") (result i32) i32.const 42)
    (func (export "ticking") (loop call $tick br 0))))");
  auto instance = Instance::create(store, module, {tick});
  REQUIRE(instance);
  Func answer = func(store, instance.ok(), "answer");

  // A new store's deadline is 0: the first check traps.
  auto first = answer.call(store, {});
  expect_trap(first, TrapCode::Interrupt);
  CHECK(contains(first.err().message(), "interrupt"));

  // Relative to the current epoch.
  store.context().set_epoch_deadline(1);
  REQUIRE(answer.call(store, {}));
  engine.increment_epoch();
  auto passed = answer.call(store, {});
  expect_trap(passed, TrapCode::Interrupt);
  store.context().set_epoch_deadline(1);
  auto again = answer.call(store, {});
  REQUIRE(again);
  CHECK(again.ok()[0].i32() == 42);

  // Each tick passes the deadline; the callback continues four times, then stops.
  int extended = 0;
  store.context().epoch_deadline_callback([&extended](Store::Context) -> Result<uint64_t, Trap> {
    if (extended == 4) return Trap("enough ticks");
    ++extended;
    return uint64_t(1);
  });
  auto ticking = func(store, instance.ok(), "ticking").call(store, {});
  REQUIRE_FALSE(ticking);
  CHECK(extended == 4);
  CHECK(contains(ticking.err().message(), "enough ticks"));

  store.context().epoch_deadline_trap();
  auto trapped = func(store, instance.ok(), "ticking").call(store, {});
  expect_trap(trapped, TrapCode::Interrupt);
}

TEST_CASE("Epochs: a second thread interrupts an infinite loop", "[api][epoch]") {
  Engine engine = engine_with(false, true);
  Store store(engine);
  Module module = compile(engine, R"((module
    (func (export "forever") (loop br 0))))");
  auto instance = Instance::create(store, module, {});
  REQUIRE(instance);
  store.context().set_epoch_deadline(1);
  std::atomic<bool> entered = false;
  std::thread interrupter([&] {
    while (!entered.load()) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    engine.increment_epoch();
  });
  entered = true;
  auto result = func(store, instance.ok(), "forever").call(store, {});
  interrupter.join();
  expect_trap(result, TrapCode::Interrupt);
}

TEST_CASE("Fuel and epochs together: calls, recursion, indirect and host calls", "[api][fuel][epoch]") {
  Engine engine = engine_with(true, true);
  Store store(engine);
  int host_calls = 0;
  Func host = Func::wrap(store, [&host_calls](int32_t x) -> int32_t {
    ++host_calls;
    return x;
  });
  Module module = compile(engine, R"((module
    (import "" "id" (func $id (param i32) (result i32)))
    (type $unary (func (param i32) (result i32)))
    (table funcref (elem $fib $id))
    (func $fib (export "fib") (param i32) (result i32)
      (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
        (then (call $id (local.get 0)))
        (else
          (i32.add
            (call $fib (i32.sub (local.get 0) (i32.const 1)))
            (call_indirect (type $unary) (i32.sub (local.get 0) (i32.const 2))
                           (i32.const 0))))))))");
  auto created = Instance::create(store, module, {host});
  REQUIRE(created);
  Func fib = func(store, created.ok(), "fib");
  store.context().set_epoch_deadline(1000);

  REQUIRE(store.context().set_fuel(1'000'000));
  auto result = fib.call(store, {Val(int32_t(15))});
  REQUIRE(result);
  CHECK(result.ok()[0].i32() == 610);
  const uint64_t cost = 1'000'000 - fuel_of(store);
  CHECK(host_calls == 987);  // fib's leaves
  // The same call costs the same.
  REQUIRE(store.context().set_fuel(1'000'000));
  REQUIRE(fib.call(store, {Val(int32_t(15))}));
  CHECK(1'000'000 - fuel_of(store) == cost);

  // Out of fuel deep in the recursion, then the store goes on once refuelled.
  REQUIRE(store.context().set_fuel(cost / 2));
  auto starved = fib.call(store, {Val(int32_t(15))});
  expect_trap(starved, TrapCode::OutOfFuel);
  REQUIRE(store.context().set_fuel(cost));
  auto refuelled = fib.call(store, {Val(int32_t(15))});
  REQUIRE(refuelled);
  CHECK(refuelled.ok()[0].i32() == 610);
  CHECK(fuel_of(store) == 0);

  // Past the deadline in the middle of it, then the store goes on once the deadline moves.
  REQUIRE(store.context().set_fuel(1'000'000));
  host_calls = 0;
  Func ticking_id = Func::wrap(store, [&engine](int32_t x) -> int32_t {
    engine.increment_epoch();
    return x;
  });
  Module ticking = compile(engine, R"((module
    (import "" "id" (func $id (param i32) (result i32)))
    (func $fib (export "fib") (param i32) (result i32)
      (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
        (then (call $id (local.get 0)))
        (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                       (call $fib (i32.sub (local.get 0) (i32.const 2)))))))))");
  auto ticking_instance = Instance::create(store, ticking, {ticking_id});
  REQUIRE(ticking_instance);
  Func ticking_fib = func(store, ticking_instance.ok(), "fib");
  store.context().set_epoch_deadline(10);
  auto interrupted = ticking_fib.call(store, {Val(int32_t(15))});
  expect_trap(interrupted, TrapCode::Interrupt);
  store.context().set_epoch_deadline(100'000);
  auto resumed = ticking_fib.call(store, {Val(int32_t(15))});
  REQUIRE(resumed);
  CHECK(resumed.ok()[0].i32() == 610);
}

TEST_CASE("Fuel and epochs: the slow path keeps every register a loop holds", "[api][fuel][epoch]") {
  // Twelve integer and four float locals live across the loop: the header keeps what it can in
  // registers (the epoch check then borrows one), and refuelling every few iterations runs the
  // interrupt stub with all of them live.
  Engine engine = engine_with(true, true);
  Store store(engine);
  Module module = compile(engine, R"((module
    (func (export "many") (param $n i32) (result i64)
      (local $a i64) (local $b i64) (local $c i64) (local $d i64) (local $e i64) (local $f i64)
      (local $g i64) (local $h i64) (local $i i64) (local $j i64) (local $k i64) (local $l i64)
      (local $x f64) (local $y f64) (local $z f64) (local $w f64) (local $acc i64)
      (local.set $a (i64.const 1)) (local.set $b (i64.const 2)) (local.set $c (i64.const 4))
      (local.set $d (i64.const 8)) (local.set $e (i64.const 16)) (local.set $f (i64.const 32))
      (local.set $g (i64.const 64)) (local.set $h (i64.const 128)) (local.set $i (i64.const 256))
      (local.set $j (i64.const 512)) (local.set $k (i64.const 1024)) (local.set $l (i64.const 2048))
      (local.set $x (f64.const 0.5)) (local.set $y (f64.const 0.25)) (local.set $z (f64.const 2))
      (local.set $w (f64.const 4))
      (loop $again
        (local.set $acc (i64.add (local.get $acc)
          (i64.add (i64.add (i64.add (local.get $a) (local.get $b)) (i64.add (local.get $c) (local.get $d)))
          (i64.add (i64.add (i64.add (local.get $e) (local.get $f)) (i64.add (local.get $g) (local.get $h)))
                   (i64.add (i64.add (local.get $i) (local.get $j)) (i64.add (local.get $k) (local.get $l)))))))
        (local.set $acc (i64.add (local.get $acc) (i64.trunc_f64_u
          (f64.mul (f64.add (local.get $x) (local.get $y)) (f64.add (local.get $z) (local.get $w))))))
        (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
      (local.get $acc))))");
  auto instance = Instance::create(store, module, {});
  REQUIRE(instance);
  store.context().set_epoch_deadline(1'000'000);
  int refills = 0;
  store.context().out_of_fuel_callback([&refills](Store::Context) -> Result<uint64_t, Trap> {
    ++refills;
    return uint64_t(45);  // an iteration costs 42: a refill must cover the overrun and one more
  });
  REQUIRE(store.context().set_fuel(45));
  auto result = func(store, instance.ok(), "many").call(store, {Val(int32_t(100))});
  if (!result) FAIL(result.err().message());
  // Per iteration: 4095 from the integers, trunc(0.75 * 6) = 4 from the floats.
  CHECK(result.ok()[0].i64() == 100 * (4095 + 4));
  CHECK(refills > 50);
}
