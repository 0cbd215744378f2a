#include "jit/x64/masm_x64.hpp"

#include <algorithm>
#include <cstring>

#include "jit/jit.hpp"

namespace kiln::jit::x64 {

namespace x86 = asmjit::x86;
using asmjit::Imm;

namespace {

// r11 is the masm's own scratch register: the compiler never allocates it.
const x86::Gp kScratch64 = x86::r11;
const x86::Gp kScratch32 = x86::r11d;

// `target op= source` for a register, memory or immediate source (multiplication by an
// immediate is the three-operand imul, which callers emit themselves).
template <typename Source>
void emit_alu(x86::Assembler& assembler, AluOp op, const x86::Gp& target, const Source& source) {
  switch (op) {
    case AluOp::Add:
      assembler.add(target, source);
      break;
    case AluOp::Sub:
      assembler.sub(target, source);
      break;
    case AluOp::Mul:
      assembler.imul(target, source);
      break;
    case AluOp::And:
      assembler.and_(target, source);
      break;
    case AluOp::Or:
      assembler.or_(target, source);
      break;
    case AluOp::Xor:
      assembler.xor_(target, source);
      break;
  }
}

x86::CondCode condition(IntCond cond) {
  switch (cond) {
    case IntCond::Eq:
      return x86::CondCode::kEqual;
    case IntCond::Ne:
      return x86::CondCode::kNotEqual;
    case IntCond::LtS:
      return x86::CondCode::kSignedLT;
    case IntCond::LtU:
      return x86::CondCode::kUnsignedLT;
    case IntCond::GtS:
      return x86::CondCode::kSignedGT;
    case IntCond::GtU:
      return x86::CondCode::kUnsignedGT;
    case IntCond::LeS:
      return x86::CondCode::kSignedLE;
    case IntCond::LeU:
      return x86::CondCode::kUnsignedLE;
    case IntCond::GeS:
      return x86::CondCode::kSignedGE;
    case IntCond::GeU:
      return x86::CondCode::kUnsignedGE;
  }
  return x86::CondCode::kEqual;
}

}  // namespace

X64Masm::X64Masm() {
  // One definition of what the code may assume, shared with serialized modules' headers.
  const uint64_t cpu = host_cpu_features();
  has_lzcnt_ = cpu & kCpuLzcnt;
  has_tzcnt_ = cpu & kCpuBmi1;
  has_popcnt_ = cpu & kCpuPopcnt;
  has_sse41_ = cpu & kCpuSse41;
  attach();
}

void X64Masm::attach() {
  code_.init(asmjit::Environment(asmjit::Arch::kX64));
  code_.setErrorHandler(&errors_);
  code_.attach(&assembler_);
}

void X64Masm::reset() {
  // A soft reset keeps asmjit's zone (labels, fixups) but frees the code buffer: reserving the
  // last function's size again saves growing it step by step (up to a size malloc still serves
  // from its heap rather than with a fresh mapping).
  const size_t last_size = std::min<size_t>(code_.textSection()->bufferSize(), 64 * 1024);
  code_.reset(asmjit::ResetPolicy::kSoft);
  attach();
  if (last_size) code_.reserveBuffer(&code_.textSection()->buffer(), last_size);
  errors_.first = asmjit::kErrorOk;
  errors_.message.clear();
  out_of_line_traps_.clear();
  constants_.clear();
  trap_sites_.clear();
  call_sites_.clear();
  frame_size_patch_offset_ = SIZE_MAX;
  frame_size_ = 0;
}

x86::Mem X64Masm::mem(Address a, uint32_t size) const {
  if (a.index.valid()) return x86::ptr(gp64(a.base), gp64(a.index), a.scale, a.disp, size);
  return x86::ptr(gp64(a.base), a.disp, size);
}

void X64Masm::mov(Reg dst, Reg src, Width width) {
  if (dst.cls == RegClass::Fp || src.cls == RegClass::Fp) {
    if (dst == src) return;
    if (dst.cls == RegClass::Fp && src.cls == RegClass::Fp) {
      assembler_.movaps(xmm(dst), xmm(src));
    } else if (dst.cls == RegClass::Fp) {
      width == Width::W64 ? assembler_.movq(xmm(dst), gp64(src))
                          : assembler_.movd(xmm(dst), gp32(src));
    } else {
      width == Width::W64 ? assembler_.movq(gp64(dst), xmm(src))
                          : assembler_.movd(gp32(dst), xmm(src));
    }
    return;
  }
  // i32 values are kept zero-extended in registers, so a 32-bit copy onto itself is a no-op.
  if (dst == src) return;
  assembler_.mov(gpw(dst, width), gpw(src, width));
}

void X64Masm::mov_imm(Reg dst, int64_t value, Width width) {
  if (width == Width::W32) value = int64_t(uint32_t(value));
  if (value == 0) {
    assembler_.xor_(gp32(dst), gp32(dst));
  } else if (uint64_t(value) <= UINT32_MAX) {
    assembler_.mov(gp32(dst), Imm(uint32_t(value)));  // zero-extends into the full register
  } else if (value >= INT32_MIN && value <= INT32_MAX) {
    assembler_.mov(gp64(dst), Imm(int32_t(value)));
  } else {
    assembler_.movabs(gp64(dst), Imm(value));
  }
}

void X64Masm::load(Reg dst, Address a, LoadKind kind) {
  switch (kind) {
    case LoadKind::U8To32:
    case LoadKind::U8To64:
      assembler_.movzx(gp32(dst), mem(a, 1));
      break;
    case LoadKind::S8To32:
      assembler_.movsx(gp32(dst), mem(a, 1));
      break;
    case LoadKind::U16To32:
    case LoadKind::U16To64:
      assembler_.movzx(gp32(dst), mem(a, 2));
      break;
    case LoadKind::S16To32:
      assembler_.movsx(gp32(dst), mem(a, 2));
      break;
    case LoadKind::I32:
    case LoadKind::U32To64:
      assembler_.mov(gp32(dst), mem(a, 4));
      break;
    case LoadKind::S8To64:
      assembler_.movsx(gp64(dst), mem(a, 1));
      break;
    case LoadKind::S16To64:
      assembler_.movsx(gp64(dst), mem(a, 2));
      break;
    case LoadKind::S32To64:
      assembler_.movsxd(gp64(dst), mem(a, 4));
      break;
    case LoadKind::I64:
      assembler_.mov(gp64(dst), mem(a, 8));
      break;
    case LoadKind::F32:
      assembler_.movss(xmm(dst), mem(a, 4));
      break;
    case LoadKind::F64:
      assembler_.movsd(xmm(dst), mem(a, 8));
      break;
    case LoadKind::V128:
      assembler_.movdqu(xmm(dst), mem(a, 16));
      break;
  }
}

void X64Masm::store(Address a, Reg src, StoreKind kind) {
  switch (kind) {
    case StoreKind::I8:
      assembler_.mov(mem(a, 1), x86::gpb(src.id));
      break;
    case StoreKind::I16:
      assembler_.mov(mem(a, 2), x86::gpw(src.id));
      break;
    case StoreKind::I32:
      assembler_.mov(mem(a, 4), gp32(src));
      break;
    case StoreKind::I64:
      assembler_.mov(mem(a, 8), gp64(src));
      break;
    case StoreKind::F32:
      assembler_.movss(mem(a, 4), xmm(src));
      break;
    case StoreKind::F64:
      assembler_.movsd(mem(a, 8), xmm(src));
      break;
    case StoreKind::V128:
      assembler_.movdqu(mem(a, 16), xmm(src));
      break;
  }
}

void X64Masm::store_imm(Address a, int32_t value, StoreKind kind) {
  switch (kind) {
    case StoreKind::I8:
      assembler_.mov(mem(a, 1), Imm(int8_t(value)));
      break;
    case StoreKind::I16:
      assembler_.mov(mem(a, 2), Imm(int16_t(value)));
      break;
    case StoreKind::I32:
    case StoreKind::F32:
      assembler_.mov(mem(a, 4), Imm(value));
      break;
    case StoreKind::I64:
    case StoreKind::F64:
      assembler_.mov(mem(a, 8), Imm(value));
      break;  // sign-extended imm32
    case StoreKind::V128:
      errors_.handleError(asmjit::kErrorInvalidInstruction, "store_imm of a v128", nullptr);
      break;
  }
}

void X64Masm::lea(Reg dst, Address a, Width width) {
  assembler_.lea(gpw(dst, width), mem(a, 0));
}

void X64Masm::alu(AluOp op, Reg dst, Reg lhs, Reg rhs, Width width) {
  const x86::Gp d = gpw(dst, width);
  auto emit = [&](const x86::Gp& target, const x86::Gp& source) {
    emit_alu(assembler_, op, target, source);
  };
  if (dst == lhs) {
    emit(d, gpw(rhs, width));
  } else if (dst == rhs) {
    if (op == AluOp::Sub) {  // dst = lhs - dst  ==  -dst + lhs
      assembler_.neg(d);
      assembler_.add(d, gpw(lhs, width));
    } else {
      emit(d, gpw(lhs, width));  // the other operations commute
    }
  } else if (op == AluOp::Add) {
    assembler_.lea(d, x86::ptr(gp64(lhs), gp64(rhs)));  // three-operand add, flags untouched
  } else {
    assembler_.mov(d, gpw(lhs, width));
    emit(d, gpw(rhs, width));
  }
}

void X64Masm::alu_mem(AluOp op, Reg dst, Address rhs, Width width) {
  const x86::Gp d = gpw(dst, width);
  emit_alu(assembler_, op, d, mem(rhs, width == Width::W64 ? 8 : 4));
}

void X64Masm::alu_imm(AluOp op, Reg dst, Reg lhs, int32_t imm, Width width) {
  const x86::Gp d = gpw(dst, width);
  if (op == AluOp::Mul) {
    assembler_.imul(d, gpw(lhs, width), Imm(imm));
    return;
  }
  if (dst != lhs && op == AluOp::Add) {
    assembler_.lea(d, x86::ptr(gp64(lhs), imm));
    return;
  }
  if (dst != lhs) assembler_.mov(d, gpw(lhs, width));
  emit_alu(assembler_, op, d, Imm(imm));  // Mul returned above
}

void X64Masm::shift(ShiftOp op, Reg dst, Reg lhs, Reg count, Width width) {
  // x86 shifts take their count in cl and mask it like wasm does (mod 32 / mod 64).
  x86::Gp d = gpw(dst, width);
  x86::Gp target = d;
  if (dst == gp::rcx) target = gpw(Reg::gp(kScratch64.id()), width);  // rcx holds the count
  if (count != gp::rcx) assembler_.mov(x86::rcx, gp64(count));
  if (target.id() != lhs.id) assembler_.mov(target, gpw(lhs, width));
  switch (op) {
    case ShiftOp::Shl:
      assembler_.shl(target, x86::cl);
      break;
    case ShiftOp::ShrS:
      assembler_.sar(target, x86::cl);
      break;
    case ShiftOp::ShrU:
      assembler_.shr(target, x86::cl);
      break;
    case ShiftOp::Rotl:
      assembler_.rol(target, x86::cl);
      break;
    case ShiftOp::Rotr:
      assembler_.ror(target, x86::cl);
      break;
  }
  if (target.id() != d.id()) assembler_.mov(d, target);
}

void X64Masm::shift_imm(ShiftOp op, Reg dst, Reg lhs, uint32_t count, Width width) {
  const x86::Gp d = gpw(dst, width);
  count &= width == Width::W64 ? 63 : 31;
  if (dst != lhs) assembler_.mov(d, gpw(lhs, width));
  if (count == 0) return;
  switch (op) {
    case ShiftOp::Shl:
      assembler_.shl(d, Imm(count));
      break;
    case ShiftOp::ShrS:
      assembler_.sar(d, Imm(count));
      break;
    case ShiftOp::ShrU:
      assembler_.shr(d, Imm(count));
      break;
    case ShiftOp::Rotl:
      assembler_.rol(d, Imm(count));
      break;
    case ShiftOp::Rotr:
      assembler_.ror(d, Imm(count));
      break;
  }
}

void X64Masm::bit_count(BitCountOp op, Reg dst, Reg src, Width width) {
  const x86::Gp d = gpw(dst, width), s = gpw(src, width);
  const int bits = width == Width::W64 ? 64 : 32;
  const x86::Gp scratch = width == Width::W64 ? x86::Gp(kScratch64) : x86::Gp(kScratch32);
  switch (op) {
    case BitCountOp::Clz:
      if (has_lzcnt_) {
        assembler_.lzcnt(d, s);
      } else {  // bsr gives the index of the highest set bit; zero input -> bits
        assembler_.bsr(scratch, s);
        assembler_.mov(d, Imm(-1));
        assembler_.cmovz(scratch, d);
        assembler_.mov(d, Imm(bits - 1));
        assembler_.sub(d, scratch);
      }
      break;
    case BitCountOp::Ctz:
      if (has_tzcnt_) {
        assembler_.tzcnt(d, s);
      } else {
        assembler_.bsf(scratch, s);
        assembler_.mov(d, Imm(bits));
        assembler_.cmovnz(d, scratch);
      }
      break;
    case BitCountOp::Popcnt:
      if (has_popcnt_) {
        assembler_.popcnt(d, s);
      } else {
        // Every x86-64 CPU since 2008 has POPCNT; refuse clearly rather than emit slow code.
        errors_.handleError(asmjit::kErrorFeatureNotEnabled,
                            "i32/i64.popcnt needs a CPU with POPCNT", nullptr);
      }
      break;
  }
}

void X64Masm::div(DivOp op, Reg dst, Reg lhs, Reg rhs, Width width, uint32_t wasm_offset) {
  const bool wide = width == Width::W64;
  // rax and rdx are clobbered by the division: keep the divisor elsewhere.
  x86::Gp divisor = gpw(rhs, width);
  if (rhs == gp::rax || rhs == gp::rdx) {
    assembler_.mov(wide ? kScratch64 : kScratch32, divisor);
    divisor = wide ? x86::Gp(kScratch64) : x86::Gp(kScratch32);
  }
  const x86::Gp rax = wide ? x86::Gp(x86::rax) : x86::Gp(x86::eax);
  const x86::Gp rdx = wide ? x86::Gp(x86::rdx) : x86::Gp(x86::edx);
  const bool is_signed = op == DivOp::DivS || op == DivOp::RemS;

  assembler_.test(divisor, divisor);
  assembler_.j(x86::CondCode::kZero,
               out_of_line_trap(TrapCode::IntegerDivisionByZero, wasm_offset));

  Label done = new_label();
  if (is_signed) {
    // INT_MIN / -1 overflows (a trap for div_s, 0 for rem_s) and would fault in idiv.
    Label ordinary = new_label();
    assembler_.cmp(divisor, Imm(-1));
    assembler_.j(x86::CondCode::kNotEqual, ordinary);
    if (op == DivOp::RemS) {
      assembler_.xor_(gp32(dst), gp32(dst));
      assembler_.jmp(done);
    } else {
      if (wide) {
        // Compare lhs with INT64_MIN without a second scratch: INT64_MIN is the only value
        // for which `neg` overflows (sets OF).
        assembler_.mov(rax, gpw(lhs, width));
        assembler_.neg(rax);
        assembler_.j(x86::CondCode::kOverflow,
                     out_of_line_trap(TrapCode::IntegerOverflow, wasm_offset));
      } else {
        assembler_.cmp(gpw(lhs, width), Imm(INT32_MIN));
        assembler_.j(x86::CondCode::kEqual,
                     out_of_line_trap(TrapCode::IntegerOverflow, wasm_offset));
      }
    }
    bind(ordinary);
  }
  if (lhs != gp::rax) assembler_.mov(rax, gpw(lhs, width));
  if (is_signed) {
    wide ? assembler_.cqo() : assembler_.cdq();
    assembler_.idiv(divisor);
  } else {
    assembler_.xor_(x86::edx, x86::edx);
    assembler_.div(divisor);
  }
  const bool remainder = op == DivOp::RemS || op == DivOp::RemU;
  assembler_.mov(gpw(dst, width), remainder ? rdx : rax);
  bind(done);
}

void X64Masm::sign_extend(Reg dst, Reg src, LoadKind from) {
  switch (from) {
    case LoadKind::S8To32:
      assembler_.movsx(gp32(dst), x86::gpb(src.id));
      break;
    case LoadKind::S16To32:
      assembler_.movsx(gp32(dst), x86::gpw(src.id));
      break;
    case LoadKind::S8To64:
      assembler_.movsx(gp64(dst), x86::gpb(src.id));
      break;
    case LoadKind::S16To64:
      assembler_.movsx(gp64(dst), x86::gpw(src.id));
      break;
    case LoadKind::S32To64:
      assembler_.movsxd(gp64(dst), gp32(src));
      break;
    case LoadKind::U32To64:
      assembler_.mov(gp32(dst), gp32(src));
      break;
    default:
      errors_.handleError(asmjit::kErrorInvalidArgument, "sign_extend: not an extension", nullptr);
  }
}

void X64Masm::cmp(Reg lhs, Reg rhs, Width width) {
  assembler_.cmp(gpw(lhs, width), gpw(rhs, width));
}
void X64Masm::cmp_imm(Reg lhs, int32_t imm, Width width) {
  if (imm == 0) {
    assembler_.test(gpw(lhs, width), gpw(lhs, width));
  } else {
    assembler_.cmp(gpw(lhs, width), Imm(imm));
  }
}
void X64Masm::cmp_mem(Reg lhs, Address rhs, Width width) {
  assembler_.cmp(gpw(lhs, width), mem(rhs, width == Width::W64 ? 8 : 4));
}
void X64Masm::cmp_mem_imm(Address lhs, int32_t imm, Width width) {
  assembler_.cmp(mem(lhs, width == Width::W64 ? 8 : 4), Imm(imm));
}
void X64Masm::add_mem_imm(Address target, int32_t imm, Width width) {
  assembler_.add(mem(target, width == Width::W64 ? 8 : 4), Imm(imm));
}
void X64Masm::cmp_stack_pointer(Address limit) {
  assembler_.cmp(x86::rsp, mem(limit, 8));
}
void X64Masm::cmov(IntCond cond, Reg dst, Reg src, Width width) {
  assembler_.cmov(condition(cond), gpw(dst, width), gpw(src, width));
}

void X64Masm::test(Reg lhs, Reg rhs, Width width) {
  assembler_.test(gpw(lhs, width), gpw(rhs, width));
}

void X64Masm::set_cond(IntCond cond, Reg dst) {
  assembler_.set(condition(cond), x86::gpb(dst.id));
  assembler_.movzx(gp32(dst), x86::gpb(dst.id));
}

void X64Masm::branch(IntCond cond, Label target) {
  assembler_.j(condition(cond), target);
}
void X64Masm::jump(Label target) {
  assembler_.jmp(target);
}

void X64Masm::jump_table(Reg index, std::span<const Label> targets) {
  // A table of 32-bit offsets relative to the table itself keeps the code position-independent.
  Label table = new_label();
  assembler_.lea(kScratch64, x86::ptr(table));
  assembler_.movsxd(gp64(index), x86::dword_ptr(kScratch64, gp64(index), 2));
  assembler_.add(gp64(index), kScratch64);
  assembler_.jmp(gp64(index));
  assembler_.align(asmjit::AlignMode::kData, 4);
  bind(table);
  for (Label target : targets) assembler_.embedLabelDelta(target, table, 4);
}

void X64Masm::call(Label target) {
  assembler_.call(target);
}
void X64Masm::call_reg(Reg target) {
  assembler_.call(gp64(target));
}

void X64Masm::call_function(uint32_t callee) {
  static constexpr uint8_t kCallRel32[5] = {0xE8, 0, 0, 0, 0};
  assembler_.embed(kCallRel32, sizeof(kCallRel32));
  call_sites_.push_back({offset() - 4, callee});
}

void X64Masm::ret() {
  assembler_.ret();
}

void X64Masm::record_trap_site(TrapCode code, uint32_t wasm_offset) {
  trap_sites_.push_back({offset(), code, wasm_offset});
}

void X64Masm::trap(TrapCode code, uint32_t wasm_offset) {
  record_trap_site(code, wasm_offset);
  assembler_.ud2();
}

X64Masm::Label X64Masm::out_of_line_trap(TrapCode code, uint32_t wasm_offset) {
  Label label = new_label();
  out_of_line_traps_.push_back({label, code, wasm_offset});
  return label;
}

void X64Masm::trap_if(IntCond cond, TrapCode code, uint32_t wasm_offset) {
  assembler_.j(condition(cond), out_of_line_trap(code, wasm_offset));
}

void X64Masm::enter_frame() {
  assembler_.push(x86::rbp);
  assembler_.mov(x86::rbp, x86::rsp);
  // sub rsp, imm32 with the frame size patched in finish(): the size is known only after the
  // whole body has been compiled.
  static constexpr uint8_t kSubRspImm32[7] = {0x48, 0x81, 0xEC, 0, 0, 0, 0};
  assembler_.embed(kSubRspImm32, sizeof(kSubRspImm32));
  frame_size_patch_offset_ = offset() - 4;
}

void X64Masm::set_frame_size(uint32_t bytes) {
  frame_size_ = (bytes + 15) & ~15u;
}

void X64Masm::leave_frame() {
  assembler_.leave();
}

void X64Masm::push(Reg reg) {
  assembler_.push(gp64(reg));
}
void X64Masm::pop(Reg reg) {
  assembler_.pop(gp64(reg));
}

Result<std::vector<uint8_t>> X64Masm::finish() {
  for (const OutOfLineTrap& stub : out_of_line_traps_) {
    bind(stub.label);
    trap(stub.code, stub.wasm_offset);
  }
  out_of_line_traps_.clear();
  if (!constants_.empty()) {
    assembler_.align(asmjit::AlignMode::kData, 8);
    for (const PoolConstant& c : constants_) {
      bind(c.label);
      assembler_.embed(&c.bits, 8);
    }
    constants_.clear();
  }
  if (errors_.first != asmjit::kErrorOk) {
    return Error("x86-64 code generation failed: " + errors_.message);
  }
  if (asmjit::Error e = code_.flatten(); e != asmjit::kErrorOk) {
    return Error(std::string("x86-64 code layout failed: ") + asmjit::DebugUtils::errorAsString(e));
  }
  if (asmjit::Error e = code_.resolveUnresolvedLinks(); e != asmjit::kErrorOk) {
    return Error(std::string("x86-64 label resolution failed: ") +
                 asmjit::DebugUtils::errorAsString(e));
  }
  // Resolves label-difference expressions (jump tables). The code is position-independent, so
  // the base chosen here does not matter.
  if (asmjit::Error e = code_.relocateToBase(0); e != asmjit::kErrorOk) {
    return Error(std::string("x86-64 relocation failed: ") + asmjit::DebugUtils::errorAsString(e));
  }
  const asmjit::CodeBuffer& buffer = code_.textSection()->buffer();
  std::vector<uint8_t> bytes(buffer.data(), buffer.data() + buffer.size());
  if (frame_size_patch_offset_ != SIZE_MAX) {
    std::memcpy(bytes.data() + frame_size_patch_offset_, &frame_size_, 4);
  }
  return bytes;
}

}  // namespace kiln::jit::x64

namespace kiln::jit::x64 {

void X64Masm::call_mem(Address target) {
  assembler_.call(mem(target, 8));
}

void X64Masm::zero_frame(int32_t from, uint32_t bytes) {
  if (bytes == 0) return;
  if (bytes <= 16 * 8) {
    assembler_.xor_(kScratch32, kScratch32);
    for (uint32_t at = 0; at < bytes; at += 8) {
      assembler_.mov(x86::qword_ptr(x86::rbp, from + int32_t(at)), kScratch64);
    }
    return;
  }
  // A loop for many locals keeps the code size constant: r11 counts up from -bytes to 0.
  Label loop = new_label();
  assembler_.mov(kScratch64, Imm(-int64_t(bytes)));
  bind(loop);
  assembler_.mov(x86::qword_ptr(x86::rbp, kScratch64, 0, from + int32_t(bytes)), Imm(0));
  assembler_.add(kScratch64, Imm(8));
  assembler_.j(x86::CondCode::kNotZero, loop);
}

}  // namespace kiln::jit::x64

namespace kiln::jit::x64 {

namespace {
const x86::Xmm kXmmScratch = x86::xmm15;
}  // namespace

void X64Masm::load_fp_constant(x86::Xmm dst, double value, FpWidth width) {
  if (width == FpWidth::F32) {
    float f = float(value);
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    assembler_.mov(kScratch32, Imm(bits));
    assembler_.movd(dst, kScratch32);
  } else {
    uint64_t bits;
    std::memcpy(&bits, &value, 8);
    assembler_.mov(kScratch64, Imm(bits));
    assembler_.movq(dst, kScratch64);
  }
}

void X64Masm::fp_compare(Reg lhs, Reg rhs, FpWidth width) {
  width == FpWidth::F32 ? assembler_.ucomiss(xmm(lhs), xmm(rhs))
                        : assembler_.ucomisd(xmm(lhs), xmm(rhs));
}

void X64Masm::fp_binop(FpBinOp op, Reg dst, Reg lhs, Reg rhs, FpWidth width) {
  const bool f32 = width == FpWidth::F32;
  x86::Xmm d = xmm(dst), r = xmm(rhs);
  if (dst == rhs && dst != lhs) {
    // Two-operand SSE forms overwrite their first operand: keep rhs in the scratch.
    assembler_.movaps(kXmmScratch, r);
    r = kXmmScratch;
  }
  if (dst != lhs) assembler_.movaps(d, xmm(lhs));
  switch (op) {
    case FpBinOp::Add:
      f32 ? assembler_.addss(d, r) : assembler_.addsd(d, r);
      break;
    case FpBinOp::Sub:
      f32 ? assembler_.subss(d, r) : assembler_.subsd(d, r);
      break;
    case FpBinOp::Mul:
      f32 ? assembler_.mulss(d, r) : assembler_.mulsd(d, r);
      break;
    case FpBinOp::Div:
      f32 ? assembler_.divss(d, r) : assembler_.divsd(d, r);
      break;
    case FpBinOp::Min:
    case FpBinOp::Max: {
      // minss/maxss return the second operand for NaNs and for equal operands, so NaNs and
      // the signs of zeros are handled explicitly: NaN in -> NaN out; min(-0, +0) = -0.
      Label nan = new_label(), equal = new_label(), done = new_label();
      f32 ? assembler_.ucomiss(d, r) : assembler_.ucomisd(d, r);
      assembler_.j(x86::CondCode::kParityEven, nan);
      assembler_.j(x86::CondCode::kEqual, equal);
      if (op == FpBinOp::Min)
        f32 ? assembler_.minss(d, r) : assembler_.minsd(d, r);
      else
        f32 ? assembler_.maxss(d, r) : assembler_.maxsd(d, r);
      assembler_.jmp(done);
      bind(equal);  // equal operands: only their signs may differ (+0 / -0)
      if (op == FpBinOp::Min)
        f32 ? assembler_.orps(d, r) : assembler_.orpd(d, r);
      else
        f32 ? assembler_.andps(d, r) : assembler_.andpd(d, r);
      assembler_.jmp(done);
      bind(nan);
      f32 ? assembler_.addss(d, r) : assembler_.addsd(d, r);  // a quiet NaN
      bind(done);
      break;
    }
  }
}

void X64Masm::fp_binop_mem(FpBinOp op, Reg dst, Address rhs, FpWidth width) {
  const bool f32 = width == FpWidth::F32;
  const x86::Xmm d = xmm(dst);
  const x86::Mem m = mem(rhs, f32 ? 4 : 8);
  switch (op) {
    case FpBinOp::Add:
      f32 ? assembler_.addss(d, m) : assembler_.addsd(d, m);
      break;
    case FpBinOp::Sub:
      f32 ? assembler_.subss(d, m) : assembler_.subsd(d, m);
      break;
    case FpBinOp::Mul:
      f32 ? assembler_.mulss(d, m) : assembler_.mulsd(d, m);
      break;
    case FpBinOp::Div:
      f32 ? assembler_.divss(d, m) : assembler_.divsd(d, m);
      break;
    case FpBinOp::Min:
    case FpBinOp::Max:
      errors_.handleError(asmjit::kErrorInvalidInstruction, "fp_binop_mem: min/max", nullptr);
      break;
  }
}

x86::Mem X64Masm::constant(uint64_t bits, FpWidth width) {
  Label label;
  for (const PoolConstant& c : constants_) {
    if (c.bits == bits) label = c.label;
  }
  if (!label.isValid()) {
    label = new_label();
    constants_.push_back({bits, label});
  }
  return width == FpWidth::F32 ? x86::dword_ptr(label) : x86::qword_ptr(label);
}

void X64Masm::fp_binop_const(FpBinOp op, Reg dst, uint64_t bits, FpWidth width) {
  const bool f32 = width == FpWidth::F32;
  const x86::Xmm d = xmm(dst);
  const x86::Mem m = constant(bits, width);
  switch (op) {
    case FpBinOp::Add:
      f32 ? assembler_.addss(d, m) : assembler_.addsd(d, m);
      break;
    case FpBinOp::Sub:
      f32 ? assembler_.subss(d, m) : assembler_.subsd(d, m);
      break;
    case FpBinOp::Mul:
      f32 ? assembler_.mulss(d, m) : assembler_.mulsd(d, m);
      break;
    case FpBinOp::Div:
      f32 ? assembler_.divss(d, m) : assembler_.divsd(d, m);
      break;
    case FpBinOp::Min:
    case FpBinOp::Max:
      errors_.handleError(asmjit::kErrorInvalidInstruction, "fp_binop_const: min/max", nullptr);
      break;
  }
}

void X64Masm::load_fp_const(Reg dst, uint64_t bits, FpWidth width) {
  const bool f32 = width == FpWidth::F32;
  if ((f32 ? uint32_t(bits) : bits) == 0) {
    f32 ? assembler_.xorps(xmm(dst), xmm(dst)) : assembler_.xorpd(xmm(dst), xmm(dst));
    return;
  }
  f32 ? assembler_.movss(xmm(dst), constant(bits, width))
      : assembler_.movsd(xmm(dst), constant(bits, width));
}

void X64Masm::fp_unop(FpUnOp op, Reg dst, Reg src, FpWidth width) {
  const bool f32 = width == FpWidth::F32;
  x86::Xmm d = xmm(dst), s = xmm(src);
  switch (op) {
    case FpUnOp::Abs:
    case FpUnOp::Neg: {
      // Bit operations on the sign: exact for NaNs too, as the spec requires.
      const uint64_t sign = f32 ? 0x80000000ull : 0x8000000000000000ull;
      const uint64_t mask = op == FpUnOp::Abs ? ~sign & (f32 ? 0xFFFFFFFFull : ~0ull) : sign;
      assembler_.mov(kScratch64, Imm(mask));
      assembler_.movq(kXmmScratch, kScratch64);
      if (dst != src) assembler_.movaps(d, s);
      if (op == FpUnOp::Abs)
        assembler_.andps(d, kXmmScratch);
      else
        assembler_.xorps(d, kXmmScratch);
      break;
    }
    case FpUnOp::Sqrt:
      f32 ? assembler_.sqrtss(d, s) : assembler_.sqrtsd(d, s);
      break;
    case FpUnOp::Ceil:
    case FpUnOp::Floor:
    case FpUnOp::Trunc:
    case FpUnOp::Nearest: {
      if (!has_sse41_) {
        errors_.handleError(asmjit::kErrorFeatureNotEnabled,
                            "float rounding needs a CPU with SSE4.1", nullptr);
        return;
      }
      // Rounding-control immediates: 0 nearest-even, 1 down, 2 up, 3 toward zero; bit 3
      // suppresses the inexact exception.
      const uint32_t mode = op == FpUnOp::Nearest ? 0
                            : op == FpUnOp::Floor ? 1
                            : op == FpUnOp::Ceil  ? 2
                                                  : 3;
      f32 ? assembler_.roundss(d, s, Imm(mode | 8)) : assembler_.roundsd(d, s, Imm(mode | 8));
      break;
    }
  }
}

void X64Masm::fp_copysign(Reg dst, Reg lhs, Reg rhs, Reg temp, FpWidth width) {
  const bool f32 = width == FpWidth::F32;
  assembler_.mov(kScratch64, Imm(f32 ? 0x80000000ull : 0x8000000000000000ull));
  assembler_.movq(kXmmScratch, kScratch64);
  assembler_.movaps(xmm(temp), xmm(rhs));
  assembler_.andps(xmm(temp), kXmmScratch);  // sign of rhs
  assembler_.andnps(kXmmScratch, xmm(lhs));  // lhs without its sign
  assembler_.orps(kXmmScratch, xmm(temp));
  assembler_.movaps(xmm(dst), kXmmScratch);
}

void X64Masm::fp_set_cond(FpCond cond, Reg dst, Reg lhs, Reg rhs, FpWidth width) {
  const x86::Gp d32 = gp32(dst);
  const x86::Gp d8 = x86::gpb(dst.id);
  switch (cond) {
    case FpCond::Eq:  // ZF && !PF
      fp_compare(lhs, rhs, width);
      assembler_.setnp(kScratch64.r8());
      assembler_.sete(d8);
      assembler_.and_(d8, kScratch64.r8());
      break;
    case FpCond::Ne:  // !ZF || PF
      fp_compare(lhs, rhs, width);
      assembler_.setp(kScratch64.r8());
      assembler_.setne(d8);
      assembler_.or_(d8, kScratch64.r8());
      break;
    // "above" and "above or equal" are false for unordered operands (CF = 1).
    case FpCond::Gt:
      fp_compare(lhs, rhs, width);
      assembler_.seta(d8);
      break;
    case FpCond::Ge:
      fp_compare(lhs, rhs, width);
      assembler_.setae(d8);
      break;
    case FpCond::Lt:
      fp_compare(rhs, lhs, width);
      assembler_.seta(d8);
      break;
    case FpCond::Le:
      fp_compare(rhs, lhs, width);
      assembler_.setae(d8);
      break;
  }
  assembler_.movzx(d32, d8);
}

void X64Masm::fp_convert(Reg dst, Reg src, FpWidth to) {
  to == FpWidth::F64 ? assembler_.cvtss2sd(xmm(dst), xmm(src))
                     : assembler_.cvtsd2ss(xmm(dst), xmm(src));
}

void X64Masm::int_to_fp(Reg dst, Reg src, Width from, bool is_signed, FpWidth to) {
  const bool f32 = to == FpWidth::F32;
  x86::Xmm d = xmm(dst);
  // cvtsi2ss merges into the destination's upper lanes: clear it to break the dependency.
  assembler_.xorps(d, d);
  if (from == Width::W32) {
    // Signed: convert the 32-bit value; unsigned: the zero-extended 64-bit value is exact.
    if (is_signed)
      f32 ? assembler_.cvtsi2ss(d, gp32(src)) : assembler_.cvtsi2sd(d, gp32(src));
    else
      f32 ? assembler_.cvtsi2ss(d, gp64(src)) : assembler_.cvtsi2sd(d, gp64(src));
    return;
  }
  if (is_signed) {
    f32 ? assembler_.cvtsi2ss(d, gp64(src)) : assembler_.cvtsi2sd(d, gp64(src));
    return;
  }
  // Unsigned 64-bit: values with the top bit set are halved (keeping the low bit, so rounding
  // stays correct), converted, then doubled.
  Label big = new_label(), done = new_label();
  assembler_.test(gp64(src), gp64(src));
  assembler_.j(x86::CondCode::kSign, big);
  f32 ? assembler_.cvtsi2ss(d, gp64(src)) : assembler_.cvtsi2sd(d, gp64(src));
  assembler_.jmp(done);
  bind(big);
  assembler_.mov(kScratch64, gp64(src));
  assembler_.shr(kScratch64, Imm(1));
  assembler_.push(gp64(src));
  assembler_.and_(gp64(src), Imm(1));
  assembler_.or_(kScratch64, gp64(src));
  assembler_.pop(gp64(src));
  f32 ? assembler_.cvtsi2ss(d, kScratch64) : assembler_.cvtsi2sd(d, kScratch64);
  f32 ? assembler_.addss(d, d) : assembler_.addsd(d, d);
  bind(done);
}

void X64Masm::fp_to_int(Reg dst, Reg src, TruncKind kind, uint32_t wasm_offset) {
  const bool f32 = kind.from == FpWidth::F32;
  const bool to64 = kind.to == Width::W64;
  x86::Xmm s = xmm(src);
  auto compare_with = [&](double bound) {
    load_fp_constant(kXmmScratch, bound, kind.from);
    f32 ? assembler_.ucomiss(s, kXmmScratch) : assembler_.ucomisd(s, kXmmScratch);
  };
  // The open interval (lower, upper) of values that truncate into range. A lower bound that
  // the source type cannot represent exactly is instead inclusive (`lower_inclusive`).
  double lower, upper;
  bool lower_inclusive;
  if (kind.is_signed) {
    upper = to64 ? 9223372036854775808.0 : 2147483648.0;
    if (to64 || f32) {
      lower = to64 ? -9223372036854775808.0 : -2147483648.0;
      lower_inclusive = true;
    } else {
      lower = -2147483649.0;
      lower_inclusive = false;
    }
  } else {
    upper = to64 ? 18446744073709551616.0 : 4294967296.0;
    lower = -1.0;
    lower_inclusive = false;
  }

  Label done = new_label();
  Label nan = kind.saturating ? new_label()
                              : out_of_line_trap(TrapCode::BadConversionToInteger, wasm_offset);
  Label too_low =
      kind.saturating ? new_label() : out_of_line_trap(TrapCode::IntegerOverflow, wasm_offset);
  Label too_high = kind.saturating ? new_label() : too_low;

  f32 ? assembler_.ucomiss(s, s) : assembler_.ucomisd(s, s);
  assembler_.j(x86::CondCode::kParityEven, nan);
  compare_with(lower);
  // below: src < lower (CF); below-or-equal: src <= lower.
  assembler_.j(lower_inclusive ? x86::CondCode::kUnsignedLT : x86::CondCode::kUnsignedLE, too_low);
  compare_with(upper);
  assembler_.j(x86::CondCode::kUnsignedGE, too_high);

  // In range.
  const x86::Gp d64 = gp64(dst);
  if (kind.is_signed || !to64) {
    // Signed, or unsigned 32-bit through the 64-bit signed conversion (exact in range).
    if (kind.is_signed && !to64)
      f32 ? assembler_.cvttss2si(gp32(dst), s) : assembler_.cvttsd2si(gp32(dst), s);
    else
      f32 ? assembler_.cvttss2si(d64, s) : assembler_.cvttsd2si(d64, s);
    if (!to64) assembler_.mov(gp32(dst), gp32(dst));  // keep i32 zero-extended
  } else {
    // Unsigned 64-bit: values >= 2^63 are shifted down by 2^63 before converting.
    Label small = new_label();
    compare_with(9223372036854775808.0);
    assembler_.j(x86::CondCode::kUnsignedLT, small);
    f32 ? assembler_.subss(s, kXmmScratch) : assembler_.subsd(s, kXmmScratch);
    f32 ? assembler_.cvttss2si(d64, s) : assembler_.cvttsd2si(d64, s);
    f32 ? assembler_.addss(s, kXmmScratch) : assembler_.addsd(s, kXmmScratch);  // restore src
    assembler_.btc(d64, Imm(63));
    assembler_.jmp(done);
    bind(small);
    f32 ? assembler_.cvttss2si(d64, s) : assembler_.cvttsd2si(d64, s);
  }
  if (kind.saturating) {
    assembler_.jmp(done);
    bind(nan);
    assembler_.xor_(gp32(dst), gp32(dst));
    assembler_.jmp(done);
    bind(too_low);
    if (kind.is_signed) {
      if (to64)
        assembler_.mov(d64, Imm(INT64_MIN));
      else
        assembler_.mov(gp32(dst), Imm(uint32_t(INT32_MIN)));
    } else {
      assembler_.xor_(gp32(dst), gp32(dst));
    }
    assembler_.jmp(done);
    bind(too_high);
    if (kind.is_signed) {
      if (to64)
        assembler_.mov(d64, Imm(INT64_MAX));
      else
        assembler_.mov(gp32(dst), Imm(uint32_t(INT32_MAX)));
    } else {
      if (to64)
        assembler_.mov(d64, Imm(-1));
      else
        assembler_.mov(gp32(dst), Imm(0xFFFFFFFFu));
    }
  }
  bind(done);
}

}  // namespace kiln::jit::x64
