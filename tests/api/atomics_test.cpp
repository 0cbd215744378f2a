// The atomic operators (a feature, no single class): read-modify-write, cmpxchg, wait and notify
// across threads on a SharedMemory, and their traps.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;
using test::contains;
using test::shared_type;

TEST_CASE("Atomics: read-modify-write results, cmpxchg, traps", "[api][atomics]") {
  Engine engine;
  Store store(engine);
  Module module = compile(engine, R"((module
    (memory (export "memory") 1 1 shared)
    (func (export "add8") (param i32 i32) (result i32) (i32.atomic.rmw8.add_u (local.get 0) (local.get 1)))
    (func (export "sub64") (param i32 i64) (result i64) (i64.atomic.rmw.sub (local.get 0) (local.get 1)))
    (func (export "xchg16") (param i32 i32) (result i32) (i32.atomic.rmw16.xchg_u (local.get 0) (local.get 1)))
    (func (export "cmpxchg") (param i32 i32 i32) (result i32)
      (i32.atomic.rmw.cmpxchg (local.get 0) (local.get 1) (local.get 2)))
    (func (export "load") (param i32) (result i32) (i32.atomic.load offset=4 (local.get 0)))
    (func (export "store64") (param i32 i64) (i64.atomic.store (local.get 0) (local.get 1)))
    (func (export "or32_u") (param i32 i64) (result i64) (i64.atomic.rmw32.or_u (local.get 0) (local.get 1)))
    (func (export "fence") (atomic.fence))))");
  auto instance = Instance::create(store, module, {});
  REQUIRE(instance);
  auto call = [&](const char* name, std::vector<Val> args) {
    return std::get<Func>(*instance.ok().get(store, name)).call(store, args);
  };
  CHECK(call("add8", {0, 250}).ok()[0].i32() == 0);
  CHECK(call("add8", {0, 10}).ok()[0].i32() == 250);   // wraps at 8 bits
  CHECK(call("add8", {0, 0}).ok()[0].i32() == 4);
  REQUIRE(call("store64", {8, Val(int64_t(100))}));
  CHECK(call("sub64", {8, Val(int64_t(1))}).ok()[0].i64() == 100);
  CHECK(call("sub64", {8, Val(int64_t(0))}).ok()[0].i64() == 99);
  CHECK(call("xchg16", {16, 0x12345}).ok()[0].i32() == 0);
  CHECK(call("xchg16", {16, 7}).ok()[0].i32() == 0x2345);
  CHECK(call("cmpxchg", {24, 1, 5}).ok()[0].i32() == 0);  // differs: nothing stored
  CHECK(call("cmpxchg", {24, 0, 5}).ok()[0].i32() == 0);  // equal: 5 stored
  CHECK(call("cmpxchg", {24, 5, 6}).ok()[0].i32() == 5);
  CHECK(call("load", {20}).ok()[0].i32() == 6);           // offset=4
  REQUIRE(call("store64", {32, Val(int64_t(0x100000000))}));
  CHECK(call("or32_u", {32, Val(int64_t(0x1FFFFFFFF))}).ok()[0].i64() == 0);  // low half only
  CHECK(call("load", {28}).ok()[0].i32() == -1);
  REQUIRE(call("fence", {}));

  auto trap_code = [&](const char* name, std::vector<Val> args) {
    auto result = call(name, std::move(args));
    REQUIRE_FALSE(result);
    const Trap* trap = std::get_if<Trap>(&result.err().data);
    REQUIRE(trap != nullptr);
    return trap->code();
  };
  CHECK(trap_code("cmpxchg", {2, 0, 0}) == TrapCode::HeapMisaligned);
  CHECK(trap_code("xchg16", {1, 0}) == TrapCode::HeapMisaligned);
  CHECK(trap_code("load", {65532}) == TrapCode::MemoryOutOfBounds);  // 65536 + 4 bytes: past the end
  CHECK(trap_code("sub64", {65536 - 4, Val(int64_t(0))}) == TrapCode::MemoryOutOfBounds);
  CHECK(call("add8", {65535, 1}));  // the last byte is in bounds
}

TEST_CASE("Atomics: wait and notify across threads, timeouts, unshared memory",
          "[api][atomics]") {
  Engine engine;
  Module module = compile(engine, R"((module
    (import "env" "memory" (memory 1 1 shared))
    (func (export "wait") (param i32 i32 i64) (result i32)
      (memory.atomic.wait32 (local.get 0) (local.get 1) (local.get 2)))
    (func (export "wait64") (param i32 i64 i64) (result i32)
      (memory.atomic.wait64 (local.get 0) (local.get 1) (local.get 2)))
    (func (export "notify") (param i32 i32) (result i32)
      (memory.atomic.notify (local.get 0) (local.get 1)))))");
  SharedMemory memory = SharedMemory::create(engine, shared_type(1, 1)).unwrap();
  Store store(engine);
  auto instance = Instance::create(store, module, {memory.memory(store).unwrap()});
  REQUIRE(instance);
  auto func = [&](Store& in, Instance& of, const char* name) {
    return std::get<Func>(*of.get(in, name));
  };
  Instance main_instance = instance.ok();
  CHECK(func(store, main_instance, "wait").call(store, {0, 1, Val(int64_t(-1))}).ok()[0].i32() ==
        1);  // not equal: returns at once
  CHECK(func(store, main_instance, "wait").call(store, {0, 0, Val(int64_t(1000))}).ok()[0].i32() ==
        2);  // timed out after 1 µs
  CHECK(func(store, main_instance, "wait64")
            .call(store, {8, Val(int64_t(0)), Val(int64_t(0))})
            .ok()[0]
            .i32() == 2);
  CHECK(func(store, main_instance, "notify").call(store, {0, 10}).ok()[0].i32() == 0);

  // A waiter on another thread (its own store) wakes when this thread notifies it.
  std::atomic<int32_t> woke{-1};
  std::thread waiter([&] {
    Store own(engine);
    Instance mine = Instance::create(own, module, {memory.memory(own).unwrap()}).unwrap();
    woke.store(func(own, mine, "wait").call(own, {64, 0, Val(int64_t(-1))}).ok()[0].i32());
  });
  int32_t notified = 0;
  while (notified == 0) notified = func(store, main_instance, "notify").call(store, {64, 1}).ok()[0].i32();
  waiter.join();
  CHECK(notified == 1);
  CHECK(woke.load() == 0);

  Module unshared = compile(engine, R"((module (memory 1 1)
    (func (export "wait") (result i32)
      (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 0)))))");
  Instance plain = Instance::create(store, unshared, {}).unwrap();
  auto refused = func(store, plain, "wait").call(store, {});
  REQUIRE_FALSE(refused);
  CHECK(std::get<Trap>(refused.err().data).code() == TrapCode::AtomicWaitNonSharedMemory);
}
