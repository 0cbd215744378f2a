// The public API: AnyRef (include/kiln/store.hpp), the GC proposal's any hierarchy: AnyRef values
// (i31s, structs and arrays wasm made) through host functions, calls, typed views, globals and
// tables; the checks that keep a narrower reference type (i31ref, (ref $t), non-nullable) honest.
// The module and fixture are in api_test_support.hpp (externref_test.cpp shares them).
#include <catch2/catch.hpp>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;
using test::contains;
using Fixture = test::AnyRefFixture;

TEST_CASE("AnyRef: GC objects wasm made go through the host and back", "[api][anyref]") {
  Fixture f;
  std::optional<AnyRef> point = f.call_any("get_point");
  REQUIRE(point);
  CHECK(point->is_struct(f.store));
  CHECK(point->is_eqref(f.store));
  CHECK_FALSE(point->is_i31(f.store));
  CHECK_FALSE(point->i31(f.store));
  std::optional<AnyRef> bytes = f.call_any("get_bytes");
  REQUIRE(bytes);
  CHECK(bytes->is_array(f.store));
  CHECK_FALSE(bytes->is_struct(f.store));

  // wasm -> host function -> wasm -> host: the same object, as ref.eq sees it.
  std::optional<AnyRef> back = f.call_any("roundtrip", {*point});
  CHECK(f.echoes == 1);
  REQUIRE(back);
  CHECK(*back == *point);
  CHECK(f.func("same").call(f.store, {*point, *back}).unwrap()[0].i32() == 1);
  CHECK(f.func("is_point").call(f.store, {*back}).unwrap()[0].i32() == 1);
  CHECK(f.func("same").call(f.store, {*point, *bytes}).unwrap()[0].i32() == 0);
  CHECK_FALSE(f.call_any("roundtrip", {std::optional<AnyRef>()}));

  // Typed views carry anyref without boxing.
  auto typed = f.func("roundtrip")
                   .typed<std::optional<AnyRef>, std::optional<AnyRef>>(f.store)
                   .unwrap();
  CHECK(typed.call(f.store, *bytes).unwrap() == bytes);
}

TEST_CASE("AnyRef: i31 values", "[api][anyref]") {
  Fixture f;
  AnyRef small = AnyRef::i31(f.store, 42);
  CHECK(small.is_i31(f.store));
  CHECK(small.is_eqref(f.store));
  CHECK_FALSE(small.is_struct(f.store));
  CHECK(small.i31(f.store) == 42);
  CHECK(small.u31(f.store) == 42u);
  AnyRef minus_one = AnyRef::i31(f.store, 0xFFFFFFFFu);  // the top bit is dropped
  CHECK(minus_one.i31(f.store) == -1);
  CHECK(minus_one.u31(f.store) == 0x7FFFFFFFu);
  std::optional<AnyRef> back = f.call_any("roundtrip", {small});
  REQUIRE(back);
  CHECK(back->i31(f.store) == 42);
  CHECK(f.func("same").call(f.store, {small, AnyRef::i31(f.store, 42)}).unwrap()[0].i32() == 1);
  CHECK(f.global("seven").get(f.store).anyref()->i31(f.store) == 7);
}

TEST_CASE("AnyRef: globals and tables, with their types enforced", "[api][anyref]") {
  Fixture f;
  AnyRef point = *f.call_any("get_point");
  Global slot = f.global("slot");
  CHECK(slot.type(f.store).content().kind() == ValKind::AnyRef);
  REQUIRE(slot.set(f.store, AnyRef::i31(f.store, 5)));
  CHECK(slot.get(f.store).anyref()->i31(f.store) == 5);
  REQUIRE(slot.set(f.store, point));
  CHECK(slot.get(f.store).anyref() == point);
  REQUIRE(slot.set(f.store, std::optional<AnyRef>()));
  CHECK_FALSE(slot.get(f.store).anyref());
  CHECK_FALSE(slot.set(f.store, Val(1)));  // an i32 is not an anyref
  CHECK_FALSE(f.global("seven").set(f.store, AnyRef::i31(f.store, 8)));  // immutable

  Global eq_slot = f.global("eq_slot");
  REQUIRE(eq_slot.set(f.store, point));
  REQUIRE(eq_slot.set(f.store, AnyRef::i31(f.store, 1)));

  Table table = std::get<Table>(*f.instance.get(f.store, "table"));
  CHECK(table.type(f.store).element().kind() == ValKind::AnyRef);
  CHECK_FALSE(table.get(f.store, 0)->anyref());
  REQUIRE(table.set(f.store, 0, point));
  REQUIRE(table.set(f.store, 1, AnyRef::i31(f.store, 3)));
  CHECK(table.get(f.store, 0)->anyref() == point);
  CHECK(table.get(f.store, 1)->anyref()->i31(f.store) == 3);
  REQUIRE(table.grow(f.store, 1, point));
  CHECK(table.get(f.store, 2)->anyref() == point);
  CHECK_FALSE(table.set(f.store, 0, std::optional<ExternRef>()));  // another hierarchy

  // A host-made anyref table and global.
  Table made = Table::create(f.store, TableType(ValKind::AnyRef, 1), AnyRef::i31(f.store, 6))
                   .unwrap();
  CHECK(made.get(f.store, 0)->anyref()->i31(f.store) == 6);
  Global made_global =
      Global::create(f.store, GlobalType(ValKind::AnyRef, true), std::optional<AnyRef>()).unwrap();
  REQUIRE(made_global.set(f.store, point));
}

TEST_CASE("AnyRef: narrower parameter types are checked, never trusted", "[api][anyref]") {
  Fixture f;
  AnyRef point = *f.call_any("get_point");
  AnyRef bytes = *f.call_any("get_bytes");
  // i31ref: only i31s (and null).
  Func take_i31 = f.func("take_i31");
  CHECK(take_i31.type(f.store).params()[0].kind() == ValKind::AnyRef);
  CHECK(take_i31.call(f.store, {AnyRef::i31(f.store, 1)}).unwrap()[0].i32() == 0);
  CHECK(take_i31.call(f.store, {std::optional<AnyRef>()}).unwrap()[0].i32() == 1);
  auto not_i31 = take_i31.call(f.store, {point});
  REQUIRE_FALSE(not_i31);
  CHECK(contains(not_i31.err().message(), "argument 0: the reference is not an i31ref"));
  // eqref: no internalized host values, but i31s, structs and arrays.
  CHECK(f.func("same").call(f.store, {bytes, AnyRef::i31(f.store, 0)}));
  // (ref $point): not null, and only objects of that type.
  Func take_point = f.func("take_point");
  CHECK(take_point.call(f.store, {point}).unwrap()[0].i32() == 1);
  auto null = take_point.call(f.store, {std::optional<AnyRef>()});
  REQUIRE_FALSE(null);
  CHECK(contains(null.err().message(), "non-nullable"));
  auto other_type = take_point.call(f.store, {bytes});
  REQUIRE_FALSE(other_type);
  CHECK(contains(other_type.err().message(), "of the parameter's type"));
  CHECK_FALSE(take_point.call(f.store, {AnyRef::i31(f.store, 1)}));
  // A typed view would pass values unchecked: refused for such functions.
  auto typed = take_i31.typed<std::optional<AnyRef>, int32_t>(f.store);
  REQUIRE_FALSE(typed);
  CHECK(contains(typed.err().message(), "narrower"));
  // A value of another store is refused.
  Store other(f.engine);
  auto foreign = f.func("roundtrip").call(f.store, {AnyRef::i31(other, 1)});
  REQUIRE_FALSE(foreign);
  CHECK(contains(foreign.err().message(), "another store"));
}
