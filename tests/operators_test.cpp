// OperatorReader and the shared type readers, from hand-written bytes.
#include <catch2/catch.hpp>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "decoder/operators.hpp"

using namespace kiln::wasm;

namespace {

using Bytes = std::vector<uint8_t>;

// Reads exactly one operator from `bytes` (the whole buffer is the code range).
kiln::Result<void> read_one(const Bytes& bytes, Operator& out) {
  OperatorReader reader(bytes, ByteRange{0, uint32_t(bytes.size())});
  return reader.read(out);
}

// Reads one operator and requires that it succeeded and consumed every byte. The operator's
// spans point into its reader's scratch storage, so the reader of the latest call is kept alive
// (with a copy of its bytes) until the next call.
Operator decode(const Bytes& bytes) {
  static Bytes latest_bytes;
  static std::unique_ptr<OperatorReader> latest_reader;
  latest_bytes = bytes;
  latest_reader =
      std::make_unique<OperatorReader>(latest_bytes, ByteRange{0, uint32_t(latest_bytes.size())});
  Operator out;
  auto result = latest_reader->read(out);
  INFO((result ? std::string("ok") : result.err().to_string()));
  REQUIRE(result);
  CHECK(latest_reader->at_end());
  return out;
}

std::string decode_error(const Bytes& bytes) {
  Operator out;
  auto result = read_one(bytes, out);
  if (result) return "no error";
  return result.err().message();
}

uint64_t decode_error_offset(const Bytes& bytes) {
  Operator out;
  auto result = read_one(bytes, out);
  if (result || !result.err().offset()) return ~uint64_t(0);
  return *result.err().offset();
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

Bytes uleb(uint64_t value) {
  Bytes out;
  do {
    uint8_t byte = value & 0x7F;
    value >>= 7;
    if (value) byte |= 0x80;
    out.push_back(byte);
  } while (value);
  return out;
}

Bytes sleb(int64_t value) {
  Bytes out;
  bool more = true;
  while (more) {
    uint8_t byte = value & 0x7F;
    value >>= 7;  // arithmetic shift
    more = !((value == 0 && !(byte & 0x40)) || (value == -1 && (byte & 0x40)));
    if (more) byte |= 0x80;
    out.push_back(byte);
  }
  return out;
}

// The opcode bytes of a table row: the byte, or the prefix and the u32 LEB code.
Bytes opcode_bytes(Op op) {
  const OpcodeInfo& info = opcode_info(op);
  if (info.prefix == 0) return {uint8_t(info.code)};
  return concat({{info.prefix}, uleb(info.code)});
}

// Minimal immediates for each kind, valid for the encoding (not necessarily for validation).
Bytes minimal_immediates(ImmKind kind) {
  switch (kind) {
    case ImmKind::None:
      return {};
    case ImmKind::BlockType:
      return {0x40};
    case ImmKind::Label:
    case ImmKind::Func:
    case ImmKind::Type:
    case ImmKind::Local:
    case ImmKind::Global:
    case ImmKind::Table:
    case ImmKind::Memory:
    case ImmKind::Tag:
    case ImmKind::Data:
    case ImmKind::Elem:
      return {0x00};
    case ImmKind::BrTable:
      return {0x00, 0x00};
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
      return {0x00, 0x00};
    case ImmKind::MemArg:
      return {0x00, 0x00};
    case ImmKind::MemArgLane:
      return {0x00, 0x00, 0x00};
    case ImmKind::Lane:
      return {0x00};
    case ImmKind::Shuffle:
    case ImmKind::V128:
      return Bytes(16, 0x00);
    case ImmKind::I32:
    case ImmKind::I64:
      return {0x00};
    case ImmKind::F32:
      return Bytes(4, 0x00);
    case ImmKind::F64:
      return Bytes(8, 0x00);
    case ImmKind::SelectTypes:
      return {0x00};
    case ImmKind::HeapType:
      return {0x70};
    case ImmKind::TryTable:
      return {0x40, 0x00};
    case ImmKind::BrOnCast:
      return {0x00, 0x00, 0x70, 0x70};
    case ImmKind::AtomicFence:
      return {0x00};
  }
  return {};
}

Bytes encode_minimal(Op op) {
  return concat({opcode_bytes(op), minimal_immediates(opcode_info(op).imm)});
}

// One hand-written operator per immediate kind with non-trivial values, and what it decodes to.
struct Sample {
  ImmKind kind;
  Bytes bytes;
};

std::vector<Sample> samples() {
  return {
      {ImmKind::None, {0x6A}},                                         // i32.add
      {ImmKind::BlockType, {0x02, 0x7E}},                              // block (result i64)
      {ImmKind::Label, {0x0C, 0x85, 0x01}},                            // br 133
      {ImmKind::BrTable, {0x0E, 0x03, 0x00, 0x01, 0x80, 0x01, 0x05}},  // br_table 0 1 128 5
      {ImmKind::Func, {0x10, 0xE5, 0x8E, 0x26}},                       // call 624485
      {ImmKind::CallIndirect, {0x11, 0x07, 0x02}},             // call_indirect type 7 table 2
      {ImmKind::Type, {0x14, 0x03}},                           // call_ref 3
      {ImmKind::Local, {0x20, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F}},  // local.get 4294967295
      {ImmKind::Global, {0x23, 0x2A}},                         // global.get 42
      {ImmKind::Table, {0x25, 0x01}},                          // table.get 1
      {ImmKind::Memory, {0x3F, 0x02}},                         // memory.size 2
      {ImmKind::MemArg, {0x28, 0x02, 0x10}},                   // i32.load align=4 offset=16
      {ImmKind::MemArgLane, {0xFD, 0x55, 0x01, 0x04, 0x07}},   // v128.load16_lane a=2 o=4 7
      {ImmKind::Lane, {0xFD, 0x15, 0x0F}},                     // i8x16.extract_lane_s 15
      {ImmKind::Shuffle, {0xFD, 0x0D, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 31}},
      {ImmKind::I32, {0x41, 0x7F}},  // i32.const -1
      {ImmKind::I64, {0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7F}},
      {ImmKind::F32, {0x43, 0x00, 0x00, 0x80, 0x3F}},        // f32.const 1.0
      {ImmKind::F64, {0x44, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F}},  // f64.const 1.0
      {ImmKind::V128, {0xFD, 0x0C, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}},
      {ImmKind::SelectTypes, {0x1C, 0x02, 0x7F, 0x63, 0x05}},  // select (result i32 (ref null 5))
      {ImmKind::HeapType, {0xD0, 0x6F}},                       // ref.null extern
      {ImmKind::Tag, {0x08, 0x04}},                            // throw 4
      {ImmKind::TryTable,
       {0x1F, 0x40, 0x04, 0x00, 0x01, 0x02, 0x01, 0x03, 0x04, 0x02, 0x05, 0x03, 0x06}},
      {ImmKind::Data, {0xFC, 0x09, 0x03}},                       // data.drop 3
      {ImmKind::Elem, {0xFC, 0x0D, 0x04}},                       // elem.drop 4
      {ImmKind::MemoryInit, {0xFC, 0x08, 0x05, 0x01}},           // memory.init 5 memory 1
      {ImmKind::MemoryCopy, {0xFC, 0x0A, 0x01, 0x02}},           // memory.copy 1 2
      {ImmKind::TableInit, {0xFC, 0x0C, 0x06, 0x02}},            // table.init elem 6 table 2
      {ImmKind::TableCopy, {0xFC, 0x0E, 0x03, 0x04}},            // table.copy 3 4
      {ImmKind::StructField, {0xFB, 0x02, 0x07, 0x03}},          // struct.get 7 3
      {ImmKind::ArrayNewFixed, {0xFB, 0x08, 0x02, 0x90, 0x4E}},  // array.new_fixed 2 10000
      {ImmKind::ArrayData, {0xFB, 0x09, 0x01, 0x02}},            // array.new_data 1 2
      {ImmKind::ArrayElem, {0xFB, 0x0A, 0x03, 0x04}},            // array.new_elem 3 4
      {ImmKind::ArrayCopy, {0xFB, 0x11, 0x05, 0x06}},            // array.copy 5 6
      {ImmKind::BrOnCast,
       {0xFB, 0x18, 0x03, 0x02, 0x6E, 0x07}},      // br_on_cast 2 anyref (ref null 7)
      {ImmKind::AtomicFence, {0xFE, 0x03, 0x00}},  // atomic.fence
  };
}

}  // namespace

TEST_CASE("every immediate kind decodes from hand-written bytes", "[operators]") {
  std::set<ImmKind> covered;
  for (const Sample& sample : samples()) {
    Operator op = decode(sample.bytes);
    CHECK(opcode_info(op.op).imm == sample.kind);
    covered.insert(sample.kind);
  }
  // AtomicFence is the last enumerator: every kind from None to it has a sample.
  CHECK(covered.size() == size_t(ImmKind::AtomicFence) + 1);
}

TEST_CASE("immediate values are decoded exactly", "[operators]") {
  auto all = samples();
  auto find = [&](ImmKind kind) {
    for (const Sample& sample : all)
      if (sample.kind == kind) return decode(sample.bytes);
    FAIL("no sample");
    return Operator{};
  };

  Operator block = find(ImmKind::BlockType);
  CHECK(block.op == Op::Block);
  CHECK(block.block.kind == BlockType::Kind::Value);
  CHECK(block.block.value == ValType::i64());

  CHECK(find(ImmKind::Label).index == 133);
  Operator table = find(ImmKind::BrTable);
  REQUIRE(table.targets.size() == 4);
  CHECK(table.targets[0] == 0);
  CHECK(table.targets[1] == 1);
  CHECK(table.targets[2] == 128);
  CHECK(table.targets[3] == 5);  // the default, last
  CHECK(find(ImmKind::Func).index == 624485);
  Operator call_indirect = find(ImmKind::CallIndirect);
  CHECK(call_indirect.index == 7);
  CHECK(call_indirect.index2 == 2);
  CHECK(find(ImmKind::Type).op == Op::CallRef);
  CHECK(find(ImmKind::Type).index == 3);
  CHECK(find(ImmKind::Local).index == 0xFFFFFFFFu);
  CHECK(find(ImmKind::Global).index == 42);
  CHECK(find(ImmKind::Table).index == 1);
  CHECK(find(ImmKind::Memory).index == 2);

  Operator load = find(ImmKind::MemArg);
  CHECK(load.op == Op::I32Load);
  CHECK(load.memarg.align_log2 == 2);
  CHECK(load.memarg.memory == 0);
  CHECK(load.memarg.offset == 16);

  Operator load_lane = find(ImmKind::MemArgLane);
  CHECK(load_lane.op == Op::V128Load16Lane);
  CHECK(load_lane.memarg.align_log2 == 1);
  CHECK(load_lane.memarg.offset == 4);
  CHECK(load_lane.lane == 7);

  CHECK(find(ImmKind::Lane).lane == 15);
  Operator shuffle = find(ImmKind::Shuffle);
  CHECK(shuffle.bytes[0] == 0);
  CHECK(shuffle.bytes[14] == 14);
  CHECK(shuffle.bytes[15] == 31);

  CHECK(find(ImmKind::I32).value == ~uint64_t(0));       // -1 sign-extended
  CHECK(find(ImmKind::I64).value == uint64_t(1) << 63);  // INT64_MIN
  CHECK(find(ImmKind::F32).value == 0x3F800000u);
  CHECK(find(ImmKind::F64).value == 0x3FF0000000000000u);
  Operator v128 = find(ImmKind::V128);
  for (size_t i = 0; i < 16; ++i) CHECK(v128.bytes[i] == i + 1);

  Operator select = find(ImmKind::SelectTypes);
  CHECK(select.op == Op::SelectT);
  REQUIRE(select.types.size() == 2);
  CHECK(select.types[0] == ValType::i32());
  CHECK(select.types[1] == ValType::ref({HeapKind::Concrete, 5}, true));

  Operator ref_null = find(ImmKind::HeapType);
  CHECK(ref_null.heap == HeapType{HeapKind::Extern, 0});
  CHECK(find(ImmKind::Tag).index == 4);

  Operator try_table = find(ImmKind::TryTable);
  CHECK(try_table.block.kind == BlockType::Kind::Empty);
  REQUIRE(try_table.catches.size() == 4);
  CHECK(try_table.catches[0].kind == CatchClause::Kind::Catch);
  CHECK(try_table.catches[0].tag == 1);
  CHECK(try_table.catches[0].label == 2);
  CHECK(try_table.catches[1].kind == CatchClause::Kind::CatchRef);
  CHECK(try_table.catches[1].tag == 3);
  CHECK(try_table.catches[1].label == 4);
  CHECK(try_table.catches[2].kind == CatchClause::Kind::CatchAll);
  CHECK(try_table.catches[2].label == 5);
  CHECK(try_table.catches[3].kind == CatchClause::Kind::CatchAllRef);
  CHECK(try_table.catches[3].label == 6);

  CHECK(find(ImmKind::Data).index == 3);
  CHECK(find(ImmKind::Elem).index == 4);
  Operator memory_init = find(ImmKind::MemoryInit);
  CHECK(memory_init.index == 5);
  CHECK(memory_init.index2 == 1);
  Operator memory_copy = find(ImmKind::MemoryCopy);
  CHECK(memory_copy.index == 1);
  CHECK(memory_copy.index2 == 2);
  Operator table_init = find(ImmKind::TableInit);
  CHECK(table_init.index == 6);
  CHECK(table_init.index2 == 2);
  Operator table_copy = find(ImmKind::TableCopy);
  CHECK(table_copy.index == 3);
  CHECK(table_copy.index2 == 4);
  Operator struct_get = find(ImmKind::StructField);
  CHECK(struct_get.op == Op::StructGet);
  CHECK(struct_get.index == 7);
  CHECK(struct_get.index2 == 3);
  Operator new_fixed = find(ImmKind::ArrayNewFixed);
  CHECK(new_fixed.index == 2);
  CHECK(new_fixed.index2 == 10000);
  CHECK(find(ImmKind::ArrayData).index2 == 2);
  CHECK(find(ImmKind::ArrayElem).index == 3);
  Operator array_copy = find(ImmKind::ArrayCopy);
  CHECK(array_copy.index == 5);
  CHECK(array_copy.index2 == 6);

  Operator cast = find(ImmKind::BrOnCast);
  CHECK(cast.op == Op::BrOnCast);
  CHECK(cast.cast_flags == 3);
  CHECK(cast.index == 2);
  CHECK(cast.heap == HeapType{HeapKind::Any, 0});
  CHECK(cast.heap2 == HeapType{HeapKind::Concrete, 7});

  CHECK(find(ImmKind::AtomicFence).op == Op::AtomicFence);
}

TEST_CASE("block types: empty, value types, type indices", "[operators]") {
  CHECK(decode({0x03, 0x40}).block.kind == BlockType::Kind::Empty);
  Operator value = decode({0x04, 0x7B});
  CHECK(value.op == Op::If);
  CHECK(value.block.kind == BlockType::Kind::Value);
  CHECK(value.block.value == ValType::v128());
  Operator ref = decode({0x02, 0x64, 0x6C});
  CHECK(ref.block.value == ValType::ref({HeapKind::I31, 0}, false));
  Operator shorthand = decode({0x02, 0x70});
  CHECK(shorthand.block.value == ValType::funcref());
  Operator index = decode({0x02, 0x05});
  CHECK(index.block.kind == BlockType::Kind::TypeIndex);
  CHECK(index.block.type_index == 5);
  // The largest s33 type index.
  Operator largest = decode({0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F});
  CHECK(largest.block.type_index == 0xFFFFFFFFu);
  // Type index 64 needs two bytes, its first with bit 6 set: not a value type.
  Operator sixty_four = decode({0x02, 0xC0, 0x00});
  CHECK(sixty_four.block.kind == BlockType::Kind::TypeIndex);
  CHECK(sixty_four.block.type_index == 64);

  CHECK(decode_error({0x02, 0x50}) == "malformed value type");
  // A negative s33 in more than one byte names no value type.
  CHECK(decode_error({0x02, 0xFF, 0x7F}) == "malformed block type");
  CHECK(decode_error({0x02, 0x80, 0x80, 0x80, 0x80, 0x20}) == "integer too large");
  CHECK(decode_error({0x02, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}) ==
        "integer representation too long");
  Operator legacy_try = decode({0x06, 0x7F});
  CHECK(legacy_try.op == Op::Try);
  CHECK(legacy_try.block.value == ValType::i32());
}

TEST_CASE("memarg: alignment, multi-memory flag, 64-bit offsets", "[operators]") {
  Operator with_memory = decode({0x36, 0x42, 0x03, 0x08});  // i32.store align=4 memory 3 offset 8
  CHECK(with_memory.memarg.align_log2 == 2);
  CHECK(with_memory.memarg.memory == 3);
  CHECK(with_memory.memarg.offset == 8);

  Operator big_offset =
      decode(concat({{0x29, 0x03}, uleb(0xFFFFFFFFFFFFFFFFu)}));  // i64.load offset=2^64-1
  CHECK(big_offset.memarg.offset == 0xFFFFFFFFFFFFFFFFu);
  Operator over_4g = decode(concat({{0x29, 0x03}, uleb(uint64_t(1) << 40)}));
  CHECK(over_4g.memarg.offset == uint64_t(1) << 40);

  // The alignment field's value is kept for validation to judge ("alignment must not be larger
  // than natural"), up to 63.
  CHECK(decode({0x28, 0x3F, 0x00}).memarg.align_log2 == 63);
  // 128 and above are malformed: align.wast's "2**128" and "2**256" cases.
  CHECK(decode_error({0x28, 0x80, 0x01, 0x00}) == "malformed memop flags");
  CHECK(decode_error({0x28, 0x80, 0x02, 0x00}) == "malformed memop flags");
  // A redundant LEB for small flags is fine.
  CHECK(decode({0x28, 0x82, 0x00, 0x00}).memarg.align_log2 == 2);
  CHECK(decode_error(concat({{0x28, 0x02}, Bytes(10, 0x80), {0x00}})) ==
        "integer representation too long");
  CHECK(decode_error({0x28, 0x02, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02}) ==
        "integer too large");
  CHECK(decode_error({0x28, 0x40, 0x80, 0x80, 0x80, 0x80, 0x10, 0x00}) == "integer too large");
}

TEST_CASE("memarg errors carry the offset of the flags", "[operators]") {
  Bytes bytes = {0x28, 0x80, 0x01, 0x00};
  CHECK(decode_error_offset(bytes) == 1);
}

TEST_CASE("constants: sign extension and the LEB limits", "[operators]") {
  CHECK(decode({0x41, 0x80, 0x80, 0x80, 0x80, 0x78}).value == uint64_t(int64_t(INT32_MIN)));
  CHECK(decode({0x41, 0xFF, 0xFF, 0xFF, 0xFF, 0x07}).value == uint64_t(INT32_MAX));
  CHECK(decode({0x41, 0x3F}).value == 63);
  CHECK(decode({0x41, 0x40}).value == ~uint64_t(63));  // -64
  CHECK(decode(concat({{0x42}, sleb(INT64_MAX)})).value == uint64_t(INT64_MAX));
  CHECK(decode(concat({{0x42}, sleb(-12345678901234)})).value == uint64_t(-12345678901234));
  // Redundant sign-extension bytes are allowed within the maximum length.
  CHECK(decode({0x41, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F}).value == ~uint64_t(0));

  // i32: unused bits of the fifth byte must match the sign.
  CHECK(decode_error({0x41, 0x80, 0x80, 0x80, 0x80, 0x70}) == "integer too large");
  CHECK(decode_error({0x41, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F}) == "integer too large");
  CHECK(decode_error({0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}) ==
        "integer representation too long");
  // i64: the tenth byte holds one value bit.
  CHECK(decode_error({0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}) ==
        "integer too large");
  CHECK(decode_error({0x42, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7E}) ==
        "integer too large");
  CHECK(decode_error({0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}) ==
        "integer representation too long");
}

TEST_CASE("u32 indices: the LEB limits", "[operators]") {
  CHECK(decode({0x20, 0x80, 0x00}).index == 0);  // a redundant encoding is allowed
  CHECK(decode_error({0x20, 0x80, 0x80, 0x80, 0x80, 0x10}) == "integer too large");
  CHECK(decode_error({0x20, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}) ==
        "integer representation too long");
  CHECK(decode_error({0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F}) == "integer too large");
  CHECK(decode_error({0x11, 0x00, 0x80, 0x80, 0x80, 0x80, 0x40}) == "integer too large");
  CHECK(decode_error({0xFB, 0x02, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}) ==
        "integer representation too long");
}

TEST_CASE("truncated immediates are an unexpected end", "[operators]") {
  for (const Sample& sample : samples()) {
    for (size_t length = 1; length < sample.bytes.size(); ++length) {
      Bytes truncated(sample.bytes.begin(), sample.bytes.begin() + length);
      INFO("kind " << int(sample.kind) << " length " << length);
      CHECK(decode_error(truncated) == "unexpected end");
    }
  }
  // Nothing at all.
  CHECK(decode_error({}) == "unexpected end");
  // A prefix with no secondary opcode.
  for (uint8_t prefix : {0xFB, 0xFC, 0xFD, 0xFE}) {
    CHECK(decode_error({prefix}) == "unexpected end");
    CHECK(decode_error({prefix, 0x80}) == "unexpected end");
  }
}

TEST_CASE("the code range ends the immediates, not the module", "[operators]") {
  // i32.const 5 followed by bytes outside the range: the LEB stops at the range's end.
  Bytes module = {0xAA, 0x41, 0x85, 0x01, 0xBB};
  OperatorReader reader(module, ByteRange{1, 2});
  Operator op;
  auto result = reader.read(op);
  REQUIRE_FALSE(result);
  CHECK(result.err().message() == "unexpected end");
  CHECK(result.err().offset() == 3u);
}

TEST_CASE("a code range past the module's bytes is clamped", "[operators]") {
  Bytes module = {0x01, 0x01};
  OperatorReader reader(module, ByteRange{1, 100});
  Operator op;
  REQUIRE(reader.read(op));
  CHECK(op.op == Op::Nop);
  CHECK(reader.at_end());
  OperatorReader beyond(module, ByteRange{50, 10});
  CHECK(beyond.at_end());
  CHECK(beyond.read(op).err().message() == "unexpected end");
}

TEST_CASE("offsets are relative to the module and advance per operator", "[operators]") {
  // Some header bytes, then: i32.const 1; i32.const 2; i32.add; end
  Bytes module = {0, 0, 0, 0x41, 0x01, 0x41, 0x02, 0x6A, 0x0B};
  OperatorReader reader(module, ByteRange{3, 6});
  const Op expected_ops[] = {Op::I32Const, Op::I32Const, Op::I32Add, Op::End};
  const uint32_t expected_offsets[] = {3, 5, 7, 8};
  for (size_t i = 0; i < 4; ++i) {
    REQUIRE_FALSE(reader.at_end());
    Operator op;
    REQUIRE(reader.read(op));
    CHECK(op.op == expected_ops[i]);
    CHECK(op.offset == expected_offsets[i]);
  }
  CHECK(reader.at_end());
  CHECK(reader.offset() == 9);
}

TEST_CASE("an unknown opcode under each prefix is illegal", "[operators]") {
  CHECK(decode_error({0xFF}) == "illegal opcode ff");
  // The reference interpreter's wording: prefix and code in two-digit hex.
  CHECK(decode_error({0xFC, 0x12}) == "illegal opcode fc 12");
  CHECK(decode_error({0xFE, 0x04}) == "illegal opcode fe 04");
  CHECK(decode_error({0xFD, 0x94, 0x02}) == "illegal opcode fd 114");
  CHECK(decode_error({0x16}).rfind("illegal opcode", 0) == 0);
  CHECK(decode_error({0xD7}).rfind("illegal opcode", 0) == 0);
  CHECK(decode_error({0xFB, 0x1F}).rfind("illegal opcode", 0) == 0);
  CHECK(decode_error({0xFC, 0x12}).rfind("illegal opcode", 0) == 0);
  CHECK(decode_error({0xFC, 0x17}).rfind("illegal opcode", 0) == 0);
  CHECK(decode_error({0xFD, 0x9A, 0x01}).rfind("illegal opcode", 0) == 0);  // 154: a SIMD gap
  CHECK(decode_error({0xFD, 0x94, 0x02}).rfind("illegal opcode", 0) == 0);  // 0x114
  CHECK(decode_error({0xFE, 0x04}).rfind("illegal opcode", 0) == 0);
  CHECK(decode_error({0xFE, 0x4F}).rfind("illegal opcode", 0) == 0);
  // The largest u32 secondary opcode is not an operator either.
  CHECK(decode_error({0xFD, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F}).rfind("illegal opcode", 0) == 0);
  // The error points at the opcode's first byte.
  CHECK(decode_error_offset({0xFD, 0x9A, 0x01}) == 0);
  Bytes body = {0x01, 0x01, 0xFC, 0x12};
  OperatorReader reader(body, ByteRange{0, 4});
  Operator op;
  REQUIRE(reader.read(op));
  REQUIRE(reader.read(op));
  auto result = reader.read(op);
  REQUIRE_FALSE(result);
  CHECK(result.err().offset() == 2u);
  // A secondary opcode LEB that is itself malformed reports the LEB error.
  CHECK(decode_error({0xFC, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}) ==
        "integer representation too long");
  CHECK(decode_error({0xFC, 0x80, 0x80, 0x80, 0x80, 0x10}) == "integer too large");
}

TEST_CASE("prefixed opcodes accept redundant LEB encodings", "[operators]") {
  CHECK(decode({0xFC, 0x80, 0x00}).op == Op::I32TruncSatF32S);
  CHECK(decode({0xFC, 0x8A, 0x80, 0x80, 0x80, 0x00, 0x00, 0x00}).op == Op::MemoryCopy);
  CHECK(decode({0xFD, 0x93, 0x82, 0x00}).op == Op::I32x4RelaxedDotI8x16I7x16AddS);
}

TEST_CASE("br_table: counts are checked against the bytes left", "[operators]") {
  // A count of 2^32-1 with three bytes left: rejected before any allocation.
  CHECK(decode_error({0x0E, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00, 0x00, 0x00}) == "unexpected end");
  CHECK(decode_error({0x0E, 0x05, 0x00, 0x00}) == "unexpected end");
  // An empty vector: only the default.
  Operator only_default = decode({0x0E, 0x00, 0x09});
  REQUIRE(only_default.targets.size() == 1);
  CHECK(only_default.targets[0] == 9);
}

TEST_CASE("scratch vectors are reused across operators", "[operators]") {
  Bytes body = {0x0E, 0x02, 0x01, 0x02, 0x03,  // br_table 1 2 3
                0x0E, 0x00, 0x07,              // br_table 7
                0x1C, 0x01, 0x7D,              // select (result f32)
                0x6A};                         // i32.add
  OperatorReader reader(body, ByteRange{0, uint32_t(body.size())});
  Operator op;
  REQUIRE(reader.read(op));
  REQUIRE(op.targets.size() == 3);
  CHECK(op.targets[2] == 3);
  REQUIRE(reader.read(op));
  REQUIRE(op.targets.size() == 1);
  CHECK(op.targets[0] == 7);
  REQUIRE(reader.read(op));
  CHECK(op.targets.empty());
  REQUIRE(op.types.size() == 1);
  CHECK(op.types[0] == ValType::f32());
  REQUIRE(reader.read(op));
  CHECK(op.op == Op::I32Add);
  CHECK(op.types.empty());
  CHECK(op.catches.empty());
}

TEST_CASE("typed select", "[operators]") {
  CHECK(decode({0x1C, 0x00}).types.empty());
  CHECK(decode_error({0x1C, 0x01, 0x40}) == "malformed value type");
  CHECK(decode_error({0x1C, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x7F}) == "unexpected end");
  Operator multi = decode({0x1C, 0x03, 0x7F, 0x7E, 0x70});
  REQUIRE(multi.types.size() == 3);
  CHECK(multi.types[2] == ValType::funcref());
}

TEST_CASE("heap types", "[operators]") {
  const std::pair<uint8_t, HeapKind> kAbstract[] = {
      {0x69, HeapKind::Exn},      {0x6A, HeapKind::Array},  {0x6B, HeapKind::Struct},
      {0x6C, HeapKind::I31},      {0x6D, HeapKind::Eq},     {0x6E, HeapKind::Any},
      {0x6F, HeapKind::Extern},   {0x70, HeapKind::Func},   {0x71, HeapKind::None},
      {0x72, HeapKind::NoExtern}, {0x73, HeapKind::NoFunc}, {0x74, HeapKind::NoExn}};
  for (auto [byte, kind] : kAbstract) {
    INFO(int(byte));
    Bytes bytes = {byte};
    Reader reader(bytes);
    auto heap = read_heap_type(reader);
    REQUIRE(heap);
    CHECK(heap.ok() == HeapType{kind, 0});
    CHECK(reader.at_end());
  }
  Bytes concrete = {0x80, 0x01};
  Reader concrete_reader(concrete);
  auto index = read_heap_type(concrete_reader);
  REQUIRE(index);
  CHECK(index.ok() == HeapType{HeapKind::Concrete, 128});

  for (Bytes bad : {Bytes{0x68}, Bytes{0x75}, Bytes{0x7F}, Bytes{0x40}, Bytes{0xF0, 0x7F}}) {
    Reader reader(bad);
    auto heap = read_heap_type(reader);
    REQUIRE_FALSE(heap);
    CHECK(heap.err().message() == "malformed heap type");
    CHECK(heap.err().offset() == 0u);
  }
  Bytes too_large = {0x80, 0x80, 0x80, 0x80, 0x20};
  Reader too_large_reader(too_large);
  CHECK(read_heap_type(too_large_reader).err().message() == "integer too large");

  // ref.test, ref.cast and their nullable twins share the heap type immediate.
  CHECK(decode({0xFB, 0x14, 0x6C}).heap == HeapType{HeapKind::I31, 0});
  CHECK(decode({0xFB, 0x15, 0x6C}).op == Op::RefTestNull);
  CHECK(decode({0xFB, 0x16, 0x03}).heap == HeapType{HeapKind::Concrete, 3});
  CHECK(decode({0xFB, 0x17, 0x71}).op == Op::RefCastNull);
  CHECK(decode_error({0xD0, 0x7F}) == "malformed heap type");
}

TEST_CASE("value types and reference types", "[operators]") {
  const std::pair<Bytes, ValType> kValid[] = {
      {{0x7F}, ValType::i32()},
      {{0x7E}, ValType::i64()},
      {{0x7D}, ValType::f32()},
      {{0x7C}, ValType::f64()},
      {{0x7B}, ValType::v128()},
      {{0x70}, ValType::funcref()},
      {{0x6F}, ValType::externref()},
      {{0x69}, ValType::exnref()},
      {{0x6E}, ValType::ref({HeapKind::Any, 0}, true)},
      {{0x6D}, ValType::ref({HeapKind::Eq, 0}, true)},
      {{0x6C}, ValType::ref({HeapKind::I31, 0}, true)},
      {{0x6B}, ValType::ref({HeapKind::Struct, 0}, true)},
      {{0x6A}, ValType::ref({HeapKind::Array, 0}, true)},
      {{0x71}, ValType::ref({HeapKind::None, 0}, true)},
      {{0x72}, ValType::ref({HeapKind::NoExtern, 0}, true)},
      {{0x73}, ValType::ref({HeapKind::NoFunc, 0}, true)},
      {{0x74}, ValType::ref({HeapKind::NoExn, 0}, true)},
      {{0x63, 0x70}, ValType::funcref()},
      {{0x64, 0x70}, ValType::ref({HeapKind::Func, 0}, false)},
      {{0x63, 0x00}, ValType::ref({HeapKind::Concrete, 0}, true)},
      {{0x64, 0xE4, 0x00}, ValType::ref({HeapKind::Concrete, 100}, false)},
  };
  for (const auto& [bytes, expected] : kValid) {
    INFO(int(bytes[0]));
    Reader reader(bytes);
    auto type = read_val_type(reader);
    REQUIRE(type);
    CHECK(type.ok() == expected);
    CHECK(reader.at_end());
    if (expected.is_ref()) {
      Reader ref_reader(bytes);
      auto ref = read_ref_type(ref_reader);
      REQUIRE(ref);
      CHECK(ref.ok() == expected);
      CHECK(ref_reader.at_end());
    }
  }
  for (uint8_t bad : {0x00, 0x40, 0x60, 0x62, 0x65, 0x68, 0x75, 0x7A}) {
    INFO(int(bad));
    Bytes bytes = {bad};
    Reader reader(bytes);
    auto type = read_val_type(reader);
    REQUIRE_FALSE(type);
    CHECK(type.err().message() == "malformed value type");
    CHECK(type.err().offset() == 0u);
  }
  // Type codes are s7 LEBs (as in the reference interpreter): a continuation bit is over-long.
  for (uint8_t long_code : {0x80, 0xFF, 0xF0}) {
    Bytes bytes = {long_code, 0x7F};
    Reader reader(bytes);
    CHECK(read_val_type(reader).err().message() == "integer representation too long");
    Reader ref_reader(bytes);
    CHECK(read_ref_type(ref_reader).err().message() == "integer representation too long");
  }
  // binary.wast: an element segment of type i32 is a "malformed reference type".
  for (uint8_t number : {0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x40}) {
    Bytes bytes = {number};
    Reader reader(bytes);
    auto ref = read_ref_type(reader);
    REQUIRE_FALSE(ref);
    CHECK(ref.err().message() == "malformed reference type");
  }
  Bytes bad_heap = {0x64, 0x7F};
  Reader bad_heap_reader(bad_heap);
  CHECK(read_val_type(bad_heap_reader).err().message() == "malformed heap type");
  Bytes truncated = {0x63};
  Reader truncated_reader(truncated);
  CHECK(read_val_type(truncated_reader).err().message() == "unexpected end");
  Bytes empty;
  Reader empty_reader(empty);
  CHECK(read_val_type(empty_reader).err().message() == "unexpected end");
  Reader empty_ref_reader(empty);
  CHECK(read_ref_type(empty_ref_reader).err().message() == "unexpected end");
}

TEST_CASE("try_table catch clauses", "[operators]") {
  Operator none = decode({0x1F, 0x7F, 0x00});
  CHECK(none.block.value == ValType::i32());
  CHECK(none.catches.empty());
  CHECK(decode_error({0x1F, 0x40, 0x01, 0x04, 0x00}) == "malformed catch clause");
  CHECK(decode_error({0x1F, 0x40, 0x01, 0xFF, 0x00}) == "malformed catch clause");
  // Two clauses announced, but fewer than four bytes left.
  CHECK(decode_error({0x1F, 0x40, 0x02, 0x02, 0x00}) == "unexpected end");
  CHECK(decode_error({0x1F, 0x40, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x02, 0x00}) == "unexpected end");
}

TEST_CASE("br_on_cast flags", "[operators]") {
  for (uint8_t flags = 0; flags < 4; ++flags) {
    Operator op = decode({0xFB, 0x19, flags, 0x00, 0x6E, 0x6D});
    CHECK(op.op == Op::BrOnCastFail);
    CHECK(op.cast_flags == flags);
    CHECK(op.heap == HeapType{HeapKind::Any, 0});
    CHECK(op.heap2 == HeapType{HeapKind::Eq, 0});
  }
  CHECK(decode_error({0xFB, 0x18, 0x04, 0x00, 0x6E, 0x6D}) == "malformed cast flags");
  CHECK(decode_error({0xFB, 0x18, 0x80, 0x00, 0x6E, 0x6D}) == "malformed cast flags");
  CHECK(decode_error_offset({0xFB, 0x18, 0x04, 0x00, 0x6E, 0x6D}) == 2);
}

TEST_CASE("atomic.fence's reserved byte must be zero", "[operators]") {
  CHECK(decode({0xFE, 0x03, 0x00}).op == Op::AtomicFence);
  CHECK(decode_error({0xFE, 0x03, 0x01}) == "malformed atomic.fence flags");
  CHECK(decode_error({0xFE, 0x03, 0x80}) == "malformed atomic.fence flags");
}

TEST_CASE("lane immediates are single bytes", "[operators]") {
  // The lane index is a byte, not a LEB: 0x80 is lane 128 (validation rejects it later).
  Operator lane = decode({0xFD, 0x1B, 0x80});
  CHECK(lane.op == Op::I32x4ExtractLane);
  CHECK(lane.lane == 0x80);
  Operator store_lane = decode({0xFD, 0x5B, 0x03, 0x00, 0x01});
  CHECK(store_lane.op == Op::V128Store64Lane);
  CHECK(store_lane.lane == 1);
}

TEST_CASE("every table row decodes from its encoding with minimal immediates", "[operators]") {
  for (const OpcodeInfo& info : all_opcodes()) {
    INFO(info.mnemonic);
    Operator op = decode(encode_minimal(info.op));
    CHECK(op.op == info.op);
  }
}

TEST_CASE("every table row decodes with a padded secondary opcode", "[operators]") {
  for (const OpcodeInfo& info : all_opcodes()) {
    if (info.prefix == 0) continue;
    INFO(info.mnemonic);
    // The code as a 5-byte LEB (the longest a u32 may take).
    Bytes code = {uint8_t(0x80 | (info.code & 0x7F)), uint8_t(0x80 | ((info.code >> 7) & 0x7F)),
                  0x80, 0x80, 0x00};
    Bytes bytes = concat({{info.prefix}, code, minimal_immediates(info.imm)});
    Operator op = decode(bytes);
    CHECK(op.op == info.op);
  }
}

TEST_CASE("every table row reports truncated immediates", "[operators]") {
  for (const OpcodeInfo& info : all_opcodes()) {
    Bytes bytes = encode_minimal(info.op);
    size_t opcode_length = opcode_bytes(info.op).size();
    for (size_t length = opcode_length; length < bytes.size(); ++length) {
      INFO(info.mnemonic << " length " << length);
      CHECK(decode_error(Bytes(bytes.begin(), bytes.begin() + length)) == "unexpected end");
    }
  }
}

TEST_CASE("a whole body of every operator reads back in order", "[operators]") {
  Bytes body;
  std::vector<uint32_t> offsets;
  for (const OpcodeInfo& info : all_opcodes()) {
    offsets.push_back(uint32_t(body.size()));
    Bytes bytes = encode_minimal(info.op);
    body.insert(body.end(), bytes.begin(), bytes.end());
  }
  OperatorReader reader(body, ByteRange{0, uint32_t(body.size())});
  size_t i = 0;
  Operator op;
  while (!reader.at_end()) {
    REQUIRE(i < all_opcodes().size());
    auto result = reader.read(op);
    REQUIRE(result);
    CHECK(op.op == all_opcodes()[i].op);
    CHECK(op.offset == offsets[i]);
    ++i;
  }
  CHECK(i == all_opcodes().size());
}

TEST_CASE("every byte sequence of length two either decodes or fails cleanly", "[operators]") {
  // No crash, no exception, and a failure always has a message and an offset.
  size_t decoded = 0;
  for (unsigned first = 0; first < 256; ++first) {
    for (unsigned second = 0; second < 256; ++second) {
      Bytes bytes = {uint8_t(first), uint8_t(second)};
      OperatorReader reader(bytes, ByteRange{0, 2});
      Operator op;
      auto result = reader.read(op);
      if (result) {
        ++decoded;
        CHECK(reader.offset() <= 2);
      } else {
        CHECK_FALSE(result.err().message().empty());
        CHECK(result.err().offset());
      }
    }
  }
  CHECK(decoded > 0);
}

TEST_CASE("long immediate vectors decode in full", "[operators]") {
  Bytes table = concat({{0x0E}, uleb(10000)});
  for (uint32_t i = 0; i <= 10000; ++i) {
    Bytes label = uleb(i * 7);
    table.insert(table.end(), label.begin(), label.end());
  }
  Operator br_table = decode(table);
  REQUIRE(br_table.targets.size() == 10001);
  CHECK(br_table.targets[0] == 0);
  CHECK(br_table.targets[9999] == 9999u * 7);
  CHECK(br_table.targets[10000] == 10000u * 7);  // the default

  Bytes try_table = concat({{0x1F, 0x40}, uleb(3000)});
  for (uint32_t i = 0; i < 3000; ++i) {
    Bytes clause = (i % 2) ? Bytes{0x03} : concat({{0x01}, uleb(i)});
    Bytes label = uleb(i + 1);
    try_table.insert(try_table.end(), clause.begin(), clause.end());
    try_table.insert(try_table.end(), label.begin(), label.end());
  }
  Operator decoded = decode(try_table);
  REQUIRE(decoded.catches.size() == 3000);
  CHECK(decoded.catches[0].kind == CatchClause::Kind::CatchRef);
  CHECK(decoded.catches[0].tag == 0);
  CHECK(decoded.catches[0].label == 1);
  CHECK(decoded.catches[2999].kind == CatchClause::Kind::CatchAllRef);
  CHECK(decoded.catches[2999].label == 3000);
  CHECK(decoded.catches[2998].tag == 2998);
}

TEST_CASE("random byte streams never read past the code range", "[operators]") {
  // A fixed-seed linear congruential generator: the same streams on every run.
  uint64_t state = 0x9E3779B97F4A7C15u;
  auto next_byte = [&state] {
    state = state * 6364136223846793005u + 1442695040888963407u;
    return uint8_t(state >> 56);
  };
  size_t operators_read = 0;
  size_t errors = 0;
  for (int stream = 0; stream < 3000; ++stream) {
    // Biased towards opcode prefixes so prefixed immediates get exercised too.
    Bytes module(64);
    for (uint8_t& byte : module) {
      byte = next_byte();
      if (byte >= 0xF0 && byte < 0xF8) byte = uint8_t(0xFB + (byte & 3));
    }
    const uint32_t begin = 4, end = 60;
    OperatorReader reader(module, ByteRange{begin, end - begin});
    Operator op;
    while (!reader.at_end()) {
      size_t before = reader.offset();
      auto result = reader.read(op);
      if (!result) {
        ++errors;
        REQUIRE(result.err().offset());
        CHECK(*result.err().offset() >= begin);
        CHECK(*result.err().offset() <= end);
        break;
      }
      ++operators_read;
      CHECK(op.offset == before);
      REQUIRE(reader.offset() > before);
      REQUIRE(reader.offset() <= end);
    }
  }
  CHECK(operators_read > 3000);
  CHECK(errors > 0);
}

TEST_CASE("the reader's decode table agrees with lookup_opcode for every encoding", "[operators]") {
  // OperatorReader keeps its own compile-time copy of the table for speed; the two must agree
  // on which encodings exist and what they mean, including just past the assigned ranges.
  for (unsigned prefix : {0x00u, 0xFBu, 0xFCu, 0xFDu, 0xFEu}) {
    uint32_t limit = prefix == 0 ? 0x100 : 0x240;
    for (uint32_t code = 0; code < limit; ++code) {
      if (prefix == 0 && is_opcode_prefix(uint8_t(code))) continue;
      Bytes opcode = prefix == 0 ? Bytes{uint8_t(code)} : concat({{uint8_t(prefix)}, uleb(code)});
      auto expected = lookup_opcode(uint8_t(prefix), code);
      Bytes bytes =
          expected ? concat({opcode, minimal_immediates(opcode_info(*expected).imm)}) : opcode;
      INFO("prefix " << prefix << " code " << code);
      Operator op;
      auto result = read_one(bytes, op);
      CHECK(bool(result) == bool(expected));
      if (expected && result) CHECK(op.op == *expected);
      if (!expected && !result) CHECK(result.err().message().rfind("illegal opcode", 0) == 0);
    }
  }
}

TEST_CASE("random immediate values round-trip through their encodings", "[operators]") {
  uint64_t state = 0x2545F4914F6CDD1Du;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (int i = 0; i < 2000; ++i) {
    uint64_t a = next(), b = next();
    // Vary the magnitude so every LEB length occurs.
    uint32_t index = uint32_t(a) >> (a >> 59);
    uint32_t index2 = uint32_t(b) >> (b >> 59);
    int64_t value64 = int64_t(b) >> (a >> 58);
    int32_t value32 = int32_t(uint32_t(a >> 32)) >> (b >> 59);
    INFO("iteration " << i);

    Operator call_indirect = decode(concat({{0x11}, uleb(index), uleb(index2)}));
    CHECK(call_indirect.index == index);
    CHECK(call_indirect.index2 == index2);
    CHECK(decode(concat({{0x20}, uleb(index)})).index == index);
    Operator struct_set = decode(concat({{0xFB, 0x05}, uleb(index), uleb(index2)}));
    CHECK(struct_set.index == index);
    CHECK(struct_set.index2 == index2);
    CHECK(decode(concat({{0x41}, sleb(value32)})).value == uint64_t(int64_t(value32)));
    CHECK(decode(concat({{0x42}, sleb(value64)})).value == uint64_t(value64));

    uint32_t align = uint32_t(a & 0x3F);
    bool with_memory = (b & 1) != 0;
    uint64_t offset = b >> (a & 63);
    Bytes memarg = uleb(align | (with_memory ? 0x40u : 0u));
    if (with_memory) memarg = concat({memarg, uleb(index)});
    memarg = concat({memarg, uleb(offset)});
    Operator atomic = decode(concat({{0xFE, 0x48}, memarg}));  // i32.atomic.rmw.cmpxchg
    CHECK(atomic.memarg.align_log2 == align);
    CHECK(atomic.memarg.memory == (with_memory ? index : 0u));
    CHECK(atomic.memarg.offset == offset);

    Bytes heap = (a & 2) ? Bytes{uint8_t(0x69 + (b % 12))} : sleb(int64_t(index));  // s33
    Operator cast = decode(concat({{0xFB, 0x16}, heap}));
    if (a & 2) {
      CHECK(cast.heap.kind == HeapKind(0x69 + (b % 12)));
    } else {
      CHECK(cast.heap == HeapType{HeapKind::Concrete, index});
    }
  }
}
