#include "jit/x64/trampolines.hpp"

#include "jit/vmcontext.hpp"
#include "jit/x64/masm_x64.hpp"

namespace kiln::jit::x64 {

namespace {

// The entry trampoline's frame, below its rbp (rbp itself is 16-byte aligned):
//   [rbp - 8]   the callee's VMContext* (where wasm frames keep theirs, so the host-call stub
//               and backtraces read every frame alike)
//   [rbp - 16 .. rbp - 48]  rbx, r12, r13, r14, r15
//   [rbp - 56]  values
//   [rbp - 64]  result_slots
//   [rsp ...]   the args area
constexpr int32_t kValuesSlot = -56;
constexpr int32_t kResultSlotsSlot = -64;
constexpr int32_t kLastCalleeSaved = -48;

// for (i = 0; i < count; ++i) to[i] = from[i], slots of 8 bytes. Uses r10 and rax.
void copy_slots(X64Masm& m, Reg to, Reg from, Reg count) {
  using namespace gp;
  auto loop = m.new_label();
  auto done = m.new_label();
  m.mov_imm(r10, 0, Width::W64);
  m.bind(loop);
  m.cmp(r10, count, Width::W32);
  m.branch(IntCond::GeU, done);
  m.load(rax, Address{from, r10, 3, 0}, LoadKind::I64);
  m.store(Address{to, r10, 3, 0}, rax, StoreKind::I64);
  m.alu_imm(AluOp::Add, r10, r10, 1, Width::W64);
  m.jump(loop);
  m.bind(done);
}

}  // namespace

Result<Trampolines> build_trampolines() {
  using namespace gp;
  X64Masm m;
  Trampolines out;

  // ---- entry: rdi = code, rsi = vmctx, rdx = values, ecx = param slots, r8d = result slots,
  // r9 = record.
  out.entry_offset = m.offset();
  m.push(rbp);
  m.mov(rbp, rsp, Width::W64);
  m.push(rsi);
  m.push(rbx);
  m.push(r12);
  m.push(r13);
  m.push(r14);
  m.push(r15);
  m.push(rdx);
  m.push(r8);
  m.store(Address::at(r9, kEntryRecordSavedRsp), rsp, StoreKind::I64);
  m.store(Address::at(r9, kEntryRecordSavedRbp), rbp, StoreKind::I64);
  // Args area: max(param, result) slots, rounded up to 16 bytes so rsp stays aligned.
  auto params_larger = m.new_label();
  m.mov(rax, rcx, Width::W32);
  m.cmp(rax, r8, Width::W32);
  m.branch(IntCond::GeU, params_larger);
  m.mov(rax, r8, Width::W32);
  m.bind(params_larger);
  m.shift_imm(ShiftOp::Shl, rax, rax, 3, Width::W64);
  m.alu_imm(AluOp::Add, rax, rax, 15, Width::W64);
  m.alu_imm(AluOp::And, rax, rax, -16, Width::W64);
  m.alu(AluOp::Sub, rsp, rsp, rax, Width::W64);
  copy_slots(m, rsp, rdx, rcx);
  // The first parameters also travel in registers, by class, which the trampoline does not
  // know: each of the first slots goes into both. Slots past the parameters hold garbage, which
  // the callee ignores (and the reads stay inside this frame).
  m.mov(r11, rdi, Width::W64);
  for (uint32_t i = 0; i < X64Masm::kRegisterParams; ++i) {
    m.load(X64Masm::kParamGp[i], Address::at(rsp, 8 * int32_t(i)), LoadKind::I64);
    m.load(X64Masm::kParamFp[i], Address::at(rsp, 8 * int32_t(i)), LoadKind::F64);
  }
  m.mov(r14, rsi, Width::W64);
  m.call_reg(r11);
  m.load(rdx, Address::at(rbp, kValuesSlot), LoadKind::I64);
  m.load(r8, Address::at(rbp, kResultSlotsSlot), LoadKind::I64);
  copy_slots(m, rdx, rsp, r8);
  m.mov_imm(rax, 0, Width::W32);
  auto epilogue = m.new_label();
  m.bind(epilogue);
  m.lea(rsp, Address::at(rbp, kLastCalleeSaved), Width::W64);
  m.pop(r15);
  m.pop(r14);
  m.pop(r13);
  m.pop(r12);
  m.pop(rbx);
  m.leave_frame();
  m.ret();

  // ---- trap landing: the signal handler set rsp and rbp to the entry's recorded values.
  out.trap_landing_offset = m.offset();
  m.mov_imm(rax, 1, Width::W32);
  m.jump(epilogue);

  // ---- host-call stub: r14 = host function data, args area at [rsp + 8].
  out.host_stub_offset = m.offset();
  m.push(rbp);
  m.mov(rbp, rsp, Width::W64);
  m.load(rax, Address::at(rbp, 0), LoadKind::I64);   // the caller's frame
  m.load(rdi, Address::at(rax, -8), LoadKind::I64);  // its VMContext*
  m.mov(rsi, r14, Width::W64);
  m.lea(rdx, Address::at(rbp, 16), Width::W64);
  m.load(rax, Address::at(rsi, 0), LoadKind::I64);  // data->callback
  m.call_reg(rax);
  auto failed = m.new_label();
  m.test(rax, rax, Width::W32);
  m.branch(IntCond::Ne, failed);
  // Wasm callers take the first result from a register, rax or xmm0 by its type, which the
  // stub does not know: it loads both from slot 0.
  m.load(X64Masm::kReturnGp, Address::at(rbp, 16), LoadKind::I64);
  m.load(X64Masm::kReturnFp, Address::at(rbp, 16), LoadKind::F64);
  m.leave_frame();
  m.ret();
  m.bind(failed);
  out.host_stub_trap_offset = m.offset();
  m.trap(TrapCode::UnreachableCodeReached, 0);  // the runtime substitutes the recorded code

  // ---- interrupt stub: called from a fuel or epoch check with r14 = the caller's VMContext and
  // rsp 16-byte aligned at the call. Every register compiled code may hold a value in is saved:
  // the general-purpose ones the System V callee may clobber, and the low 64 bits of each xmm
  // (the JIT keeps only f32/f64 there). A frame like the host-call stub's, so backtraces walk
  // through it to the wasm caller.
  out.interrupt_stub_offset = m.offset();
  static constexpr Reg kSaved[] = {rax, rcx, rdx, rsi, rdi, r8, r9, r10, r11};
  constexpr uint32_t kXmmCount = 16;
  // After push rbp, 9 pushes (72 bytes) + 136 keep rsp 16-byte aligned for the call.
  constexpr int32_t kXmmArea = 8 * kXmmCount + 8;
  m.push(rbp);
  m.mov(rbp, rsp, Width::W64);
  for (Reg r : kSaved) m.push(r);
  m.alu_imm(AluOp::Sub, rsp, rsp, kXmmArea, Width::W64);
  for (uint8_t i = 0; i < kXmmCount; ++i)
    m.store(Address::at(rsp, 8 * i), Reg::fp(i), StoreKind::F64);
  m.mov(rdi, r14, Width::W64);
  m.load(rax, Address::at(r14, vm_offsets::kBuiltins), LoadKind::I64);
  m.call_mem(Address::at(rax, 8 * int32_t(Builtin::InterruptCheck)));
  m.test(rax, rax, Width::W32);
  m.branch(IntCond::Ne, failed);
  for (uint8_t i = 0; i < kXmmCount; ++i)
    m.load(Reg::fp(i), Address::at(rsp, 8 * i), LoadKind::F64);
  m.alu_imm(AluOp::Add, rsp, rsp, kXmmArea, Width::W64);
  for (size_t i = std::size(kSaved); i-- > 0;) m.pop(kSaved[i]);
  m.pop(rbp);
  m.ret();

  auto bytes = m.finish();
  if (!bytes) return std::move(bytes.err());
  out.code = std::move(bytes.ok());
  return out;
}

}  // namespace kiln::jit::x64
