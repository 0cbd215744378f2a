// The public API: Config (include/kiln/config.hpp), its proposal switches and the settings
// Kiln cannot honour. Compile settings (cache, parallel compilation, opt level) are in
// compile_settings_test.cpp.
#include <catch2/catch.hpp>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;
using test::contains;

TEST_CASE("Config: each proposal switch reaches validation, naming the proposal", "[api][config]") {
  struct Case {
    void (Config::*setter)(bool);
    const char* wat;
    const char* proposal;
  };
  const Case cases[] = {
      {&Config::wasm_simd, "(func (result v128) (v128.const i64x2 0 0))", "simd"},
      {&Config::wasm_multi_memory, "(memory 1) (memory 1)", "multiple memories"},
      {&Config::wasm_threads, "(memory 1 1 shared)", "threads"},
      {&Config::wasm_tail_call, "(func return_call 0)", "tail"},
      {&Config::wasm_memory64, "(memory i64 1)", "memory64"},
      {&Config::wasm_wide_arithmetic,
       "(func (result i64 i64) i64.const 0 i64.const 0 i64.const 0 i64.const 0 i64.add128)",
       "wide"},
      {&Config::wasm_exceptions, "(tag) (func throw 0)", "exception"},
  };
  for (const Case& c : cases) {
    INFO(c.wat);
    Config config;
    (config.*c.setter)(false);
    Engine off(std::move(config));
    auto compiled = Module::compile(off, std::string_view(c.wat));
    REQUIRE_FALSE(compiled);
    CHECK(contains(compiled.err().message(), c.proposal));
  }
}

TEST_CASE("Config: an unavailable setting is an error naming it, never ignored", "[api][config]") {
  auto expect_error = [](Config config, std::string_view setting) {
    auto engine = Engine::create(std::move(config));
    REQUIRE_FALSE(engine);
    CHECK(contains(engine.err().message(), setting));
  };
  Config cranelift;
  cranelift.strategy(Strategy::Cranelift);
  expect_error(std::move(cranelift), "Cranelift");
  Config vtune;
  vtune.profiler(ProfilingStrategy::Vtune);
  expect_error(std::move(vtune), "VTune");
  Config nan;
  nan.cranelift_nan_canonicalization(true);
  expect_error(std::move(nan), "nan_canonicalization");

  // Through the constructor (which cannot fail), the error comes back from compilation.
  Config components;
  components.wasm_component_model(true);
  Engine engine(std::move(components));
  auto module = Module::compile(engine, std::string_view("(module)"));
  REQUIRE_FALSE(module);
  CHECK(contains(module.err().message(), "wasm_component_model"));

  // Fuel and epochs are implemented (docs/fuel-epochs.md): accepted.
  Config metered;
  metered.consume_fuel(true);
  metered.epoch_interruption(true);
  CHECK(Engine::create(std::move(metered)));

  Config fine;
  fine.strategy(Strategy::SinglePass);
  fine.wasm_simd(false);
  CHECK(Engine::create(std::move(fine)));
}
