// Executable memory for compiled code, W^X: a region is writable while the JIT's output is
// copied in, then sealed read+execute. It is never writable and executable at the same time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kiln/error.hpp"

namespace kiln::runtime {

class CodeMemory {
 public:
  CodeMemory() = default;
  CodeMemory(CodeMemory&& other) noexcept { *this = std::move(other); }
  CodeMemory& operator=(CodeMemory&& other) noexcept;
  CodeMemory(const CodeMemory&) = delete;
  CodeMemory& operator=(const CodeMemory&) = delete;
  ~CodeMemory();

  // Maps a fresh read+write region of at least `size` bytes (rounded up to whole pages).
  static Result<CodeMemory> allocate(size_t size);
  // Maps a region, copies `code` into it and seals it: the usual one-step path.
  static Result<CodeMemory> from_bytes(std::span<const uint8_t> code);

  // The region while it is still writable; empty once sealed.
  std::span<uint8_t> writable();
  // Makes the region read+execute (and never writable again).
  Result<void> seal();

  const uint8_t* begin() const { return base_; }
  const uint8_t* end() const { return base_ + size_; }
  size_t size() const { return size_; }
  bool sealed() const { return sealed_; }
  bool contains(const void* pc) const {
    auto p = static_cast<const uint8_t*>(pc);
    return p >= base_ && p < base_ + size_;
  }

 private:
  uint8_t* base_ = nullptr;
  size_t size_ = 0;
  bool sealed_ = false;
};

}  // namespace kiln::runtime
