// The Reader's LEB128 decoding: exact lengths, padding, unused bits, sign extension, truncation.
#include <catch2/catch.hpp>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "decoder/reader.hpp"

using kiln::wasm::Reader;

namespace {

struct Bytes {
  std::vector<uint8_t> data;
  Bytes(std::initializer_list<uint8_t> list) : data(list) {}
  Reader reader() const { return Reader(data); }
};

// Decodes with `read` and requires it to consume every byte and produce `expected`.
template <typename Read, typename T>
void check_value(const Bytes& bytes, Read read, T expected) {
  Reader reader = bytes.reader();
  auto result = read(reader);
  REQUIRE(result);
  CHECK(result.ok() == expected);
  CHECK(reader.at_end());
}

template <typename Read>
void check_error(const Bytes& bytes, Read read, const std::string& message, uint64_t offset) {
  Reader reader = bytes.reader();
  auto result = read(reader);
  REQUIRE_FALSE(result);
  CHECK(result.err().message() == message);
  REQUIRE(result.err().offset());
  CHECK(*result.err().offset() == offset);
}

auto u32 = [](Reader& r) { return r.u32(); };
auto u64 = [](Reader& r) { return r.u64(); };
auto s32 = [](Reader& r) { return r.s32(); };
auto s33 = [](Reader& r) { return r.s33(); };
auto s64 = [](Reader& r) { return r.s64(); };

}  // namespace

TEST_CASE("u32: values, padding and limits", "[leb128]") {
  check_value({0x00}, u32, 0u);
  check_value({0x7F}, u32, 127u);
  check_value({0x80, 0x01}, u32, 128u);
  check_value({0xE5, 0x8E, 0x26}, u32, 624485u);
  check_value({0xFF, 0xFF, 0xFF, 0xFF, 0x0F}, u32, 0xFFFFFFFFu);
  // Zero padding is allowed up to the maximum length of 5 bytes.
  check_value({0x80, 0x00}, u32, 0u);
  check_value({0x82, 0x80, 0x80, 0x80, 0x00}, u32, 2u);
  check_value({0xFF, 0x80, 0x80, 0x80, 0x00}, u32, 127u);
}

TEST_CASE("u32: malformed encodings", "[leb128]") {
  // A sixth byte is too long, even if it is a zero.
  check_error({0x82, 0x80, 0x80, 0x80, 0x80, 0x00}, u32, "integer representation too long", 5);
  // Bits above bit 31 in the fifth byte.
  check_error({0xFF, 0xFF, 0xFF, 0xFF, 0x1F}, u32, "integer too large", 4);
  check_error({0x82, 0x80, 0x80, 0x80, 0x70}, u32, "integer too large", 4);
  check_error({0x82, 0x80, 0x80, 0x80, 0x10}, u32, "integer too large", 4);
  // Unused bits set and the continuation bit: the value check comes first.
  check_error({0x82, 0x80, 0x80, 0x80, 0x90, 0x00}, u32, "integer too large", 4);
  // Truncated.
  check_error({}, u32, "unexpected end", 0);
  check_error({0x80}, u32, "unexpected end", 1);
  check_error({0xFF, 0xFF, 0xFF, 0xFF}, u32, "unexpected end", 4);
}

TEST_CASE("u64: values, padding and limits", "[leb128]") {
  check_value({0x00}, u64, uint64_t(0));
  check_value({0xFF, 0xFF, 0xFF, 0xFF, 0x0F}, u64, uint64_t(0xFFFFFFFF));
  check_value({0x80, 0x80, 0x80, 0x80, 0x10}, u64, uint64_t(1) << 32);
  check_value({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, u64, UINT64_MAX);
  check_value({0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, u64, uint64_t(2));
  check_error({0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, u64,
              "integer representation too long", 10);
  check_error({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02}, u64,
              "integer too large", 9);
  check_error({0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x70}, u64,
              "integer too large", 9);
  check_error({0xFF, 0xFF}, u64, "unexpected end", 2);
}

TEST_CASE("s32: sign extension and limits", "[leb128]") {
  check_value({0x00}, s32, int32_t(0));
  check_value({0x3F}, s32, int32_t(63));
  check_value({0x40}, s32, int32_t(-64));
  check_value({0x7F}, s32, int32_t(-1));
  check_value({0xC0, 0x00}, s32, int32_t(64));
  check_value({0x80, 0x7F}, s32, int32_t(-128));
  check_value({0xFF, 0xFF, 0xFF, 0xFF, 0x07}, s32, INT32_MAX);
  check_value({0x80, 0x80, 0x80, 0x80, 0x78}, s32, INT32_MIN);
  // Padding: with zeros for positive values, with ones (0x7F) for negative ones.
  check_value({0x80, 0x80, 0x80, 0x80, 0x00}, s32, int32_t(0));
  check_value({0xFF, 0xFF, 0xFF, 0xFF, 0x7F}, s32, int32_t(-1));
  check_value({0xFF, 0x7F}, s32, int32_t(-1));
  // The unused bits of the fifth byte must equal the sign bit.
  check_error({0xFF, 0xFF, 0xFF, 0xFF, 0x0F}, s32, "integer too large", 4);
  check_error({0x80, 0x80, 0x80, 0x80, 0x70}, s32, "integer too large", 4);
  check_error({0x80, 0x80, 0x80, 0x80, 0x1F}, s32, "integer too large", 4);
  check_error({0xFF, 0xFF, 0xFF, 0xFF, 0x4F}, s32, "integer too large", 4);
  check_error({0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, s32, "integer representation too long", 5);
  check_error({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F}, s32, "integer representation too long", 5);
  check_error({0xC0}, s32, "unexpected end", 1);
}

TEST_CASE("s33: the heap type and block type index encoding", "[leb128]") {
  check_value({0x70}, s33, int64_t(-16));  // funcref as a heap type
  check_value({0x00}, s33, int64_t(0));
  check_value({0xFF, 0xFF, 0xFF, 0xFF, 0x0F}, s33, int64_t(0xFFFFFFFF));
  check_value({0x80, 0x80, 0x80, 0x80, 0x70}, s33, -(int64_t(1) << 32));
  check_value({0xFF, 0xFF, 0xFF, 0xFF, 0x7F}, s33, int64_t(-1));
  check_error({0xFF, 0xFF, 0xFF, 0xFF, 0x1F}, s33, "integer too large", 4);
  check_error({0x80, 0x80, 0x80, 0x80, 0x60}, s33, "integer too large", 4);
  check_error({0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, s33, "integer representation too long", 5);
}

TEST_CASE("s64: sign extension and limits", "[leb128]") {
  check_value({0x7F}, s64, int64_t(-1));
  check_value({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00}, s64, INT64_MAX);
  check_value({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7F}, s64, INT64_MIN);
  check_value({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, s64, int64_t(0));
  check_value({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F}, s64, int64_t(-1));
  check_value({0x80, 0x80, 0x80, 0x80, 0x10}, s64, int64_t(1) << 32);
  check_error({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, s64,
              "integer too large", 9);
  check_error({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7E}, s64,
              "integer too large", 9);
  check_error({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, s64,
              "integer representation too long", 10);
  check_error({0x80, 0x80, 0x80}, s64, "unexpected end", 3);
}

TEST_CASE("reads stop at the reader's end, not the buffer's", "[leb128]") {
  std::vector<uint8_t> bytes = {0x00, 0x80, 0x01};
  Reader reader(bytes, 1, 2);  // only the 0x80 is inside
  auto value = reader.u32();
  REQUIRE_FALSE(value);
  CHECK(value.err().message() == "unexpected end");
  CHECK(*value.err().offset() == 2);
}

TEST_CASE("count() refuses lengths the remaining bytes cannot hold", "[leb128]") {
  Bytes billion{0x80, 0x94, 0xEB, 0xDC, 0x03, 0x00};  // 1,000,000,000 then one byte
  Reader reader = billion.reader();
  auto count = reader.count();
  REQUIRE_FALSE(count);
  CHECK(count.err().message() == "unexpected end");

  Bytes three{0x03, 0xAA, 0xBB, 0xCC};
  Reader ok = three.reader();
  auto fits = ok.count();
  REQUIRE(fits);
  CHECK(fits.ok() == 3);
  Reader strict = three.reader();
  CHECK_FALSE(strict.count(2));  // 3 elements of at least 2 bytes do not fit in 3 bytes
}

TEST_CASE("fixed-width and raw reads", "[leb128]") {
  Bytes bytes{0x00, 0x00, 0x80, 0x3F, 0x01, 0x02};
  Reader reader = bytes.reader();
  auto bits = reader.f32_bits();
  REQUIRE(bits);
  CHECK(bits.ok() == 0x3F800000u);  // 1.0f, little-endian
  auto skipped = reader.skip(2);
  REQUIRE(skipped);
  CHECK(skipped.ok() == 4);
  CHECK(reader.at_end());
  CHECK_FALSE(reader.u8());
  Reader short_reader = bytes.reader();
  CHECK_FALSE(short_reader.f64_bits());
  CHECK_FALSE(short_reader.skip(7));
}
