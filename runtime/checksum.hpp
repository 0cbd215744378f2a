// The checksum of serialized modules: XXH64 (Yann Collet's xxHash, 64-bit variant), implemented
// here from its published specification. It detects corruption (a flipped bit, a truncated or
// spliced file) at about the speed of a memory copy; it is not a cryptographic hash and proves
// nothing about who wrote the bytes (docs/serialize.md).
#pragma once

#include <cstdint>
#include <span>

namespace kiln::runtime {

uint64_t xxh64(std::span<const uint8_t> bytes, uint64_t seed = 0);

}  // namespace kiln::runtime
