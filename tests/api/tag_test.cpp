// The public API: Tag (include/kiln/store.hpp), host-made exception tags.
#include <catch2/catch.hpp>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;
using test::contains;

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
