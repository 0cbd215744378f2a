// The public API: Engine (include/kiln/config.hpp), its defaults, copies and epochs.
#include <catch2/catch.hpp>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;
using test::contains;

TEST_CASE("Engine: defaults, copies, epochs", "[api][engine]") {
  Engine engine;
  CHECK_FALSE(engine.is_pulley());
  Engine copy = engine;
  CHECK(copy.state() == engine.state());  // copies share one engine
  engine.increment_epoch();               // callable on a const engine, from any thread
  const Engine& constant = copy;
  constant.increment_epoch();
}
