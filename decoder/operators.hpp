// Reading function-body (and constant-expression) operators one at a time, driven by the
// opcode table: the decoder's half of the single pass. The validator consumes `Operator`s and
// the JIT consumes them after the validator has accepted them.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "decoder/module.hpp"
#include "decoder/opcodes.hpp"
#include "decoder/reader.hpp"
#include "kiln/error.hpp"

namespace kiln::wasm {

struct BlockType {
  enum class Kind : uint8_t { Empty, Value, TypeIndex };
  Kind kind = Kind::Empty;
  ValType value{};          // Kind::Value
  uint32_t type_index = 0;  // Kind::TypeIndex (a function type: params -> results)
};

struct MemArg {
  uint32_t align_log2 = 0;  // the alignment exponent as encoded (without the memidx flag)
  uint32_t memory = 0;      // memory index (non-zero only with the multi-memory flag bit 6)
  uint64_t offset = 0;      // u64 in the encoding; memory32 validation limits it to 2^32-1
};

struct CatchClause {
  enum class Kind : uint8_t { Catch = 0, CatchRef = 1, CatchAll = 2, CatchAllRef = 3 };
  Kind kind = Kind::Catch;
  uint32_t tag = 0;  // Catch / CatchRef
  uint32_t label = 0;
};

// One decoded operator. Which fields are meaningful depends on opcode_info(op).imm:
//   BlockType/TryTable: block (+ catches)   Label/Func/Type/Local/Global/Table/Memory/Tag/Data/
//   Elem: index    CallIndirect: index = type, index2 = table    MemoryInit: index = data,
//   index2 = memory    MemoryCopy/TableCopy/ArrayCopy: index = destination, index2 = source
//   TableInit: index = elem, index2 = table    StructField: index = type, index2 = field
//   ArrayNewFixed: index = type, index2 = count   ArrayData/ArrayElem: index = type, index2 = seg
//   MemArg: memarg    MemArgLane: memarg + lane    Lane: lane    Shuffle/V128: bytes
//   I32/I64: value (sign-extended to 64 bits)    F32/F64: value (raw bits)
//   BrTable: targets (the default target last)    SelectTypes: types
//   HeapType: heap    BrOnCast: cast_flags, index = label, heap (source), heap2 (target)
// Spans point into the reader's scratch storage and stay valid until the next read().
struct Operator {
  Op op = Op::Unreachable;
  uint32_t offset = 0;  // byte offset of the opcode in the module
  BlockType block;
  uint32_t index = 0;
  uint32_t index2 = 0;
  uint64_t value = 0;
  MemArg memarg;
  uint8_t lane = 0;
  uint8_t cast_flags = 0;
  std::array<uint8_t, 16> bytes{};
  HeapType heap{};
  HeapType heap2{};
  std::span<const uint32_t> targets;
  std::span<const ValType> types;
  std::span<const CatchClause> catches;
};

// Reads the operators of one body or constant expression. Knows nothing about types or
// validity beyond the encoding: an unknown opcode is "illegal opcode", a truncated immediate
// "unexpected end", a bad LEB "integer too large" / "integer representation too long".
class OperatorReader {
 public:
  OperatorReader(std::span<const uint8_t> module_bytes, ByteRange code);

  bool at_end() const { return reader_.at_end(); }
  size_t offset() const { return reader_.offset(); }
  // Continues reading at `offset` (inside the range), e.g. after a caller decoded some
  // operators itself.
  void seek(size_t offset) { reader_.seek(offset); }
  Result<void> read(Operator& out);

 private:
  Reader reader_;
  std::vector<uint32_t> targets_;
  std::vector<ValType> types_;
  std::vector<CatchClause> catches_;
};

// Shared by the section decoder and the operator reader: value types, heap types, ref types.
Result<HeapType> read_heap_type(Reader& reader);
Result<ValType> read_val_type(Reader& reader);
Result<ValType> read_ref_type(Reader& reader);

}  // namespace kiln::wasm
