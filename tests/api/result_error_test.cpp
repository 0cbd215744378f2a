// kiln::Result and kiln::Error (include/kiln/error.hpp): ok()/err()/unwrap() on both sides,
// move-only values, void results, byte offsets in messages, and a WASI exit status carried by an
// Error (i32_exit).
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::contains;

namespace {

Result<int> parse_digit(char c) {
  if (c < '0' || c > '9') return Error(std::string("not a digit: ") + c, 3);
  return c - '0';
}

}  // namespace

TEST_CASE("Result holds a value or an Error", "[api][result]") {
  auto seven = parse_digit('7');
  REQUIRE(seven);
  CHECK(seven.ok() == 7);
  CHECK(seven.unwrap() == 7);

  auto bad = parse_digit('x');
  REQUIRE_FALSE(bad);
  CHECK(bad.err().message() == "not a digit: x");
  CHECK(bad.err().offset() == 3u);
  CHECK(bad.err().to_string() == "not a digit: x (at byte offset 3)");
  CHECK(Error("plain").to_string() == "plain");
  CHECK_FALSE(Error("plain").offset().has_value());

  // A move-only value moves out through unwrap; an lvalue unwrap moves too, as Wasmtime's does.
  Result<std::unique_ptr<int>> boxed(std::make_unique<int>(5));
  std::unique_ptr<int> taken = boxed.unwrap();
  REQUIRE(taken);
  CHECK(*taken == 5);

  // std::monostate results: success or an error, nothing else.
  Result<std::monostate> done = std::monostate();
  CHECK(done);
  Result<std::monostate> failed = Error("no");
  REQUIRE_FALSE(failed);
  CHECK(failed.err().message() == "no");
}

TEST_CASE("Error: a WASI exit status is an Error carrying i32_exit", "[api][result]") {
  Error exit = Error::exit(3);
  REQUIRE(exit.i32_exit().has_value());
  CHECK(*exit.i32_exit() == 3);
  CHECK(contains(exit.message(), "3"));
  CHECK_FALSE(Error("other").i32_exit().has_value());
}
