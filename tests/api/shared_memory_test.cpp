// The public API: SharedMemory (include/kiln/store.hpp, the threads proposal): one memory used
// by stores on several threads, grown while others read it, imported and exported. The atomic
// operators are in atomics_test.cpp.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;
using test::contains;
using test::shared_type;

namespace {
// Adds 1 to the i32 at address 0, `n` times, atomically.
const char* kCounter = R"((module
  (import "env" "memory" (memory 1 4 shared))
  (func (export "add_many") (param $n i32)
    (loop $again
      (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
      (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))))";
}  // namespace

TEST_CASE("SharedMemory: two threads, two stores, atomics give the exact total",
          "[api][shared-memory]") {
  Engine engine;
  Module module = compile(engine, kCounter);
  SharedMemory memory = SharedMemory::create(engine, shared_type(1, 4)).unwrap();
  constexpr int32_t kPerThread = 200000;
  // (Catch2's assertions are for the main thread: the workers report failures by message.)
  std::string failures[2];
  auto work = [&](std::string& failure) {
    Store store(engine);
    Linker linker(engine);
    auto defined = linker.define(store, "env", "memory", memory);
    if (!defined) return void(failure = defined.err().message());
    auto instance = linker.instantiate(store, module);
    if (!instance) return void(failure = instance.err().message());
    auto add_many = std::get<Func>(*instance.ok().get(store, "add_many"));
    auto ran = add_many.call(store, {kPerThread});
    if (!ran) failure = ran.err().message();
  };
  std::thread first(work, std::ref(failures[0])), second(work, std::ref(failures[1]));
  first.join();
  second.join();
  CHECK(failures[0] == "");
  CHECK(failures[1] == "");
  int32_t total = 0;
  std::memcpy(&total, memory.data().data(), 4);
  CHECK(total == 2 * kPerThread);
}

TEST_CASE("SharedMemory: size, grow, data, type; growing while another thread reads",
          "[api][shared-memory]") {
  Engine engine;
  SharedMemory memory = SharedMemory::create(engine, shared_type(1, 64)).unwrap();
  CHECK(memory.type().is_shared());
  CHECK(memory.type().max() == 64);
  CHECK(memory.size() == 1);
  CHECK(memory.data().size() == 65536);
  const uint8_t* base = memory.data().data();

  Module module = compile(engine, R"((module
    (import "env" "memory" (memory 1 64 shared))
    (func (export "size") (result i32) (memory.size))
    (func (export "last_byte") (result i32)
      (i32.load8_u (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 1))))))");
  Store store(engine);
  auto instance = Instance::create(store, module, {memory.memory(store).unwrap()});
  REQUIRE(instance);
  Func size = std::get<Func>(*instance.ok().get(store, "size"));
  Func last_byte = std::get<Func>(*instance.ok().get(store, "last_byte"));

  // A reader in wasm on another thread touches the last byte of the size it sees, while this
  // thread grows the memory page by page: the size is published only once the bytes are there.
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::atomic<bool> reader_stopped{false};
  std::string failure;
  std::thread reader([&] {
    while (!done.load() && failure.empty()) {
      auto byte = last_byte.call(store, {});
      if (!byte) failure = byte.err().message();
      reads.fetch_add(1);
    }
    reader_stopped.store(true);
  });
  for (uint64_t pages = 1; pages < 64; ++pages) {
    auto grown = memory.grow(1);
    REQUIRE(grown);
    CHECK(grown.ok() == pages);
    // Let the reader run between growths (it stops early on a failure).
    const int seen = reads.load();
    while (reads.load() < seen + 2 && !reader_stopped.load()) std::this_thread::yield();
  }
  done.store(true);
  reader.join();
  CHECK(failure == "");
  CHECK(reads.load() > 0);
  CHECK(memory.size() == 64);
  CHECK(memory.data().data() == base);  // shared memories never move
  CHECK(size.call(store, {}).ok()[0].i32() == 64);
  auto beyond = memory.grow(1);
  REQUIRE_FALSE(beyond);
  CHECK(contains(beyond.err().message(), "maximum 64"));
  CHECK(memory.size() == 64);
}

TEST_CASE("SharedMemory: creation errors, import type mismatches, exports, other engines",
          "[api][shared-memory]") {
  Engine engine;
  auto unshared = SharedMemory::create(engine, MemoryType(1, 2));
  REQUIRE_FALSE(unshared);
  CHECK(contains(unshared.err().message(), "not shared"));
  Config no_threads;
  no_threads.wasm_threads(false);
  Engine without(std::move(no_threads));
  auto disabled = SharedMemory::create(without, shared_type(1, 2));
  REQUIRE_FALSE(disabled);
  CHECK(contains(disabled.err().message(), "threads"));

  Module wants_shared = compile(engine, R"((module (import "env" "memory" (memory 1 4 shared))))");
  Module wants_plain = compile(engine, R"((module (import "env" "memory" (memory 1 4))))");
  SharedMemory memory = SharedMemory::create(engine, shared_type(1, 4)).unwrap();
  SharedMemory larger = SharedMemory::create(engine, shared_type(1, 8)).unwrap();
  Store store(engine);
  auto plain = Memory::create(store, MemoryType(1, 4)).unwrap();
  auto mismatch = [&](const Module& module, Memory import) {
    auto instance = Instance::create(store, module, {import});
    REQUIRE_FALSE(instance);
    CHECK(contains(instance.err().message(), "incompatible import type"));
  };
  mismatch(wants_shared, plain);                             // unshared for a shared import
  mismatch(wants_plain, memory.memory(store).unwrap());      // shared for an unshared import
  mismatch(wants_shared, larger.memory(store).unwrap());     // a maximum above the import's
  CHECK(Instance::create(store, wants_shared, {memory.memory(store).unwrap()}));

  // A shared memory a module defines and exports is one every store can import.
  Module exporter = compile(engine, R"((module
    (memory (export "memory") 1 4 shared)
    (func (export "poke") (param i32 i32) (i32.atomic.store (local.get 0) (local.get 1)))))");
  auto defining = Instance::create(store, exporter, {});
  REQUIRE(defining);
  std::optional<SharedMemory> exported = defining.ok().get_shared_memory(store, "memory");
  REQUIRE(exported);
  CHECK_FALSE(defining.ok().get_shared_memory(store, "poke"));
  CHECK_FALSE(plain.shared(store));
  Module reader = compile(engine, R"((module
    (import "env" "memory" (memory 1 4 shared))
    (func (export "peek") (param i32) (result i32) (i32.atomic.load (local.get 0)))))");
  std::optional<Func> peek;
  {
    Store other(engine);
    Linker linker(engine);
    REQUIRE(linker.define(other, "env", "memory", *exported));
    auto instance = linker.instantiate(other, reader);
    REQUIRE(instance);
    REQUIRE(std::get<Func>(*defining.ok().get(store, "poke")).call(store, {8, 1234}));
    CHECK(std::get<Func>(*instance.ok().get(other, "peek")).call(other, {8}).ok()[0].i32() ==
          1234);
  }
  // The defining store's memory outlives the other store, and the other way round.
  SharedMemory kept = *exported;
  { Store gone(engine); }
  CHECK(kept.size() == 1);

  // Compiled code assumes its own engine's guard regions: another engine's memory is refused.
  Store foreign_store(without);
  auto foreign = memory.memory(foreign_store);
  REQUIRE_FALSE(foreign);
  CHECK(contains(foreign.err().message(), "another engine"));
  Linker linker(without);
  CHECK_FALSE(linker.define(foreign_store, "env", "memory", memory));
}

TEST_CASE("SharedMemory outlives the store that defined it", "[api][shared-memory]") {
  Engine engine;
  std::optional<SharedMemory> memory;
  {
    Store store(engine);
    Module module = compile(engine, R"((module
      (memory (export "memory") 1 2 shared) (data (i32.const 0) "kiln")))");
    auto instance = Instance::create(store, module, {});
    REQUIRE(instance);
    memory = instance.ok().get_shared_memory(store, "memory");
    REQUIRE(memory);
  }
  REQUIRE(memory->data().size() == 65536);
  CHECK(std::string(reinterpret_cast<const char*>(memory->data().data()), 4) == "kiln");
}
