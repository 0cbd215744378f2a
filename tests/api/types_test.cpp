// The public API: the types of include/kiln/types.hpp (MemoryType and its Builder).
#include <catch2/catch.hpp>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;
using test::contains;

TEST_CASE("MemoryType::Builder checks the combination", "[api][types]") {
  auto shared = MemoryType::Builder().min(1).max(4).shared(true).build();
  REQUIRE(shared);
  CHECK(shared.ok().is_shared());
  CHECK_FALSE(MemoryType::Builder().min(1).shared(true).build());  // shared needs a maximum
  CHECK_FALSE(MemoryType::Builder().min(3).max(2).build());
  CHECK_FALSE(MemoryType::Builder().page_size_log2(12).build());
  auto small = MemoryType::Builder().min(10).page_size_log2(0).build();
  REQUIRE(small);
  CHECK(small.ok().page_size() == 1);
  CHECK(MemoryType::New64(1, 2).is_64());
}
