#include "decoder/operators.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

namespace kiln::wasm {

namespace {

// The abstract heap types are the single-byte negative s33 codes 0x69 (exn) .. 0x74 (noexn);
// every byte in that range names one (HeapKind uses the same values).
constexpr uint8_t kFirstAbstractHeapCode = 0x69;
constexpr uint8_t kLastAbstractHeapCode = 0x74;
constexpr uint8_t kRefNullCode = 0x63;  // (ref null ht)
constexpr uint8_t kRefCode = 0x64;      // (ref ht)
constexpr uint8_t kEmptyBlockCode = 0x40;

constexpr bool is_abstract_heap_code(uint8_t byte) {
  return byte >= kFirstAbstractHeapCode && byte <= kLastAbstractHeapCode;
}

// A one-byte LEB128 whose sign bit is set: the encodings of value types and abstract heap types
// (negative s33 values). Anything else starting a heap type or block type is an s33 index.
constexpr bool is_single_byte_negative_s33(uint8_t byte) {
  return (byte & 0xC0) == 0x40;
}

// The decoder's own view of the opcode table, generated from opcodes.def at compile time: one
// 4-byte entry per encoding holding the operator and its immediate kind, so decoding an opcode
// is one load with no initialisation guard and no std::optional return (whose byte-wise
// construction stalls store forwarding on the hot path).
struct DecodeEntry {
  uint16_t op = 0;
  ImmKind imm = ImmKind::None;
  bool known = false;
};

constexpr uint32_t kPrefixedTableSize = 0x200;  // every prefixed opcode of 3.0 is below this
constexpr uint8_t kFirstPrefix = 0xFB;

struct DecodeTable {
  std::array<DecodeEntry, 256> single{};
  std::array<std::array<DecodeEntry, kPrefixedTableSize>, 4> prefixed{};  // FB, FC, FD, FE
};

constexpr DecodeTable make_decode_table() {
  DecodeTable table;
  uint16_t index = 0;
#define KILN_OPCODE(ident, text, prefix, code, imm, proposal, bytes, sig)                     \
  {                                                                                           \
    DecodeEntry& entry =                                                                      \
        (prefix) == 0 ? table.single[(code)] : table.prefixed[(prefix)-kFirstPrefix][(code)]; \
    entry = DecodeEntry{index++, ImmKind::imm, true};                                         \
  }
#include "decoder/opcodes.def"
#undef KILN_OPCODE
  return table;
}

constexpr DecodeTable kDecodeTable = make_decode_table();

std::string illegal_opcode_message(uint8_t prefix, uint32_t code) {
  char text[48];
  if (prefix == 0) {
    std::snprintf(text, sizeof text, "illegal opcode %02x", unsigned(code));
  } else {
    std::snprintf(text, sizeof text, "illegal opcode %02x %02x", unsigned(prefix), unsigned(code));
  }
  return text;
}

// Reads the 16 raw immediate bytes (v128.const, i8x16.shuffle).
Result<void> read_16_bytes(Reader& reader, std::array<uint8_t, 16>& out) {
  auto at = reader.skip(out.size());
  if (!at) return std::move(at).err();
  std::memcpy(out.data(), reader.data() + at.ok(), out.size());
  return {};
}

// blocktype ::= 0x40 | valtype | s33 (a non-negative type index)
Result<void> read_block_type(Reader& reader, BlockType& out) {
  auto first = reader.peek_u8();
  if (!first) return std::move(first).err();
  if (first.ok() == kEmptyBlockCode) {
    (void)reader.u8();
    out.kind = BlockType::Kind::Empty;
    return {};
  }
  if (is_single_byte_negative_s33(first.ok())) {
    auto type = read_val_type(reader);
    if (!type) return std::move(type).err();
    out.kind = BlockType::Kind::Value;
    out.value = type.ok();
    return {};
  }
  size_t start = reader.offset();
  auto index = reader.s33();
  if (!index) return std::move(index).err();
  // A multi-byte negative s33 is not a value type encoding: those are single bytes.
  if (index.ok() < 0) return reader.error_at("malformed block type", start);
  out.kind = BlockType::Kind::TypeIndex;
  out.type_index = uint32_t(index.ok());
  return {};
}

Result<void> read_mem_arg(Reader& reader, MemArg& out) {
  // Bit 6 of the alignment field says a memory index follows (multi-memory); values of 128 and
  // above are not encodings of anything.
  constexpr uint32_t kMemoryIndexFlag = 0x40;
  constexpr uint32_t kFlagsLimit = 0x80;
  size_t start = reader.offset();
  auto flags = reader.u32();
  if (!flags) return std::move(flags).err();
  if (flags.ok() >= kFlagsLimit) return reader.error_at("malformed memop flags", start);
  out.align_log2 = flags.ok() & (kMemoryIndexFlag - 1);
  out.memory = 0;
  if (flags.ok() & kMemoryIndexFlag) {
    auto memory = reader.u32();
    if (!memory) return std::move(memory).err();
    out.memory = memory.ok();
  }
  auto offset = reader.u64();
  if (!offset) return std::move(offset).err();
  out.offset = offset.ok();
  return {};
}

// Two u32 LEBs into `first` and `second`: the shape of most two-index immediates.
Result<void> read_index_pair(Reader& reader, uint32_t& first, uint32_t& second) {
  auto a = reader.u32();
  if (!a) return std::move(a).err();
  auto b = reader.u32();
  if (!b) return std::move(b).err();
  first = a.ok();
  second = b.ok();
  return {};
}

}  // namespace

Result<HeapType> read_heap_type(Reader& reader) {
  size_t start = reader.offset();
  auto first = reader.peek_u8();
  if (!first) return std::move(first).err();
  if (is_single_byte_negative_s33(first.ok())) {
    (void)reader.u8();
    if (!is_abstract_heap_code(first.ok())) return reader.error_at("malformed heap type", start);
    return HeapType{HeapKind(first.ok()), 0};
  }
  auto index = reader.s33();
  if (!index) return std::move(index).err();
  // Abstract heap types are single bytes; a longer negative encoding names nothing.
  if (index.ok() < 0) return reader.error_at("malformed heap type", start);
  return HeapType{HeapKind::Concrete, uint32_t(index.ok())};
}

Result<ValType> read_ref_type(Reader& reader) {
  size_t start = reader.offset();
  auto byte = reader.u8();
  if (!byte) return std::move(byte).err();
  uint8_t code = byte.ok();
  if (code == kRefNullCode || code == kRefCode) {
    auto heap = read_heap_type(reader);
    if (!heap) return std::move(heap).err();
    return ValType::ref(heap.ok(), code == kRefNullCode);
  }
  if (is_abstract_heap_code(code)) return ValType::ref({HeapKind(code), 0}, true);
  // Type codes are s7 LEBs in the reference interpreter: a continuation bit makes the integer
  // over-long rather than an unknown type.
  if (code & 0x80) return reader.error_at("integer representation too long", start);
  return reader.error_at("malformed reference type", start);
}

Result<ValType> read_val_type(Reader& reader) {
  size_t start = reader.offset();
  auto byte = reader.peek_u8();
  if (!byte) return std::move(byte).err();
  switch (byte.ok()) {
    case uint8_t(ValKind::I32):
    case uint8_t(ValKind::I64):
    case uint8_t(ValKind::F32):
    case uint8_t(ValKind::F64):
    case uint8_t(ValKind::V128):
      (void)reader.u8();
      return ValType{ValKind(byte.ok())};
    default:
      break;
  }
  if (byte.ok() == kRefNullCode || byte.ok() == kRefCode || is_abstract_heap_code(byte.ok()))
    return read_ref_type(reader);
  if (byte.ok() & 0x80) return reader.error_at("integer representation too long", start);
  return reader.error_at("malformed value type", start);
}

OperatorReader::OperatorReader(std::span<const uint8_t> module_bytes, ByteRange code)
    : reader_(module_bytes, std::min<size_t>(code.offset, module_bytes.size()),
              std::min<size_t>(size_t(code.offset) + code.size, module_bytes.size())) {}

Result<void> OperatorReader::read(Operator& out) {
  size_t start = reader_.offset();
  out.offset = uint32_t(start);
  out.targets = {};
  out.types = {};
  out.catches = {};

  auto first = reader_.u8();
  if (!first) return std::move(first).err();
  const DecodeEntry* entry;
  if (!is_opcode_prefix(first.ok())) {
    entry = &kDecodeTable.single[first.ok()];
    if (!entry->known) return reader_.error_at(illegal_opcode_message(0, first.ok()), start);
  } else {
    auto code = reader_.u32();
    if (!code) return std::move(code).err();
    if (code.ok() >= kPrefixedTableSize ||
        !kDecodeTable.prefixed[first.ok() - kFirstPrefix][code.ok()].known)
      return reader_.error_at(illegal_opcode_message(first.ok(), code.ok()), start);
    entry = &kDecodeTable.prefixed[first.ok() - kFirstPrefix][code.ok()];
  }
  out.op = Op(entry->op);

  Reader& r = reader_;
  switch (entry->imm) {
    case ImmKind::None:
      return {};

    case ImmKind::BlockType:
      return read_block_type(r, out.block);

    case ImmKind::Label:
    case ImmKind::Func:
    case ImmKind::Type:
    case ImmKind::Local:
    case ImmKind::Global:
    case ImmKind::Table:
    case ImmKind::Memory:
    case ImmKind::Tag:
    case ImmKind::Data:
    case ImmKind::Elem: {
      auto index = r.u32();
      if (!index) return std::move(index).err();
      out.index = index.ok();
      return {};
    }

    case ImmKind::CallIndirect:
    case ImmKind::MemoryInit:
    case ImmKind::MemoryCopy:
    case ImmKind::TableInit:
    case ImmKind::TableCopy:
    case ImmKind::StructField:
    case ImmKind::ArrayNewFixed:
    case ImmKind::ArrayData:
    case ImmKind::ArrayElem:
    case ImmKind::ArrayCopy:
      return read_index_pair(r, out.index, out.index2);

    case ImmKind::BrTable: {
      // Each label takes at least one byte, so the count is bounded by the bytes left before
      // anything is allocated; the default label follows the vector.
      auto count = r.count(1);
      if (!count) return std::move(count).err();
      targets_.clear();
      targets_.reserve(size_t(count.ok()) + 1);
      for (uint64_t i = 0; i <= count.ok(); ++i) {
        auto label = r.u32();
        if (!label) return std::move(label).err();
        targets_.push_back(label.ok());
      }
      out.targets = targets_;
      return {};
    }

    case ImmKind::MemArg:
      return read_mem_arg(r, out.memarg);

    case ImmKind::MemArgLane: {
      auto memarg = read_mem_arg(r, out.memarg);
      if (!memarg) return memarg;
      auto lane = r.u8();
      if (!lane) return std::move(lane).err();
      out.lane = lane.ok();
      return {};
    }

    case ImmKind::Lane: {
      auto lane = r.u8();
      if (!lane) return std::move(lane).err();
      out.lane = lane.ok();
      return {};
    }

    case ImmKind::Shuffle:
    case ImmKind::V128:
      return read_16_bytes(r, out.bytes);

    case ImmKind::I32: {
      auto value = r.s32();
      if (!value) return std::move(value).err();
      out.value = uint64_t(int64_t(value.ok()));
      return {};
    }

    case ImmKind::I64: {
      auto value = r.s64();
      if (!value) return std::move(value).err();
      out.value = uint64_t(value.ok());
      return {};
    }

    case ImmKind::F32: {
      auto bits = r.f32_bits();
      if (!bits) return std::move(bits).err();
      out.value = bits.ok();
      return {};
    }

    case ImmKind::F64: {
      auto bits = r.f64_bits();
      if (!bits) return std::move(bits).err();
      out.value = bits.ok();
      return {};
    }

    case ImmKind::SelectTypes: {
      auto count = r.count(1);
      if (!count) return std::move(count).err();
      types_.clear();
      types_.reserve(count.ok());
      for (uint32_t i = 0; i < count.ok(); ++i) {
        auto type = read_val_type(r);
        if (!type) return std::move(type).err();
        types_.push_back(type.ok());
      }
      out.types = types_;
      return {};
    }

    case ImmKind::HeapType: {
      auto heap = read_heap_type(r);
      if (!heap) return std::move(heap).err();
      out.heap = heap.ok();
      return {};
    }

    case ImmKind::TryTable: {
      auto block = read_block_type(r, out.block);
      if (!block) return block;
      // The shortest clause (catch_all label) takes two bytes.
      auto count = r.count(2);
      if (!count) return std::move(count).err();
      catches_.clear();
      catches_.reserve(count.ok());
      for (uint32_t i = 0; i < count.ok(); ++i) {
        size_t clause_start = r.offset();
        auto kind = r.u8();
        if (!kind) return std::move(kind).err();
        if (kind.ok() > uint8_t(CatchClause::Kind::CatchAllRef))
          return r.error_at("malformed catch clause", clause_start);
        CatchClause clause;
        clause.kind = CatchClause::Kind(kind.ok());
        if (clause.kind == CatchClause::Kind::Catch || clause.kind == CatchClause::Kind::CatchRef) {
          auto tag = r.u32();
          if (!tag) return std::move(tag).err();
          clause.tag = tag.ok();
        }
        auto label = r.u32();
        if (!label) return std::move(label).err();
        clause.label = label.ok();
        catches_.push_back(clause);
      }
      out.catches = catches_;
      return {};
    }

    case ImmKind::BrOnCast: {
      // Bit 0: the source type is nullable; bit 1: the target type is nullable.
      constexpr uint8_t kCastFlagsMask = 0x03;
      size_t flags_start = r.offset();
      auto flags = r.u8();
      if (!flags) return std::move(flags).err();
      if (flags.ok() & ~kCastFlagsMask) return r.error_at("malformed cast flags", flags_start);
      out.cast_flags = flags.ok();
      auto label = r.u32();
      if (!label) return std::move(label).err();
      out.index = label.ok();
      auto source = read_heap_type(r);
      if (!source) return std::move(source).err();
      out.heap = source.ok();
      auto target = read_heap_type(r);
      if (!target) return std::move(target).err();
      out.heap2 = target.ok();
      return {};
    }

    case ImmKind::AtomicFence: {
      size_t flags_start = r.offset();
      auto reserved = r.u8();
      if (!reserved) return std::move(reserved).err();
      if (reserved.ok() != 0) return r.error_at("malformed atomic.fence flags", flags_start);
      return {};
    }
  }
  return reader_.error_at("unhandled immediate kind", start);
}

}  // namespace kiln::wasm
