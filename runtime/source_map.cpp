#include "runtime/source_map.hpp"

#include <algorithm>
#include <utility>

namespace kiln::runtime {

namespace {

void write_leb(std::vector<uint8_t>& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(uint8_t(value) | 0x80);
    value >>= 7;
  }
  out.push_back(uint8_t(value));
}

// Reads within [at, end) only; false on a truncated or over-long number.
bool read_leb(std::span<const uint8_t> bytes, size_t& at, size_t end, uint64_t& value) {
  value = 0;
  for (unsigned shift = 0; shift < 64 && at < end; shift += 7) {
    const uint8_t byte = bytes[at++];
    value |= uint64_t(byte & 0x7F) << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

uint64_t zigzag(int64_t value) {
  return (uint64_t(value) << 1) ^ uint64_t(value >> 63);
}
int64_t unzigzag(uint64_t value) {
  return int64_t(value >> 1) ^ -int64_t(value & 1);
}

// Walks the entries of block `index` (its checkpoint, then its deltas), calling `visit(code,
// wasm)` for each until it returns false.
template <typename Visit>
void walk_block(std::span<const SourceMap::Checkpoint> checkpoints, std::span<const uint8_t> deltas,
                size_t index, const Visit& visit) {
  const SourceMap::Checkpoint& start = checkpoints[index];
  uint64_t code = start.code_offset;
  int64_t wasm = start.wasm_offset;
  if (!visit(uint32_t(code), uint32_t(wasm))) return;
  size_t at = start.delta_offset;
  const size_t end =
      index + 1 < checkpoints.size() ? checkpoints[index + 1].delta_offset : deltas.size();
  uint64_t code_delta, wasm_delta;
  while (at < end && read_leb(deltas, at, end, code_delta) &&
         read_leb(deltas, at, end, wasm_delta)) {
    code += code_delta;
    wasm += unzigzag(wasm_delta);
    if (!visit(uint32_t(code), uint32_t(wasm))) return;
  }
}

}  // namespace

bool SourceMap::push(uint32_t code_offset, uint32_t wasm_offset) {
  if (size_ > 0 && code_offset < last_code_) return false;
  if (size_ % kStride == 0) {
    checkpoints_.push_back({code_offset, wasm_offset, uint32_t(deltas_.size())});
  } else {
    write_leb(deltas_, code_offset - last_code_);
    write_leb(deltas_, zigzag(int64_t(wasm_offset) - int64_t(last_wasm_)));
  }
  last_code_ = code_offset;
  last_wasm_ = wasm_offset;
  ++size_;
  return true;
}

void SourceMap::reserve(size_t entries) {
  checkpoints_.reserve(entries / kStride + 1);
  deltas_.reserve(entries * 2);
}

std::optional<uint32_t> SourceMap::find(uint32_t code_offset) const {
  auto after = std::upper_bound(
      checkpoints_.begin(), checkpoints_.end(), code_offset,
      [](uint32_t value, const Checkpoint& checkpoint) { return value < checkpoint.code_offset; });
  if (after == checkpoints_.begin()) return std::nullopt;
  uint32_t found = 0;
  walk_block(checkpoints_, deltas_, size_t(after - checkpoints_.begin()) - 1,
             [&](uint32_t code, uint32_t wasm) {
               if (code > code_offset) return false;
               found = wasm;
               return true;
             });
  return found;
}

std::vector<std::pair<uint32_t, uint32_t>> SourceMap::entries() const {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  out.reserve(size_);
  for (size_t i = 0; i < checkpoints_.size(); ++i) {
    walk_block(checkpoints_, deltas_, i, [&](uint32_t code, uint32_t wasm) {
      out.emplace_back(code, wasm);
      return true;
    });
  }
  return out;
}

bool SourceMap::assign(std::vector<Checkpoint> checkpoints, std::vector<uint8_t> deltas) {
  for (size_t i = 0; i < checkpoints.size(); ++i) {
    if (checkpoints[i].delta_offset > deltas.size() ||
        (i > 0 && (checkpoints[i].code_offset < checkpoints[i - 1].code_offset ||
                   checkpoints[i].delta_offset < checkpoints[i - 1].delta_offset))) {
      return false;
    }
  }
  // Every block but the last holds kStride entries; the last one says how many it has and where
  // appending would continue.
  size_t size = 0;
  uint32_t last_code = 0, last_wasm = 0;
  if (!checkpoints.empty()) {
    size = (checkpoints.size() - 1) * kStride;
    walk_block(checkpoints, deltas, checkpoints.size() - 1, [&](uint32_t code, uint32_t wasm) {
      last_code = code;
      last_wasm = wasm;
      ++size;
      return true;
    });
    if (size - (checkpoints.size() - 1) * kStride > kStride) return false;
  }
  checkpoints_ = std::move(checkpoints);
  deltas_ = std::move(deltas);
  size_ = size;
  last_code_ = last_code;
  last_wasm_ = last_wasm;
  return true;
}

}  // namespace kiln::runtime
