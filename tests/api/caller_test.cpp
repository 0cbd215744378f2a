// kiln::Caller (include/kiln/store.hpp): what a host function learns about who called it: the
// calling instance's exports (memory, functions, globals), the store's data through context(),
// and nothing when the host itself made the call.
#include <catch2/catch.hpp>

#include <any>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;
using test::contains;

TEST_CASE("Caller reaches the calling instance's exports and the store's data", "[api][caller]") {
  Engine engine;
  Store store(engine);
  store.context().set_data(std::any(int32_t(1000)));
  // The host function reads the caller's memory at `offset`, calls its `twice` export, reads its
  // `base` global and adds the store's data.
  Func host = Func::wrap(store, [](Caller caller, int32_t offset) -> Result<int32_t, Trap> {
    auto memory = caller.get_export("memory");
    auto twice = caller.get_export("twice");
    auto base = caller.get_export("base");
    if (!memory || !twice || !base) return Trap("an export is missing");
    if (caller.get_export("no such export")) return Trap("found an export that does not exist");
    Store::Context cx = caller.context();
    uint8_t byte = std::get<Memory>(*memory).data(cx)[size_t(offset)];
    auto doubled = std::get<Func>(*twice).call(cx, {int32_t(byte)});
    if (!doubled) return Trap(doubled.err().message());
    int32_t data = std::any_cast<int32_t>(cx.get_data());
    return doubled.ok()[0].i32() + std::get<Global>(*base).get(cx).i32() + data;
  });
  Module module = compile(engine, R"((module
    (import "host" "f" (func $f (param i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 8) "\15")
    (global (export "base") i32 (i32.const 300))
    (func (export "twice") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
    (func (export "run") (result i32) (call $f (i32.const 8)))))");
  Instance instance = Instance::create(store, module, {host}).unwrap();
  auto result = std::get<Func>(*instance.get(store, "run")).call(store, {});
  REQUIRE(result);
  CHECK(result.ok()[0].i32() == 21 * 2 + 300 + 1000);
}

TEST_CASE("Caller: called from the host, there is no calling instance", "[api][caller]") {
  Engine engine;
  Store store(engine);
  bool had_export = true;
  Func host = Func::wrap(store, [&had_export](Caller caller) {
    had_export = caller.get_export("memory").has_value();
  });
  REQUIRE(host.call(store, {}));
  CHECK_FALSE(had_export);
}
