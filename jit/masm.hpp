// The MacroAssembler interface: everything the single-pass compiler (jit/compiler.*) may ask of
// a machine. Lowering is written once against this interface; jit/x64/ implements it on
// asmjit::x86::Assembler and jit/a64/ will implement it on asmjit::a64::Assembler.
//
// The compiler is a template over the masm type (no virtual call per instruction); the concept
// `MacroAssembler` below is the contract each backend must meet.
#pragma once

#include <concepts>
#include <cstdint>
#include <span>
#include <vector>

#include "kiln/error.hpp"
#include "kiln/trap.hpp"

namespace kiln::jit {

enum class RegClass : uint8_t { Gp, Fp };

// A machine register: its class and the backend's hardware number.
struct Reg {
  uint8_t id = 0xFF;
  RegClass cls = RegClass::Gp;
  static constexpr Reg gp(uint8_t id) { return {id, RegClass::Gp}; }
  static constexpr Reg fp(uint8_t id) { return {id, RegClass::Fp}; }
  bool valid() const { return id != 0xFF; }
  friend bool operator==(const Reg&, const Reg&) = default;
};

// Width of an integer operation: wasm's i32 and i64.
enum class Width : uint8_t { W32, W64 };

// Memory operand: base + index * (1 << scale) + displacement.
struct Address {
  Reg base;
  Reg index;  // invalid = none
  uint8_t scale = 0;
  int32_t disp = 0;
  static Address at(Reg base, int32_t disp = 0) { return {base, Reg{}, 0, disp}; }
  static Address indexed(Reg base, Reg index, int32_t disp = 0) { return {base, index, 0, disp}; }
};

// Loads: how many bytes and how they extend into the destination register.
enum class LoadKind : uint8_t {
  U8To32,
  S8To32,
  U16To32,
  S16To32,
  I32,  // results for an i32 destination
  U8To64,
  S8To64,
  U16To64,
  S16To64,
  U32To64,
  S32To64,
  I64,  // for an i64 destination
  F32,
  F64,
  V128,
};
enum class StoreKind : uint8_t { I8, I16, I32, I64, F32, F64, V128 };

enum class IntCond : uint8_t { Eq, Ne, LtS, LtU, GtS, GtU, LeS, LeU, GeS, GeU };
constexpr IntCond negate(IntCond c) {
  switch (c) {
    case IntCond::Eq:
      return IntCond::Ne;
    case IntCond::Ne:
      return IntCond::Eq;
    case IntCond::LtS:
      return IntCond::GeS;
    case IntCond::LtU:
      return IntCond::GeU;
    case IntCond::GtS:
      return IntCond::LeS;
    case IntCond::GtU:
      return IntCond::LeU;
    case IntCond::LeS:
      return IntCond::GtS;
    case IntCond::LeU:
      return IntCond::GtU;
    case IntCond::GeS:
      return IntCond::LtS;
    case IntCond::GeU:
      return IntCond::LtU;
  }
  return c;
}
// The condition that holds for (b, a) when `c` holds for (a, b).
constexpr IntCond swap_operands(IntCond c) {
  switch (c) {
    case IntCond::LtS:
      return IntCond::GtS;
    case IntCond::LtU:
      return IntCond::GtU;
    case IntCond::GtS:
      return IntCond::LtS;
    case IntCond::GtU:
      return IntCond::LtU;
    case IntCond::LeS:
      return IntCond::GeS;
    case IntCond::LeU:
      return IntCond::GeU;
    case IntCond::GeS:
      return IntCond::LeS;
    case IntCond::GeU:
      return IntCond::LeU;
    default:
      return c;
  }
}

enum class AluOp : uint8_t { Add, Sub, Mul, And, Or, Xor };
enum class ShiftOp : uint8_t { Shl, ShrS, ShrU, Rotl, Rotr };
enum class BitCountOp : uint8_t { Clz, Ctz, Popcnt };
enum class DivOp : uint8_t { DivS, DivU, RemS, RemU };

// Floating point: wasm's f32 (F32) and f64 (F64) semantics, NaN rules included.
enum class FpWidth : uint8_t { F32, F64 };
enum class FpBinOp : uint8_t { Add, Sub, Mul, Div, Min, Max };
enum class FpUnOp : uint8_t { Abs, Neg, Sqrt, Ceil, Floor, Trunc, Nearest };
// Ordered comparisons are false when either operand is NaN; Ne is true then.
enum class FpCond : uint8_t { Eq, Ne, Lt, Gt, Le, Ge };
// Float -> integer truncation: trapping (the spec's trunc) or saturating (trunc_sat).
struct TruncKind {
  FpWidth from;
  Width to;
  bool is_signed;
  bool saturating;
};

// A place in the emitted code where a trap can happen, for the signal handler and backtraces.
struct TrapSite {
  uint32_t code_offset;  // offset of the faulting instruction in the function's code
  TrapCode code;
  uint32_t wasm_offset;  // byte offset of the operator in the module
};

// A direct call to another function of the module, patched when the module's code is laid out.
struct CallSite {
  uint32_t rel32_offset;  // offset of the 32-bit displacement, relative to the next instruction
  uint32_t callee;        // function index
};

// The contract of a backend. `Label` is the backend's label handle.
template <typename M>
concept MacroAssembler = requires(M m, typename M::Label label, Reg r, Address a, Width w,
                                  int32_t imm32, int64_t imm64, IntCond cond, AluOp alu,
                                  ShiftOp shift, BitCountOp bits, DivOp div, TrapCode trap,
                                  uint32_t u32) {
  { m.new_label() } -> std::same_as<typename M::Label>;
  m.bind(label);
  { m.offset() } -> std::convertible_to<uint32_t>;
  m.mov(r, r, w);
  m.mov_imm(r, imm64, w);
  m.load(r, a, LoadKind::I32);
  m.store(a, r, StoreKind::I32);
  m.store_imm(a, imm32, StoreKind::I32);
  m.lea(r, a, w);
  m.alu(alu, r, r, r, w);
  m.alu_imm(alu, r, r, imm32, w);
  m.shift(shift, r, r, r, w);
  m.shift_imm(shift, r, r, u32, w);
  m.bit_count(bits, r, r, w);
  m.cmp(r, r, w);
  m.cmp_imm(r, imm32, w);
  m.test(r, r, w);
  m.set_cond(cond, r);
  m.branch(cond, label);
  m.jump(label);
  m.trap(trap, u32);
  m.trap_if(cond, trap, u32);
  m.ret();
};

}  // namespace kiln::jit
