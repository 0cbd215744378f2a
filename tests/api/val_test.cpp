// kiln::Val (include/kiln/store.hpp): each kind's constructor and accessor, bit-exact floats
// (NaN payloads and -0 survive), V128 lanes, null references of each reference kind, and values
// that keep their bits through a wasm call.
#include <catch2/catch.hpp>

#include <bit>
#include <cstring>
#include <limits>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;

TEST_CASE("Val: kinds, accessors and exact bits", "[api][val]") {
  CHECK(Val(int32_t(-7)).kind() == ValKind::I32);
  CHECK(Val(int32_t(-7)).i32() == -7);
  CHECK(Val(std::numeric_limits<int64_t>::min()).i64() == std::numeric_limits<int64_t>::min());
  CHECK(Val(int64_t(1)).kind() == ValKind::I64);
  CHECK(Val(1.5f).kind() == ValKind::F32);
  CHECK(Val(1.5).kind() == ValKind::F64);

  // A NaN with a payload and a negative zero keep their bits.
  const float nan_payload = std::bit_cast<float>(uint32_t(0x7fa00001));
  CHECK(std::bit_cast<uint32_t>(Val(nan_payload).f32()) == 0x7fa00001u);
  CHECK(std::bit_cast<uint64_t>(Val(-0.0).f64()) == 0x8000000000000000ull);

  V128 lanes;
  for (uint8_t i = 0; i < 16; ++i) lanes.v128[i] = uint8_t(i * 17);
  Val vector(lanes);
  CHECK(vector.kind() == ValKind::V128);
  CHECK(vector.v128() == lanes);

  for (ValKind kind : {ValKind::FuncRef, ValKind::ExternRef, ValKind::AnyRef}) {
    INFO(to_string(kind));
    Val null = Val::null_of(kind);
    CHECK(null.kind() == kind);
  }
  CHECK_FALSE(Val::null_of(ValKind::FuncRef).funcref().has_value());
  CHECK_FALSE(Val::null_of(ValKind::ExternRef).externref().has_value());
  CHECK_FALSE(Val::null_of(ValKind::AnyRef).anyref().has_value());
}

TEST_CASE("Val: values keep their bits through wasm", "[api][val]") {
  Engine engine;
  Store store(engine);
  Module module = compile(engine, R"((module
    (func (export "id") (param i32 i64 f32 f64) (result f64 f32 i64 i32)
      (local.get 3) (local.get 2) (local.get 1) (local.get 0))))");
  Instance instance = Instance::create(store, module, {}).unwrap();
  Func id = std::get<Func>(*instance.get(store, "id"));
  const float nan_payload = std::bit_cast<float>(uint32_t(0xffc0dead));
  auto results =
      id.call(store, {Val(int32_t(-1)), Val(int64_t(1) << 62), Val(nan_payload), Val(-0.0)})
          .unwrap();
  REQUIRE(results.size() == 4);
  CHECK(std::bit_cast<uint64_t>(results[0].f64()) == 0x8000000000000000ull);
  CHECK(std::bit_cast<uint32_t>(results[1].f32()) == 0xffc0deadu);
  CHECK(results[2].i64() == int64_t(1) << 62);
  CHECK(results[3].i32() == -1);
}
