// The public API: Trap, its Trace and FrameRef (include/kiln/trap.hpp).
#include <catch2/catch.hpp>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;
using test::contains;

TEST_CASE("Traps: codes, frames with names and offsets", "[api][trap]") {
  Engine engine;
  Store store(engine);
  Module module = compile(engine, R"((module $mod
    (func $inner (unreachable))
    (func $outer (export "outer") (call $inner))))");
  auto instance = Instance::create(store, module, {});
  REQUIRE(instance);
  auto result = std::get<Func>(*instance.ok().get(store, "outer")).call(store, {});
  REQUIRE_FALSE(result);
  const Trap& trap = std::get<Trap>(result.err().data);
  CHECK(trap.code() == TrapCode::UnreachableCodeReached);
  Trace trace = trap.trace();
  REQUIRE(trace.size() == 2);
  CHECK(trace[0].func_index() == 0);
  CHECK(trace[0].func_name() == "inner");
  CHECK(trace[0].module_name() == "mod");
  CHECK(trace[1].func_name() == "outer");
  // `unreachable` is the first instruction of $inner's body, after its (empty) locals vector.
  CHECK(trace[0].func_offset() == 1);
  CHECK(trace[0].module_offset() > trace[0].func_offset());
}
