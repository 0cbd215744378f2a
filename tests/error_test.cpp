#include <catch2/catch.hpp>

#include "kiln/error.hpp"

TEST_CASE("Result holds a value or an error", "[error]") {
  kiln::Result<int> good = 42;
  REQUIRE(good);
  CHECK(good.ok() == 42);
  CHECK(std::move(good).unwrap() == 42);

  kiln::Result<int> bad = kiln::Error("integer too large", 17);
  REQUIRE_FALSE(bad);
  CHECK(bad.err().message() == "integer too large");
  CHECK(bad.err().offset() == 17u);
  CHECK(bad.err().to_string() == "integer too large (at byte offset 17)");
}

TEST_CASE("Result<void> reports success or an error", "[error]") {
  kiln::Result<void> good;
  CHECK(good);
  kiln::Result<void> bad = kiln::Error("unexpected end");
  REQUIRE_FALSE(bad);
  CHECK(bad.err().to_string() == "unexpected end");
}
