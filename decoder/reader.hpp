// A bounds-checked cursor over module bytes with exact LEB128 decoding. Every read checks the
// bytes that remain first; errors carry the byte offset and the spec testsuite's wording.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "kiln/error.hpp"

namespace kiln::wasm {

class Reader {
 public:
  // `bytes` is the whole module (offsets in errors are relative to its start); reading is
  // limited to [begin, end).
  Reader(std::span<const uint8_t> bytes, size_t begin, size_t end)
      : data_(bytes.data()), pos_(begin), end_(end) {}
  explicit Reader(std::span<const uint8_t> bytes) : Reader(bytes, 0, bytes.size()) {}

  size_t offset() const { return pos_; }
  size_t end() const { return end_; }
  size_t remaining() const { return end_ - pos_; }
  bool at_end() const { return pos_ >= end_; }
  const uint8_t* data() const { return data_; }
  void seek(size_t offset) { pos_ = offset; }

  Error error(std::string message) const { return Error(std::move(message), pos_); }
  Error error_at(std::string message, size_t offset) const {
    return Error(std::move(message), offset);
  }

  Result<uint8_t> u8() {
    if (pos_ >= end_) return error("unexpected end");
    return data_[pos_++];
  }
  Result<uint8_t> peek_u8() const {
    if (pos_ >= end_) return error("unexpected end");
    return data_[pos_];
  }

  // One-byte LEBs (most counts, sizes and indices) inline; longer ones out of line.
  Result<uint32_t> u32() {
    if (pos_ < end_ && data_[pos_] < 0x80) [[likely]]
      return uint32_t(data_[pos_++]);
    return leb_unsigned<uint32_t, 32>();
  }
  Result<uint64_t> u64() {
    if (pos_ < end_ && data_[pos_] < 0x80) [[likely]]
      return uint64_t(data_[pos_++]);
    return leb_unsigned<uint64_t, 64>();
  }
  Result<int32_t> s32() {
    auto v = leb_signed<32>();
    if (!v) return std::move(v).err();
    return int32_t(v.ok());
  }
  Result<int64_t> s33() { return leb_signed<33>(); }
  Result<int64_t> s64() { return leb_signed<64>(); }

  Result<uint32_t> f32_bits() {
    if (remaining() < 4) return error("unexpected end");
    uint32_t bits;
    std::memcpy(&bits, data_ + pos_, 4);
    pos_ += 4;
    return bits;
  }
  Result<uint64_t> f64_bits() {
    if (remaining() < 8) return error("unexpected end");
    uint64_t bits;
    std::memcpy(&bits, data_ + pos_, 8);
    pos_ += 8;
    return bits;
  }

  // `size` raw bytes; returns their offset.
  Result<size_t> skip(uint64_t size) {
    if (size > remaining()) return error("unexpected end");
    size_t at = pos_;
    pos_ += size_t(size);
    return at;
  }

  // A vector length, checked against the bytes left assuming each element takes at least
  // `min_element_bytes` bytes, so a hostile count can never cause a large allocation.
  Result<uint32_t> count(uint32_t min_element_bytes = 1) {
    auto n = u32();
    if (!n) return n;
    if (min_element_bytes && uint64_t(n.ok()) * min_element_bytes > remaining())
      return error("unexpected end");
    return n;
  }

 private:
  template <typename T, unsigned Bits>
  [[gnu::noinline]] Result<T> leb_unsigned() {
    constexpr unsigned kMaxBytes = (Bits + 6) / 7;
    T result = 0;
    unsigned shift = 0;
    for (unsigned i = 0;; ++i) {
      if (pos_ >= end_) return error("unexpected end");
      uint8_t byte = data_[pos_++];
      if (i == kMaxBytes - 1) {
        // The bits above Bits in the last byte must be zero. Checked before the continuation
        // bit, as the reference interpreter does, so the same input gets the same message.
        constexpr unsigned kUsed = Bits - 7 * (kMaxBytes - 1);
        if ((byte & 0x7F) >> kUsed) return error_at("integer too large", pos_ - 1);
        if (byte & 0x80) return error_at("integer representation too long", pos_);
        return result | (T(byte) << shift);
      }
      result |= T(byte & 0x7F) << shift;
      if (!(byte & 0x80)) return result;
      shift += 7;
    }
  }

  template <unsigned Bits>
  Result<int64_t> leb_signed() {
    constexpr unsigned kMaxBytes = (Bits + 6) / 7;
    uint64_t result = 0;
    unsigned shift = 0;
    for (unsigned i = 0;; ++i) {
      if (pos_ >= end_) return error("unexpected end");
      uint8_t byte = data_[pos_++];
      if (i == kMaxBytes - 1) {
        // The unused high bits of the last byte must all equal the sign bit (checked before
        // the continuation bit, as in leb_unsigned).
        constexpr unsigned kUsed = Bits - 7 * (kMaxBytes - 1);  // value bits in this byte
        uint8_t sign_and_unused = uint8_t(byte & 0x7F) >> (kUsed - 1);
        uint8_t all_ones = uint8_t(0x7F >> (kUsed - 1));
        if (sign_and_unused != 0 && sign_and_unused != all_ones)
          return error_at("integer too large", pos_ - 1);
        if (byte & 0x80) return error_at("integer representation too long", pos_);
        result |= uint64_t(byte & 0x7F) << shift;
        shift += 7;
        break;
      }
      result |= uint64_t(byte & 0x7F) << shift;
      shift += 7;
      if (!(byte & 0x80)) break;
    }
    if (shift < 64 && (result >> (shift - 1)) & 1) result |= ~uint64_t(0) << shift;  // sign-extend
    return int64_t(result);
  }

  const uint8_t* data_;
  size_t pos_;
  size_t end_;
};

}  // namespace kiln::wasm
