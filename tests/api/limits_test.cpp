// Store limits (issue 8, point 3): growth refused as -1 without change, instantiation refused
// with an error naming the limit, the API's grow an error, an embedder's own limiter.
#include <catch2/catch.hpp>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;
using test::contains;

namespace {
const char* kGrower = R"((module
  (memory (export "memory") 1)
  (table (export "table") 1 funcref)
  (func (export "grow_memory") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "grow_table") (param i32) (result i32)
    (table.grow (ref.null func) (local.get 0)))))";
}  // namespace

TEST_CASE("memory_size and table_elements: wasm's grow gets -1 and nothing changes",
          "[api][limits]") {
  Engine engine;
  Store store(engine);
  store.limiter(3 * 65536, 5, -1, -1, -1);
  auto instance = Instance::create(store, compile(engine, kGrower), {});
  REQUIRE(instance);
  auto func = [&](const char* name) { return std::get<Func>(*instance.ok().get(store, name)); };
  Memory memory = std::get<Memory>(*instance.ok().get(store, "memory"));
  Table table = std::get<Table>(*instance.ok().get(store, "table"));

  CHECK(func("grow_memory").call(store, {2}).ok()[0].i32() == 1);  // 3 pages: at the limit
  CHECK(func("grow_memory").call(store, {1}).ok()[0].i32() == -1);
  CHECK(memory.size(store) == 3);
  auto api_grow = memory.grow(store, 1);
  REQUIRE_FALSE(api_grow);
  CHECK(memory.size(store) == 3);

  CHECK(func("grow_table").call(store, {4}).ok()[0].i32() == 1);  // 5 elements: at the limit
  CHECK(func("grow_table").call(store, {1}).ok()[0].i32() == -1);
  CHECK(table.size(store) == 5);
  CHECK_FALSE(table.grow(store, 1, std::optional<Func>()));
}

TEST_CASE("instantiation beyond a limit fails, naming it", "[api][limits]") {
  Engine engine;
  Module grower = compile(engine, kGrower);
  {
    Store store(engine);
    store.limiter(-1, -1, 1, -1, -1);
    REQUIRE(Instance::create(store, grower, {}));
    auto second = Instance::create(store, grower, {});
    REQUIRE_FALSE(second);
    CHECK(contains(second.err().message(), "limit: instances"));
  }
  {
    Store store(engine);
    store.limiter(-1, -1, -1, -1, 0);
    auto refused = Instance::create(store, grower, {});
    REQUIRE_FALSE(refused);
    CHECK(contains(refused.err().message(), "limit: memories"));
    CHECK_FALSE(Memory::create(store, MemoryType(1)));
  }
  {
    Store store(engine);
    store.limiter(-1, -1, -1, 0, -1);
    auto refused = Instance::create(store, grower, {});
    REQUIRE_FALSE(refused);
    CHECK(contains(refused.err().message(), "limit: tables"));
  }
  {
    Store store(engine);
    store.limiter(65535, -1, -1, -1, -1);  // less than the initial page
    auto refused = Instance::create(store, grower, {});
    REQUIRE_FALSE(refused);
    CHECK(contains(refused.err().message(), "limit: memory_size"));
  }
  {
    Store store(engine);
    store.limiter(-1, 0, -1, -1, -1);
    auto refused = Instance::create(store, grower, {});
    REQUIRE_FALSE(refused);
    CHECK(contains(refused.err().message(), "limit: table_elements"));
  }
}

TEST_CASE("an embedder's limiter decides each request", "[api][limits]") {
  struct Recorder : ResourceLimiter {
    std::vector<std::pair<uint64_t, uint64_t>> memory_requests;
    bool memory_growing(uint64_t current, uint64_t desired, std::optional<uint64_t>) override {
      memory_requests.emplace_back(current, desired);
      return desired <= 2 * 65536;
    }
    bool table_growing(uint64_t, uint64_t desired, std::optional<uint64_t>) override {
      return desired % 2 == 1;  // odd sizes only
    }
  };
  auto recorder = std::make_shared<Recorder>();
  Engine engine;
  Store store(engine);
  store.set_resource_limiter(recorder);
  auto instance = Instance::create(store, compile(engine, kGrower), {});
  REQUIRE(instance);
  auto func = [&](const char* name) { return std::get<Func>(*instance.ok().get(store, name)); };
  CHECK(func("grow_memory").call(store, {1}).ok()[0].i32() == 1);
  CHECK(func("grow_memory").call(store, {1}).ok()[0].i32() == -1);
  REQUIRE(recorder->memory_requests.size() == 3);  // the initial page, then two grows
  CHECK(recorder->memory_requests[0] == std::make_pair(uint64_t(0), uint64_t(65536)));
  CHECK(recorder->memory_requests[2] == std::make_pair(uint64_t(2 * 65536), uint64_t(3 * 65536)));
  CHECK(func("grow_table").call(store, {1}).ok()[0].i32() == -1);  // 2: even, refused
  CHECK(func("grow_table").call(store, {2}).ok()[0].i32() == 1);   // 3: odd, allowed
}
