// SHA-256 (FIPS 180-4), implemented from the standard: the compile cache names its entries by
// it, so that no two modules (or settings) share an entry (runtime/compile_cache.hpp). XXH64
// (runtime/checksum.hpp) guards artifacts against corruption; it is not collision-resistant.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace kiln::runtime {

class Sha256 {
 public:
  // Hardware: the x86 SHA extensions when the CPU has them (about 5 times faster: a cache hit
  // hashes the whole module), else the portable code. Portable: always the portable code.
  enum class Implementation { Hardware, Portable };

  explicit Sha256(Implementation implementation = Implementation::Hardware);
  void update(std::span<const uint8_t> bytes);
  // The digest of everything given so far; the hasher is spent afterwards.
  std::array<uint8_t, 32> finish();

 private:
  void compress(const uint8_t* blocks, size_t count);
  bool hardware_;
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t length_ = 0;  // bytes given
};

std::array<uint8_t, 32> sha256(std::span<const uint8_t> bytes);
// Lowercase hexadecimal.
std::string to_hex(std::span<const uint8_t> bytes);

}  // namespace kiln::runtime
