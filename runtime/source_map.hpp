// The map from compiled code back to the wasm operators it came from, for backtraces: (code
// offset, wasm offset) entries in increasing code offset, about one per operator.
//
// Kept delta-encoded: a plain array of pairs takes 8 bytes an entry, as much memory as the code
// itself (sqlite3: 1.3 MB of map for 1.8 MB of code), and is read only when a trap builds a
// backtrace. Here an entry takes about 2 bytes: the distance from the previous entry in code
// (LEB128) and in the module (zigzag LEB128). Every kStride-th entry is a checkpoint with its
// absolute offsets, so a lookup is a binary search over the checkpoints plus at most kStride
// decoding steps. Serialized modules store the two arrays as they are (runtime/serialize.cpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace kiln::runtime {

class SourceMap {
 public:
  static constexpr uint32_t kStride = 32;

  struct Checkpoint {
    uint32_t code_offset = 0;
    uint32_t wasm_offset = 0;
    uint32_t delta_offset = 0;  // where the entries after this one start in `deltas`
  };

  // Appends an entry; `code_offset` must not be below the last entry's. False (and nothing
  // appended) when it is.
  bool push(uint32_t code_offset, uint32_t wasm_offset);
  void reserve(size_t entries);

  // The wasm offset of the last entry at or below `code_offset`, if any.
  std::optional<uint32_t> find(uint32_t code_offset) const;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const Checkpoint> checkpoints() const { return checkpoints_; }
  std::span<const uint8_t> deltas() const { return deltas_; }
  // Every entry in order (tests and tools).
  std::vector<std::pair<uint32_t, uint32_t>> entries() const;

  // Takes over the two arrays of another map (a serialized module's). False, leaving this map
  // as it was, when they are inconsistent; lookups stay within the arrays whatever they hold.
  bool assign(std::vector<Checkpoint> checkpoints, std::vector<uint8_t> deltas);

  friend bool operator==(const SourceMap& a, const SourceMap& b) {
    return a.size_ == b.size_ && a.deltas_ == b.deltas_ &&
           a.checkpoints_.size() == b.checkpoints_.size() &&
           std::equal(a.checkpoints_.begin(), a.checkpoints_.end(), b.checkpoints_.begin(),
                      [](const Checkpoint& x, const Checkpoint& y) {
                        return x.code_offset == y.code_offset && x.wasm_offset == y.wasm_offset &&
                               x.delta_offset == y.delta_offset;
                      });
  }

 private:
  std::vector<Checkpoint> checkpoints_;
  std::vector<uint8_t> deltas_;
  size_t size_ = 0;
  uint32_t last_code_ = 0, last_wasm_ = 0;
};

}  // namespace kiln::runtime
