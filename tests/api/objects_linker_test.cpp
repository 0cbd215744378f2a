// The public API: Memory, Table, Global, Linker.
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

TEST_CASE("Table: get, set, grow, funcrefs", "[api][table]") {
  Engine engine;
  Store store(engine);
  Module module = compile(engine, R"((module
    (table (export "table") 2 4 funcref)
    (func $seven (result i32) (i32.const 7))
    (elem (i32.const 0) $seven)
    (type $t (func (result i32)))
    (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0)))))");
  auto instance = Instance::create(store, module, {});
  REQUIRE(instance);
  Table table = std::get<Table>(*instance.ok().get(store, "table"));
  CHECK(table.size(store) == 2);
  auto first = table.get(store, 0);
  REQUIRE(first.has_value());
  REQUIRE(first->funcref());
  auto seven = first->funcref()->call(store, {});
  REQUIRE(seven);
  CHECK(seven.ok()[0].i32() == 7);
  CHECK_FALSE(table.get(store, 1)->funcref());
  CHECK_FALSE(table.get(store, 2).has_value());

  Func nine = Func::wrap(store, []() -> int32_t { return 9; });
  REQUIRE(table.set(store, 1, nine));
  Func call = std::get<Func>(*instance.ok().get(store, "call"));
  CHECK(call.call(store, {1}).ok()[0].i32() == 9);
  CHECK_FALSE(table.set(store, 5, nine));
  CHECK_FALSE(table.set(store, 0, Val(1)));  // not a funcref

  auto grown = table.grow(store, 2, std::optional<Func>());
  REQUIRE(grown);
  CHECK(grown.ok() == 2);
  CHECK_FALSE(table.grow(store, 1, std::optional<Func>()));
  CHECK(table.type(store).max() == 4);

  auto made = Table::create(store, TableType(ValKind::FuncRef, 3), nine);
  REQUIRE(made);
  CHECK(made.ok().get(store, 2)->funcref() == nine);
}

TEST_CASE("Global: get, set, mutability and types enforced", "[api][global]") {
  Engine engine;
  Store store(engine);
  Module module = compile(engine, R"((module
    (global (export "counter") (mut i64) (i64.const 5))
    (global (export "fixed") f32 (f32.const 1.5))
    (func (export "read") (result i64) (global.get 0))))");
  auto instance = Instance::create(store, module, {});
  REQUIRE(instance);
  Global counter = std::get<Global>(*instance.ok().get(store, "counter"));
  Global fixed = std::get<Global>(*instance.ok().get(store, "fixed"));
  CHECK(counter.get(store).i64() == 5);
  CHECK(fixed.get(store).f32() == 1.5f);
  REQUIRE(counter.set(store, Val(int64_t(9))));
  CHECK(std::get<Func>(*instance.ok().get(store, "read")).call(store, {}).ok()[0].i64() == 9);
  auto immutable = fixed.set(store, Val(2.0f));
  REQUIRE_FALSE(immutable);
  CHECK(contains(immutable.err().message(), "immutable"));
  auto mistyped = counter.set(store, Val(1));
  REQUIRE_FALSE(mistyped);
  CHECK(contains(mistyped.err().message(), "i32 value for a global of i64"));
  CHECK(counter.type(store).is_mutable());

  auto made = Global::create(store, GlobalType(ValKind::F64, true), Val(0.5));
  REQUIRE(made);
  CHECK(made.ok().get(store).f64() == 0.5);
  CHECK_FALSE(Global::create(store, GlobalType(ValKind::F64, true), Val(1)));
}

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

TEST_CASE("ExternRef: host values through tables, globals, calls and host functions",
          "[api][externref]") {
  Engine engine;
  Store store(engine);
  Module module = compile(engine, R"((module
    (import "" "len" (func $len (param externref) (result i32)))
    (table (export "table") 2 externref)
    (func (export "len_of") (param externref) (result i32) (call $len (local.get 0)))
    (func (export "is_null") (param externref) (result i32) (ref.is_null (local.get 0)))))");
  Func len = Func::wrap(store, [](Caller caller, std::optional<ExternRef> ref) -> int32_t {
    if (!ref) return -1;
    return int32_t(std::any_cast<std::string&>(ref->data(caller)).size());
  });
  auto instance = Instance::create(store, module, {len});
  REQUIRE(instance);
  ExternRef text(store, std::string("four"));
  Func len_of = std::get<Func>(*instance.ok().get(store, "len_of"));
  CHECK(len_of.call(store, {text}).ok()[0].i32() == 4);
  CHECK(len_of.call(store, {std::optional<ExternRef>()}).ok()[0].i32() == -1);
  Func is_null = std::get<Func>(*instance.ok().get(store, "is_null"));
  CHECK(is_null.call(store, {text}).ok()[0].i32() == 0);
  CHECK(is_null.call(store, {std::optional<ExternRef>()}).ok()[0].i32() == 1);

  Table table = std::get<Table>(*instance.ok().get(store, "table"));
  CHECK_FALSE(table.get(store, 0)->externref().has_value());
  REQUIRE(table.set(store, 1, text));
  CHECK(table.get(store, 1)->externref() == text);
  CHECK_FALSE(table.set(store, 0, Val(1)));  // an i32 is not an externref

  // A value of another store is refused where the call can fail.
  Store other(engine);
  ExternRef foreign(other, 1);
  auto refused = len_of.call(store, {foreign});
  REQUIRE_FALSE(refused.has_value());
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

TEST_CASE("Tag: host-made tags, their types, identity", "[api][tag]") {
  Engine engine;
  Store store(engine);
  auto tag = Tag::create(store, TagType(FuncType({ValKind::I32, ValKind::F64}, {})));
  REQUIRE(tag);
  FuncType payload = tag.ok().type(store).functype();
  REQUIRE(payload.params().size() == 2);
  CHECK(payload.params()[1].kind() == ValKind::F64);
  CHECK(tag.ok().eq(store, tag.ok()));
  auto another = Tag::create(store, TagType(FuncType({ValKind::I32, ValKind::F64}, {})));
  REQUIRE(another);
  CHECK_FALSE(tag.ok().eq(store, another.ok()));  // same type, distinct tags
  CHECK_FALSE(Tag::create(store, TagType(FuncType({}, {ValKind::I32}))));

  // A module importing a tag accepts a host tag of the same type.
  Module module = compile(engine, "(module (import \"\" \"t\" (tag (param i32 f64))))");
  CHECK(Instance::create(store, module, {tag.ok()}).has_value());
  Module mismatched = compile(engine, "(module (import \"\" \"t\" (tag (param i64))))");
  CHECK_FALSE(Instance::create(store, mismatched, {tag.ok()}).has_value());
}
