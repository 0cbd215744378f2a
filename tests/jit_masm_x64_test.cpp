// The x86-64 MacroAssembler: the code it emits runs and computes wasm's semantics, and its bytes
// agree with xbyak's encoding of the same instructions (a second, independent encoder).
#include <catch2/catch.hpp>

#include <xbyak/xbyak.h>
#include <cstdint>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "jit/x64/masm_x64.hpp"
#include "runtime/code_memory.hpp"

using namespace kiln::jit;
using namespace kiln::jit::x64;
using kiln::runtime::CodeMemory;

namespace {

// Assembles with `emit`, maps the code executable and returns it (kept alive by the caller).
template <typename Emit>
CodeMemory assemble(Emit emit) {
  X64Masm masm;
  emit(masm);
  auto bytes = masm.finish();
  REQUIRE(bytes);
  auto code = CodeMemory::from_bytes(bytes.ok());
  REQUIRE(code);
  return std::move(code.ok());
}

template <typename Fn>
Fn entry(const CodeMemory& code) {
  return reinterpret_cast<Fn>(const_cast<uint8_t*>(code.begin()));
}

std::vector<uint8_t> masm_bytes(void (*emit)(X64Masm&)) {
  X64Masm masm;
  emit(masm);
  auto bytes = masm.finish();
  REQUIRE(bytes);
  return bytes.ok();
}

std::vector<uint8_t> xbyak_bytes(void (*emit)(Xbyak::CodeGenerator&)) {
  Xbyak::CodeGenerator gen(4096, Xbyak::DontSetProtectRWE);
  emit(gen);
  gen.ready(Xbyak::CodeGenerator::ProtectMode::PROTECT_RW);
  return std::vector<uint8_t>(gen.getCode(), gen.getCode() + gen.getSize());
}

std::string hex(const std::vector<uint8_t>& bytes) {
  std::ostringstream out;
  for (uint8_t b : bytes) out << std::hex << (b < 16 ? "0" : "") << int(b) << ' ';
  return out.str();
}

}  // namespace

TEST_CASE("compiled code runs from W^X memory", "[jit][x64]") {
  CodeMemory code = assemble([](X64Masm& m) {
    m.alu(AluOp::Add, gp::rax, gp::rdi, gp::rsi, Width::W32);
    m.ret();
  });
  CHECK(code.sealed());
  CHECK(code.writable().empty());
  auto add = entry<uint32_t (*)(uint32_t, uint32_t)>(code);
  CHECK(add(40, 2) == 42);
  CHECK(add(0xFFFFFFFF, 2) == 1);

  // The kernel agrees: the mapping is readable and executable, not writable.
  std::ifstream maps("/proc/self/maps");
  std::string line;
  bool found = false;
  auto start = reinterpret_cast<uintptr_t>(code.begin());
  while (std::getline(maps, line)) {
    uintptr_t lo = std::stoull(line.substr(0, line.find('-')), nullptr, 16);
    if (lo == start) {
      found = true;
      CHECK(line.substr(line.find(' ') + 1, 3) == "r-x");
    }
  }
  CHECK(found);
}

TEST_CASE("three-operand ALU forms compute the same as two-operand ones", "[jit][x64]") {
  for (AluOp op : {AluOp::Add, AluOp::Sub, AluOp::Mul, AluOp::And, AluOp::Or, AluOp::Xor}) {
    // dst distinct, dst == lhs, dst == rhs
    CodeMemory distinct = assemble([op](X64Masm& m) {
      m.alu(op, gp::rax, gp::rdi, gp::rsi, Width::W64);
      m.ret();
    });
    CodeMemory same_lhs = assemble([op](X64Masm& m) {
      m.alu(op, gp::rdi, gp::rdi, gp::rsi, Width::W64);
      m.mov(gp::rax, gp::rdi, Width::W64);
      m.ret();
    });
    CodeMemory same_rhs = assemble([op](X64Masm& m) {
      m.alu(op, gp::rsi, gp::rdi, gp::rsi, Width::W64);
      m.mov(gp::rax, gp::rsi, Width::W64);
      m.ret();
    });
    using Fn = uint64_t (*)(uint64_t, uint64_t);
    for (auto [a, b] : {std::pair<uint64_t, uint64_t>{7, 3}, {3, 7}, {~0ull, 5}, {1ull << 63, 2}}) {
      uint64_t expected = 0;
      switch (op) {
        case AluOp::Add:
          expected = a + b;
          break;
        case AluOp::Sub:
          expected = a - b;
          break;
        case AluOp::Mul:
          expected = a * b;
          break;
        case AluOp::And:
          expected = a & b;
          break;
        case AluOp::Or:
          expected = a | b;
          break;
        case AluOp::Xor:
          expected = a ^ b;
          break;
      }
      INFO("op " << int(op) << " a " << a << " b " << b);
      CHECK(entry<Fn>(distinct)(a, b) == expected);
      CHECK(entry<Fn>(same_lhs)(a, b) == expected);
      CHECK(entry<Fn>(same_rhs)(a, b) == expected);
    }
  }
}

TEST_CASE("division follows wasm: rem_s of INT_MIN by -1 is 0", "[jit][x64]") {
  CodeMemory rem = assemble([](X64Masm& m) {
    m.div(DivOp::RemS, gp::rcx, gp::rdi, gp::rsi, Width::W32, 0);
    m.mov(gp::rax, gp::rcx, Width::W32);
    m.ret();
  });
  CodeMemory quo = assemble([](X64Masm& m) {
    m.div(DivOp::DivS, gp::rax, gp::rdi, gp::rdx, Width::W64, 0);  // divisor in rdx
    m.ret();
  });
  CodeMemory divu = assemble([](X64Masm& m) {
    m.div(DivOp::DivU, gp::rax, gp::rdi, gp::rsi, Width::W32, 0);
    m.ret();
  });
  auto rem_s = entry<int32_t (*)(int32_t, int32_t)>(rem);
  CHECK(rem_s(std::numeric_limits<int32_t>::min(), -1) == 0);
  CHECK(rem_s(-7, 2) == -1);
  CHECK(rem_s(7, -2) == 1);
  auto div_s = entry<int64_t (*)(int64_t, int64_t, int64_t)>(quo);
  CHECK(div_s(-7, 0, 2) == -3);
  CHECK(div_s(std::numeric_limits<int64_t>::max(), 0, -1) == -std::numeric_limits<int64_t>::max());
  auto div_u = entry<uint32_t (*)(uint32_t, uint32_t)>(divu);
  CHECK(div_u(0xFFFFFFFE, 2) == 0x7FFFFFFF);
}

TEST_CASE("shifts mask their count and bit counts handle zero", "[jit][x64]") {
  CodeMemory shl = assemble([](X64Masm& m) {
    m.shift(ShiftOp::Shl, gp::rax, gp::rdi, gp::rsi, Width::W32);
    m.ret();
  });
  CHECK(entry<uint32_t (*)(uint32_t, uint32_t)>(shl)(1, 33) == 2);
  CodeMemory rotr_into_rcx = assemble([](X64Masm& m) {
    m.shift(ShiftOp::Rotr, gp::rcx, gp::rdi, gp::rsi, Width::W64);
    m.mov(gp::rax, gp::rcx, Width::W64);
    m.ret();
  });
  CHECK(entry<uint64_t (*)(uint64_t, uint64_t)>(rotr_into_rcx)(1, 1) == (1ull << 63));
  for (BitCountOp op : {BitCountOp::Clz, BitCountOp::Ctz, BitCountOp::Popcnt}) {
    CodeMemory count = assemble([op](X64Masm& m) {
      m.bit_count(op, gp::rax, gp::rdi, Width::W32);
      m.ret();
    });
    auto fn = entry<uint32_t (*)(uint32_t)>(count);
    CHECK(fn(0) == (op == BitCountOp::Popcnt ? 0u : 32u));
    CHECK(fn(0x00F0) == (op == BitCountOp::Clz ? 24u : op == BitCountOp::Ctz ? 4u : 4u));
  }
}

TEST_CASE("set_cond and branches follow the condition", "[jit][x64]") {
  for (IntCond cond : {IntCond::Eq, IntCond::Ne, IntCond::LtS, IntCond::LtU, IntCond::GtS,
                       IntCond::GtU, IntCond::LeS, IntCond::LeU, IntCond::GeS, IntCond::GeU}) {
    CodeMemory set = assemble([cond](X64Masm& m) {
      m.cmp(gp::rdi, gp::rsi, Width::W32);
      m.set_cond(cond, gp::rax);
      m.ret();
    });
    CodeMemory jump = assemble([cond](X64Masm& m) {
      auto taken = m.new_label();
      m.cmp(gp::rdi, gp::rsi, Width::W32);
      m.branch(negate(cond), taken);
      m.mov_imm(gp::rax, 1, Width::W32);
      m.ret();
      m.bind(taken);
      m.mov_imm(gp::rax, 0, Width::W32);
      m.ret();
    });
    auto holds = [cond](int32_t a, int32_t b) {
      uint32_t ua = uint32_t(a), ub = uint32_t(b);
      switch (cond) {
        case IntCond::Eq:
          return a == b;
        case IntCond::Ne:
          return a != b;
        case IntCond::LtS:
          return a < b;
        case IntCond::LtU:
          return ua < ub;
        case IntCond::GtS:
          return a > b;
        case IntCond::GtU:
          return ua > ub;
        case IntCond::LeS:
          return a <= b;
        case IntCond::LeU:
          return ua <= ub;
        case IntCond::GeS:
          return a >= b;
        case IntCond::GeU:
          return ua >= ub;
      }
      return false;
    };
    for (auto [a, b] : {std::pair<int32_t, int32_t>{1, 2}, {2, 1}, {-1, 1}, {5, 5}}) {
      INFO("cond " << int(cond) << " " << a << " " << b);
      CHECK(entry<uint32_t (*)(int32_t, int32_t)>(set)(a, b) == uint32_t(holds(a, b)));
      CHECK(entry<uint32_t (*)(int32_t, int32_t)>(jump)(a, b) == uint32_t(holds(a, b)));
    }
  }
}

TEST_CASE("jump tables dispatch on the index", "[jit][x64]") {
  CodeMemory table = assemble([](X64Masm& m) {
    X64Masm::Label cases[3] = {m.new_label(), m.new_label(), m.new_label()};
    m.mov(gp::rcx, gp::rdi, Width::W32);
    m.jump_table(gp::rcx, cases);
    for (int i = 0; i < 3; ++i) {
      m.bind(cases[i]);
      m.mov_imm(gp::rax, 100 + i, Width::W32);
      m.ret();
    }
  });
  auto fn = entry<uint32_t (*)(uint32_t)>(table);
  CHECK(fn(0) == 100);
  CHECK(fn(1) == 101);
  CHECK(fn(2) == 102);
}

TEST_CASE("a frame of patched size and memory operands", "[jit][x64]") {
  CodeMemory code = assemble([](X64Masm& m) {
    m.enter_frame();
    m.store(Address::at(gp::rbp, -8), gp::rdi, StoreKind::I64);
    m.store_imm(Address::at(gp::rbp, -16), -5, StoreKind::I32);
    m.load(gp::rax, Address::at(gp::rbp, -8), LoadKind::S8To64);
    m.load(gp::rcx, Address::at(gp::rbp, -16), LoadKind::S32To64);
    m.alu(AluOp::Add, gp::rax, gp::rax, gp::rcx, Width::W64);
    m.set_frame_size(4000);
    m.leave_frame();
    m.ret();
  });
  CHECK(entry<int64_t (*)(uint64_t)>(code)(0x1FF) == -1 - 5);
}

// Each instruction form the masm uses, against xbyak's encoding of the same instruction.
TEST_CASE("x64 masm encodings agree with xbyak", "[jit][x64][xbyak]") {
  struct Form {
    const char* name;
    void (*masm)(X64Masm&);
    void (*xbyak)(Xbyak::CodeGenerator&);
  };
  using G = Xbyak::CodeGenerator;
  const Form forms[] = {
      {"mov r32, r32", [](X64Masm& m) { m.mov(gp::rax, gp::r9, Width::W32); },
       [](G& g) { g.mov(g.eax, g.r9d); }},
      {"mov r64, r64", [](X64Masm& m) { m.mov(gp::r12, gp::rsi, Width::W64); },
       [](G& g) { g.mov(g.r12, g.rsi); }},
      {"xor r32, r32 (zero)", [](X64Masm& m) { m.mov_imm(gp::rdx, 0, Width::W64); },
       [](G& g) { g.xor_(g.edx, g.edx); }},
      {"mov r32, imm32", [](X64Masm& m) { m.mov_imm(gp::r8, 0x12345678, Width::W64); },
       [](G& g) { g.mov(g.r8d, 0x12345678); }},
      {"mov r64, simm32", [](X64Masm& m) { m.mov_imm(gp::rbx, -2, Width::W64); },
       [](G& g) { g.mov(g.rbx, -2); }},
      {"movabs r64, imm64",
       [](X64Masm& m) { m.mov_imm(gp::rcx, 0x123456789ABCDEF0ll, Width::W64); },
       [](G& g) { g.mov(g.rcx, 0x123456789ABCDEF0ull); }},
      {"mov r32, [base+index+disp]",
       [](X64Masm& m) { m.load(gp::rax, Address::indexed(gp::r15, gp::rcx, 16), LoadKind::I32); },
       [](G& g) { g.mov(g.eax, g.dword[g.r15 + g.rcx + 16]); }},
      {"movzx r32, byte",
       [](X64Masm& m) { m.load(gp::rsi, Address::at(gp::rdi, 1), LoadKind::U8To32); },
       [](G& g) { g.movzx(g.esi, g.byte[g.rdi + 1]); }},
      {"movsx r64, word",
       [](X64Masm& m) { m.load(gp::r10, Address::at(gp::rbp, -8), LoadKind::S16To64); },
       [](G& g) { g.movsx(g.r10, g.word[g.rbp - 8]); }},
      {"movsxd r64, dword",
       [](X64Masm& m) { m.load(gp::rax, Address::at(gp::r13), LoadKind::S32To64); },
       [](G& g) { g.movsxd(g.rax, g.dword[g.r13]); }},
      {"mov r64, qword",
       [](X64Masm& m) { m.load(gp::r9, Address::at(gp::rsp, 24), LoadKind::I64); },
       [](G& g) { g.mov(g.r9, g.qword[g.rsp + 24]); }},
      {"movss xmm, dword",
       [](X64Masm& m) { m.load(Reg::fp(3), Address::at(gp::rax), LoadKind::F32); },
       [](G& g) { g.movss(g.xmm3, g.dword[g.rax]); }},
      {"movsd qword, xmm",
       [](X64Masm& m) { m.store(Address::at(gp::rbx, 8), Reg::fp(9), StoreKind::F64); },
       [](G& g) { g.movsd(g.qword[g.rbx + 8], g.xmm9); }},
      {"mov byte, r8 (sil)",
       [](X64Masm& m) { m.store(Address::at(gp::rax), gp::rsi, StoreKind::I8); },
       [](G& g) { g.mov(g.byte[g.rax], g.sil); }},
      {"mov word, r16",
       [](X64Masm& m) { m.store(Address::at(gp::rax, 2), gp::r11, StoreKind::I16); },
       [](G& g) { g.mov(g.word[g.rax + 2], g.r11w); }},
      {"mov dword, imm32",
       [](X64Masm& m) { m.store_imm(Address::at(gp::rbp, -4), 7, StoreKind::I32); },
       [](G& g) { g.mov(g.dword[g.rbp - 4], 7); }},
      {"add r32, r32", [](X64Masm& m) { m.alu(AluOp::Add, gp::rax, gp::rax, gp::rcx, Width::W32); },
       [](G& g) { g.add(g.eax, g.ecx); }},
      {"lea r64 (three-operand add)",
       [](X64Masm& m) { m.alu(AluOp::Add, gp::rdx, gp::rsi, gp::rdi, Width::W64); },
       [](G& g) { g.lea(g.rdx, g.ptr[g.rsi + g.rdi]); }},
      {"sub r64, imm8", [](X64Masm& m) { m.alu_imm(AluOp::Sub, gp::rbx, gp::rbx, 8, Width::W64); },
       [](G& g) { g.sub(g.rbx, 8); }},
      {"imul r32, r32, imm32",
       [](X64Masm& m) { m.alu_imm(AluOp::Mul, gp::rax, gp::rcx, 1000, Width::W32); },
       [](G& g) { g.imul(g.eax, g.ecx, 1000); }},
      {"and r32, imm32",
       [](X64Masm& m) { m.alu_imm(AluOp::And, gp::r8, gp::r8, 0xFFFF, Width::W32); },
       [](G& g) { g.and_(g.r8d, 0xFFFF); }},
      {"shl r32, cl",
       [](X64Masm& m) { m.shift(ShiftOp::Shl, gp::rax, gp::rax, gp::rcx, Width::W32); },
       [](G& g) { g.shl(g.eax, g.cl); }},
      {"sar r64, imm8",
       [](X64Masm& m) { m.shift_imm(ShiftOp::ShrS, gp::rdx, gp::rdx, 3, Width::W64); },
       [](G& g) { g.sar(g.rdx, 3); }},
      {"rol r32, imm8",
       [](X64Masm& m) { m.shift_imm(ShiftOp::Rotl, gp::rdx, gp::rdx, 35, Width::W32); },
       [](G& g) { g.rol(g.edx, 3); }},
      {"cmp r64, r64", [](X64Masm& m) { m.cmp(gp::rax, gp::r12, Width::W64); },
       [](G& g) { g.cmp(g.rax, g.r12); }},
      {"cmp r32, imm32", [](X64Masm& m) { m.cmp_imm(gp::rsi, 1000, Width::W32); },
       [](G& g) { g.cmp(g.esi, 1000); }},
      {"test r32, r32 (cmp with 0)", [](X64Masm& m) { m.cmp_imm(gp::rsi, 0, Width::W32); },
       [](G& g) { g.test(g.esi, g.esi); }},
      {"setl + movzx", [](X64Masm& m) { m.set_cond(IntCond::LtS, gp::rdi); },
       [](G& g) {
         g.setl(g.dil);
         g.movzx(g.edi, g.dil);
       }},
      {"movsxd r64, r32", [](X64Masm& m) { m.sign_extend(gp::rax, gp::rcx, LoadKind::S32To64); },
       [](G& g) { g.movsxd(g.rax, g.ecx); }},
      {"movsx r32, r8", [](X64Masm& m) { m.sign_extend(gp::rax, gp::rdi, LoadKind::S8To32); },
       [](G& g) { g.movsx(g.eax, g.dil); }},
      {"ud2 (trap)", [](X64Masm& m) { m.trap(kiln::TrapCode::UnreachableCodeReached, 0); },
       [](G& g) { g.ud2(); }},
      {"call r64", [](X64Masm& m) { m.call_reg(gp::r11); }, [](G& g) { g.call(g.r11); }},
      {"ret", [](X64Masm& m) { m.ret(); }, [](G& g) { g.ret(); }},
      {"leave", [](X64Masm& m) { m.leave_frame(); }, [](G& g) { g.leave(); }},
      {"push r64", [](X64Masm& m) { m.push(gp::r13); }, [](G& g) { g.push(g.r13); }},
      {"pop r64", [](X64Masm& m) { m.pop(gp::rbx); }, [](G& g) { g.pop(g.rbx); }},
      {"sub rsp, r64", [](X64Masm& m) { m.alu(AluOp::Sub, gp::rsp, gp::rsp, gp::rax, Width::W64); },
       [](G& g) { g.sub(g.rsp, g.rax); }},
      {"lea rsp, [rbp+disp]",
       [](X64Masm& m) { m.lea(gp::rsp, Address::at(gp::rbp, -48), Width::W64); },
       [](G& g) { g.lea(g.rsp, g.ptr[g.rbp - 48]); }},
      {"mov qword [base+index*8], r64",
       [](X64Masm& m) {
         m.store(Address{gp::rsp, gp::rcx, 3, 0}, gp::rax, StoreKind::I64);
       },
       [](G& g) { g.mov(g.qword[g.rsp + g.rcx * 8], g.rax); }},
      {"push rbp; mov rbp, rsp; sub rsp, imm32",
       [](X64Masm& m) {
         m.enter_frame();
         m.set_frame_size(32);
       },
       [](G& g) {
         g.push(g.rbp);
         g.mov(g.rbp, g.rsp);
         g.db(0x48);  // sub rsp, imm32 (the long form the masm patches)
         g.db(0x81);
         g.db(0xEC);
         g.dd(32);
       }},
  };
  for (const Form& form : forms) {
    INFO(form.name);
    auto ours = masm_bytes(form.masm);
    auto theirs = xbyak_bytes(form.xbyak);
    CHECK(hex(ours) == hex(theirs));
  }
}

TEST_CASE("trap sites are recorded at the faulting instruction", "[jit][x64]") {
  X64Masm m;
  m.cmp_imm(gp::rax, 0, Width::W32);
  m.trap_if(IntCond::Eq, kiln::TrapCode::IntegerDivisionByZero, 77);
  m.ret();
  auto bytes = m.finish();
  REQUIRE(bytes);
  REQUIRE(m.trap_sites().size() == 1);
  const TrapSite& site = m.trap_sites()[0];
  CHECK(site.code == kiln::TrapCode::IntegerDivisionByZero);
  CHECK(site.wasm_offset == 77);
  REQUIRE(site.code_offset + 1 < bytes.ok().size());
  CHECK(bytes.ok()[site.code_offset] == 0x0F);  // ud2 = 0F 0B
  CHECK(bytes.ok()[site.code_offset + 1] == 0x0B);
}
