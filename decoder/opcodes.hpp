// The opcode table, expanded. Every WebAssembly operator is one row of decoder/opcodes.def;
// this header turns the rows into an enum and a metadata table that the decoder, validator,
// text parser, disassembler and JIT dispatch all read. Add an operator in opcodes.def only.
//
// Row format (rows sorted by prefix, then code):
//   KILN_OPCODE(Ident, "mnemonic", prefix, code, ImmKind, Proposal, memory_bytes, "signature")
//     Ident        C++ enumerator name: Op::Ident
//     mnemonic     the text-format name
//     prefix       0x00 for single-byte opcodes, else 0xFB / 0xFC / 0xFD / 0xFE
//     code         the opcode byte, or for prefixed opcodes the u32 LEB that follows the prefix
//     ImmKind      the shape of the immediates that follow (enum below)
//     Proposal     the proposal that introduced the operator (enum below)
//     memory_bytes access width in bytes for loads/stores/atomics (natural alignment); 0 otherwise
//     signature    "params -> results" over i32 i64 f32 f64 v128 funcref externref exnref
//                  (and the other nullable abstract shorthands: anyref eqref i31ref structref
//                  arrayref nullref nullfuncref nullexternref nullexnref)
//                  when fixed, e.g. "i32 i32 -> i32"; "" when it depends on immediates or context
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace kiln::wasm {

// The shapes of operator immediates. One reader and one text printer/parser exists per kind.
enum class ImmKind : uint8_t {
  None,
  BlockType,      // blocktype (block, loop, if, legacy try)
  Label,          // labelidx (br, br_if, br_on_null, br_on_non_null, legacy rethrow/delegate)
  BrTable,        // vec(labelidx) labelidx
  Func,           // funcidx (call, return_call, ref.func)
  CallIndirect,   // typeidx tableidx
  Type,           // typeidx (call_ref, return_call_ref, struct.new, array.new, array.get, ...)
  Local,          // localidx
  Global,         // globalidx
  Table,          // tableidx (table.get/set/size/grow/fill)
  Memory,         // memidx (memory.size, memory.grow, memory.fill)
  MemArg,         // memarg: align (with memidx flag bit 6) [memidx] offset (u64 for memory64)
  MemArgLane,     // memarg then lane index byte (v128.loadN_lane / storeN_lane)
  Lane,           // lane index byte (extract_lane / replace_lane)
  Shuffle,        // 16 lane index bytes (i8x16.shuffle)
  I32,            // sleb32 (i32.const)
  I64,            // sleb64 (i64.const)
  F32,            // 4 bytes little-endian (f32.const)
  F64,            // 8 bytes little-endian (f64.const)
  V128,           // 16 bytes (v128.const)
  SelectTypes,    // vec(valtype) (typed select)
  HeapType,       // heaptype (ref.null, ref.test, ref.cast)
  Tag,            // tagidx (throw, legacy catch)
  TryTable,       // blocktype vec(catch) (try_table)
  Data,           // dataidx (data.drop)
  Elem,           // elemidx (elem.drop)
  MemoryInit,     // dataidx memidx
  MemoryCopy,     // memidx memidx (destination, source)
  TableInit,      // elemidx tableidx
  TableCopy,      // tableidx tableidx (destination, source)
  StructField,    // typeidx fieldidx
  ArrayNewFixed,  // typeidx u32
  ArrayData,      // typeidx dataidx (array.new_data, array.init_data)
  ArrayElem,      // typeidx elemidx (array.new_elem, array.init_elem)
  ArrayCopy,      // typeidx typeidx (destination, source)
  BrOnCast,       // castflags labelidx heaptype heaptype
  AtomicFence,    // one reserved zero byte
};

// The proposal that introduced an operator (or a feature); Config switches map onto these.
enum class Proposal : uint8_t {
  Mvp,
  SignExtension,
  SaturatingConversions,
  MultiValue,
  BulkMemory,
  ReferenceTypes,
  Simd,
  RelaxedSimd,
  TailCall,
  ExtendedConst,
  MultiMemory,
  Memory64,
  Exceptions,        // exnref: try_table, throw, throw_ref
  LegacyExceptions,  // try, catch, catch_all, delegate, rethrow
  FunctionReferences,
  Gc,
  Threads,
  WideArithmetic,
  CustomPageSizes,
};

std::string_view proposal_name(Proposal proposal);

enum class Op : uint16_t {
#define KILN_OPCODE(ident, text, prefix, code, imm, proposal, bytes, sig) ident,
#include "decoder/opcodes.def"
#undef KILN_OPCODE
};

struct OpcodeInfo {
  Op op;
  std::string_view mnemonic;
  uint8_t prefix;
  uint32_t code;
  ImmKind imm;
  Proposal proposal;
  uint8_t memory_bytes;
  std::string_view signature;
};

// Every row, in table order (sorted by prefix, then code).
std::span<const OpcodeInfo> all_opcodes();
const OpcodeInfo& opcode_info(Op op);

// Binary lookup: prefix 0 for single-byte opcodes. nullopt for unknown encodings.
std::optional<Op> lookup_opcode(uint8_t prefix, uint32_t code);
// Text lookup by mnemonic ("i32.add"). nullopt for unknown names.
std::optional<Op> lookup_mnemonic(std::string_view mnemonic);

// True for the prefix bytes that introduce a LEB-encoded secondary opcode.
constexpr bool is_opcode_prefix(uint8_t byte) {
  return byte == 0xFB || byte == 0xFC || byte == 0xFD || byte == 0xFE;
}

}  // namespace kiln::wasm
