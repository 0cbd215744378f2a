// A byte buffer with the binary format's integer encodings.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace kiln::text {

struct ByteWriter {
  std::vector<uint8_t> bytes;

  void u8(uint8_t byte) { bytes.push_back(byte); }
  void u32(uint32_t value) { u64(value); }
  void u64(uint64_t value) {
    do {
      uint8_t byte = value & 0x7F;
      value >>= 7;
      if (value) byte |= 0x80;
      bytes.push_back(byte);
    } while (value);
  }
  void s64(int64_t value) {
    while (true) {
      uint8_t byte = value & 0x7F;
      value >>= 7;  // arithmetic shift: the sign propagates
      bool done = (value == 0 && !(byte & 0x40)) || (value == -1 && (byte & 0x40));
      if (!done) byte |= 0x80;
      bytes.push_back(byte);
      if (done) return;
    }
  }
  void s32(int32_t value) { s64(value); }
  void fixed32(uint32_t value) {
    for (int i = 0; i < 4; ++i) bytes.push_back(uint8_t(value >> (8 * i)));
  }
  void fixed64(uint64_t value) {
    for (int i = 0; i < 8; ++i) bytes.push_back(uint8_t(value >> (8 * i)));
  }
  void append(const std::vector<uint8_t>& other) {
    bytes.insert(bytes.end(), other.begin(), other.end());
  }
  void append(const uint8_t* data, size_t size) { bytes.insert(bytes.end(), data, data + size); }
  void name(std::string_view text) {
    u32(uint32_t(text.size()));
    bytes.insert(bytes.end(), text.begin(), text.end());
  }
  size_t size() const { return bytes.size(); }
};

}  // namespace kiln::text
