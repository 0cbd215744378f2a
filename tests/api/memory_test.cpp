// The public API: Memory (include/kiln/store.hpp). SharedMemory is in shared_memory_test.cpp.
#include <catch2/catch.hpp>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;
using test::contains;

TEST_CASE("Memory: size, data, grow, bounds-checked access", "[api][memory]") {
  Engine engine;
  Store store(engine);
  Module module = compile(engine, R"((module
    (memory (export "memory") 2 3)
    (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
    (data (i32.const 0x1000) "\01\02")))");
  auto instance = Instance::create(store, module, {});
  REQUIRE(instance);
  Memory memory = std::get<Memory>(*instance.ok().get(store, "memory"));
  CHECK(memory.size(store) == 2);
  CHECK(memory.data(store).size() == 2 * 65536);
  CHECK(memory.data(store)[0x1001] == 2);
  memory.data(store)[0x1003] = 5;  // the span writes through
  Func load = std::get<Func>(*instance.ok().get(store, "load"));
  CHECK(load.call(store, {0x1003}).ok()[0].i32() == 5);
  auto oob = load.call(store, {0x20000});
  REQUIRE_FALSE(oob);
  CHECK(std::get<Trap>(oob.err().data).code() == TrapCode::MemoryOutOfBounds);

  auto grown = memory.grow(store, 1);
  REQUIRE(grown);
  CHECK(grown.ok() == 2);
  CHECK(memory.size(store) == 3);
  auto too_far = memory.grow(store, 1);
  REQUIRE_FALSE(too_far);
  CHECK(contains(too_far.err().message(), "maximum 3"));
  CHECK(memory.grow(store, 0).ok() == 3);

  uint8_t bytes[2] = {};
  REQUIRE(memory.read(store, 0x1000, bytes));
  CHECK(bytes[0] == 1);
  const uint8_t out[3] = {7, 8, 9};
  REQUIRE(memory.write(store, 3 * 65536 - 3, out));
  CHECK_FALSE(memory.write(store, 3 * 65536 - 2, out));
  CHECK_FALSE(memory.read(store, UINT64_MAX, bytes));
  CHECK(memory.type(store).max() == 3);
  CHECK(memory.page_size(store) == 65536);

  auto made = Memory::create(store, MemoryType(5, 5));
  REQUIRE(made);
  CHECK(made.ok().size(store) == 5);
  CHECK_FALSE(made.ok().grow(store, 1));
}
