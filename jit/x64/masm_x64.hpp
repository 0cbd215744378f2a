// The x86-64 MacroAssembler (see jit/masm.hpp) on asmjit::x86::Assembler. The only file that
// knows x86-64 instruction selection; lowering never sees asmjit.
#pragma once

#include <asmjit/x86.h>

#include <cstdint>
#include <string>
#include <vector>

#include "jit/masm.hpp"

namespace kiln::jit::x64 {

// Hardware numbers of the general-purpose registers.
namespace gp {
inline constexpr Reg rax = Reg::gp(0), rcx = Reg::gp(1), rdx = Reg::gp(2), rbx = Reg::gp(3),
                     rsp = Reg::gp(4), rbp = Reg::gp(5), rsi = Reg::gp(6), rdi = Reg::gp(7),
                     r8 = Reg::gp(8), r9 = Reg::gp(9), r10 = Reg::gp(10), r11 = Reg::gp(11),
                     r12 = Reg::gp(12), r13 = Reg::gp(13), r14 = Reg::gp(14), r15 = Reg::gp(15);
}

class X64Masm {
 public:
  using Label = asmjit::Label;

  // Register roles (docs/jit-abi.md). r11 and xmm15 are the masm's scratch registers.
  static constexpr Reg kVmctx = gp::r14;
  static constexpr Reg kFramePointer = gp::rbp;
  static constexpr Reg kStackPointer = gp::rsp;
  static constexpr Reg kScratch = gp::r11;
  static constexpr Reg kFpScratch = Reg::fp(15);
  // Memory 0's base, pinned in every function of a module that has a memory (docs/jit-abi.md).
  static constexpr Reg kMemory0Base = gp::r15;
  // The fuel counter of the running function when fuel is on (docs/fuel-epochs.md): taken out of
  // the allocatable set then. Callee-saved in System V, so builtins preserve it.
  static constexpr Reg kFuel = gp::r13;
  // The store's epoch deadline, likewise, when epoch interruption is on.
  static constexpr Reg kEpochDeadline = gp::r12;
  static constexpr Reg kGpAllocatable[] = {gp::rax, gp::rcx, gp::rdx, gp::rbx, gp::rsi, gp::rdi,
                                           gp::r8,  gp::r9,  gp::r10, gp::r12, gp::r13};
  static constexpr Reg kFpAllocatable[] = {Reg::fp(0),  Reg::fp(1),  Reg::fp(2),  Reg::fp(3),
                                           Reg::fp(4),  Reg::fp(5),  Reg::fp(6),  Reg::fp(7),
                                           Reg::fp(8),  Reg::fp(9),  Reg::fp(10), Reg::fp(11),
                                           Reg::fp(12), Reg::fp(13), Reg::fp(14)};
  // System V argument and return registers, for calls to runtime builtins.
  static constexpr Reg kCArgs[] = {gp::rdi, gp::rsi, gp::rdx, gp::rcx, gp::r8, gp::r9};
  static constexpr Reg kCReturn = gp::rax;
  // Where a wasm function's first result also leaves (docs/jit-abi.md): by its class.
  static constexpr Reg kReturnGp = gp::rax;
  static constexpr Reg kReturnFp = Reg::fp(0);
  // Where the first parameters also travel (docs/jit-abi.md): parameter i < kRegisterParams in
  // kParamGp[i] or kParamFp[i] by its class. Not rax (call targets, call_indirect's index) nor
  // rsi (call_indirect's entry), which calls still use after placing the arguments.
  static constexpr uint32_t kRegisterParams = 4;
  static constexpr Reg kParamGp[kRegisterParams] = {gp::rdi, gp::rdx, gp::rcx, gp::r8};
  static constexpr Reg kParamFp[kRegisterParams] = {Reg::fp(1), Reg::fp(2), Reg::fp(3), Reg::fp(4)};

  X64Masm();
  X64Masm(const X64Masm&) = delete;
  // Starts a new function, keeping the memory of the last one (asmjit's zone, a code buffer of
  // the last function's size).
  void reset();
  X64Masm& operator=(const X64Masm&) = delete;

  Label new_label() { return assembler_.newLabel(); }
  void bind(Label label) { assembler_.bind(label); }
  uint32_t offset() const { return uint32_t(assembler_.offset()); }

  // Moves and memory.
  void mov(Reg dst, Reg src, Width width);
  void mov_imm(Reg dst, int64_t value, Width width);
  void load(Reg dst, Address address, LoadKind kind);
  void store(Address address, Reg src, StoreKind kind);
  void store_imm(Address address, int32_t value, StoreKind kind);
  void lea(Reg dst, Address address, Width width);

  // Integer arithmetic: dst = lhs op rhs. dst may equal lhs or rhs.
  void alu(AluOp op, Reg dst, Reg lhs, Reg rhs, Width width);
  void alu_imm(AluOp op, Reg dst, Reg lhs, int32_t imm, Width width);
  void alu_mem(AluOp op, Reg dst, Address rhs, Width width);  // dst = dst op [rhs]
  void add_mem_imm(Address target, int32_t imm, Width width);  // [target] += imm (sets flags)
  // Shifts by a register: the count must be in rcx unless BMI2 is available (the compiler
  // asks `shift_count_register()` which register to put it in).
  void shift(ShiftOp op, Reg dst, Reg lhs, Reg count, Width width);
  void shift_imm(ShiftOp op, Reg dst, Reg lhs, uint32_t count, Width width);
  static constexpr Reg shift_count_register() { return gp::rcx; }
  void bit_count(BitCountOp op, Reg dst, Reg src, Width width);
  // dst = lhs op rhs with wasm's traps (divide by zero, signed overflow). Uses rax and rdx:
  // the compiler must keep them free (see `kDivScratch`).
  void div(DivOp op, Reg dst, Reg lhs, Reg rhs, Width width, uint32_t wasm_offset);
  static constexpr Reg kDivScratch[2] = {gp::rax, gp::rdx};
  void sign_extend(Reg dst, Reg src, LoadKind from);  // i32/i64.extendN_s, i64.extend_i32_s/u

  // Floating point (SSE2 + SSE4.1 for rounding). dst may equal an operand.
  void fp_binop(FpBinOp op, Reg dst, Reg lhs, Reg rhs, FpWidth width);
  // dst = dst op [rhs]; add, sub, mul and div only.
  void fp_binop_mem(FpBinOp op, Reg dst, Address rhs, FpWidth width);
  // dst = dst op constant (raw bits); add, sub, mul and div only.
  void fp_binop_const(FpBinOp op, Reg dst, uint64_t bits, FpWidth width);
  // dst = a constant given by its raw bits: +0 by a zeroing idiom, others from the function's
  // constant pool (RIP-relative, after the code) rather than through a general register.
  void load_fp_const(Reg dst, uint64_t bits, FpWidth width);
  void fp_unop(FpUnOp op, Reg dst, Reg src, FpWidth width);
  void fp_copysign(Reg dst, Reg lhs, Reg rhs, Reg temp, FpWidth width);     // temp: an FP register
  void fp_set_cond(FpCond cond, Reg dst, Reg lhs, Reg rhs, FpWidth width);  // dst: GP 0/1
  void fp_convert(Reg dst, Reg src, FpWidth to);                            // promote/demote
  // Integer (GP, zero-extended i32 or i64) to float; unsigned i64 takes the slow path.
  void int_to_fp(Reg dst, Reg src, Width from, bool is_signed, FpWidth to);
  void fp_to_int(Reg dst, Reg src, TruncKind kind, uint32_t wasm_offset);

  // Comparisons and control flow.
  void cmp(Reg lhs, Reg rhs, Width width);
  void cmp_mem(Reg lhs, Address rhs, Width width);
  void cmp_mem_imm(Address lhs, int32_t imm, Width width);
  // Compares the stack pointer with a limit in memory (the prologue's stack check).
  void cmp_stack_pointer(Address limit);
  // dst = cond ? src : dst, from the flags of the last compare.
  void cmov(IntCond cond, Reg dst, Reg src, Width width);
  void cmp_imm(Reg lhs, int32_t imm, Width width);
  void test(Reg lhs, Reg rhs, Width width);
  void set_cond(IntCond cond, Reg dst);  // dst (32-bit) = the flags satisfy cond ? 1 : 0
  void branch(IntCond cond, Label target);
  void jump(Label target);
  void jump_table(Reg index, std::span<const Label> targets);  // index must be < targets.size()
  void call(Label target);
  void call_reg(Reg target);
  void call_mem(Address target);  // call through a code pointer in memory
  // A call to function `callee` of the same module: a rel32 the runtime patches once every
  // function's code has its final address (functions are compiled independently).
  void call_function(uint32_t callee);
  void ret();

  // Traps: an unconditional trap here, or one taken when `cond` holds (an out-of-line stub).
  void trap(TrapCode code, uint32_t wasm_offset);
  void trap_if(IntCond cond, TrapCode code, uint32_t wasm_offset);
  // Registers that the next instruction may fault on, for a guarded memory access: call just
  // before emitting the load/store.
  void record_trap_site(TrapCode code, uint32_t wasm_offset);

  // Frame: push rbp; mov rbp, rsp; sub rsp, <patched at finish>.
  void enter_frame();
  void set_frame_size(uint32_t bytes);  // 16-byte aligned by the masm
  void leave_frame();
  // Zeroes `bytes` (a multiple of 8) of the frame from `rbp + from` upwards: the prologue's
  // initialisation of non-parameter locals. Clobbers the scratch register only.
  void zero_frame(int32_t from, uint32_t bytes);
  // Saves/restores a 64-bit general-purpose register on the machine stack (trampolines).
  void push(Reg reg);
  void pop(Reg reg);

  // Emits the out-of-line stubs, resolves labels and returns the function's machine code.
  Result<std::vector<uint8_t>> finish();
  const std::vector<TrapSite>& trap_sites() const { return trap_sites_; }
  const std::vector<CallSite>& call_sites() const { return call_sites_; }

 private:
  struct OutOfLineTrap {
    Label label;
    TrapCode code;
    uint32_t wasm_offset;
  };

  struct ErrorCollector : asmjit::ErrorHandler {
    asmjit::Error first = asmjit::kErrorOk;
    std::string message;
    void handleError(asmjit::Error error, const char* text, asmjit::BaseEmitter*) override {
      if (first == asmjit::kErrorOk) {
        first = error;
        message = text;
      }
    }
  };

  void attach();
  asmjit::x86::Gp gp32(Reg r) const { return asmjit::x86::gpd(r.id); }
  asmjit::x86::Gp gp64(Reg r) const { return asmjit::x86::gpq(r.id); }
  asmjit::x86::Gp gpw(Reg r, Width w) const { return w == Width::W64 ? gp64(r) : gp32(r); }
  asmjit::x86::Xmm xmm(Reg r) const { return asmjit::x86::xmm(r.id); }
  asmjit::x86::Mem mem(Address a, uint32_t size) const;
  Label out_of_line_trap(TrapCode code, uint32_t wasm_offset);

  ErrorCollector errors_;
  void load_fp_constant(asmjit::x86::Xmm dst, double value, FpWidth width);
  void fp_compare(Reg lhs, Reg rhs, FpWidth width);

  bool has_lzcnt_ = false, has_tzcnt_ = false, has_popcnt_ = false, has_sse41_ = false;
  asmjit::CodeHolder code_;
  asmjit::x86::Assembler assembler_;
  std::vector<OutOfLineTrap> out_of_line_traps_;
  struct PoolConstant {
    uint64_t bits;
    Label label;
  };
  std::vector<PoolConstant> constants_;  // 8 bytes each (f32: the low 4), emitted by finish()
  asmjit::x86::Mem constant(uint64_t bits, FpWidth width);
  std::vector<TrapSite> trap_sites_;
  std::vector<CallSite> call_sites_;
  size_t frame_size_patch_offset_ = SIZE_MAX;
  uint32_t frame_size_ = 0;
};

static_assert(MacroAssembler<X64Masm>);

}  // namespace kiln::jit::x64
