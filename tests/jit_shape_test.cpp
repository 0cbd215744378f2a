// The shape of emitted code, read back through Zydis: what the compiler promises about the
// instructions it picks (no bounds checks under guard pages, constants folded into
// instructions, values kept in registers instead of spilled).
#include <catch2/catch.hpp>

#include <cctype>
#include <cstdio>
#include <string>
#include <vector>

#include "decoder/decoder.hpp"
#include "jit/compiler.hpp"
#include "jit/vmcontext.hpp"
#include "text/wat.hpp"
#include "tools/disassembler.hpp"
#include "validator/validator.hpp"

using namespace kiln;

namespace {

// The disassembly of the body of function 0 of `wat` (prologue and epilogue included).
std::vector<tools::DisassembledInstruction> compile_and_disassemble(
    std::string_view wat, const jit::CompileOptions& options = {}) {
  auto binary = text::wat_to_binary(wat);
  REQUIRE(binary);
  auto module = wasm::decode_module(binary.ok());
  REQUIRE(module);
  auto types =
      wasm::validate_module_sections(module.ok(), binary.ok(), wasm::Features::all_standard());
  REQUIRE(types);
  wasm::FuncValidator validator(types.ok());
  auto compiled = jit::compile_function(types.ok(), 0, validator, options);
  REQUIRE(compiled);
  return tools::disassemble_x64(compiled.ok().code);
}

std::string listing(const std::vector<tools::DisassembledInstruction>& code) {
  std::string text;
  for (const auto& ins : code) text += ins.text + "\n";
  return text;
}

size_t count_mnemonic(const std::vector<tools::DisassembledInstruction>& code,
                      std::string_view mnemonic) {
  size_t n = 0;
  for (const auto& ins : code) n += ins.mnemonic == mnemonic;
  return n;
}

}  // namespace

TEST_CASE("i32 loads and stores under guard pages have no bounds check", "[jit][shape]") {
  auto code = compile_and_disassemble(R"(
    (module (memory 1)
      (func (param i32 i32) (result i32)
        (i32.store offset=16 (local.get 0) (local.get 1))
        (i32.load offset=8 (local.get 1))))
  )");
  INFO(listing(code));
  // The only compare is the prologue's stack check; the only conditional jump goes with it.
  CHECK(count_mnemonic(code, "cmp") == 1);
  CHECK(count_mnemonic(code, "jb") == 1);
  CHECK(count_mnemonic(code, "ja") == 0);
  CHECK(count_mnemonic(code, "jnb") == 0);
  bool store_with_offset = false, load_with_offset = false;
  for (const auto& ins : code) {
    if (ins.text.find("+0x10], ") != std::string::npos && ins.mnemonic == "mov")
      store_with_offset = true;
    if (ins.text.find("+0x08]") != std::string::npos && ins.mnemonic == "mov")
      load_with_offset = true;
  }
  CHECK(store_with_offset);  // the static offset is the instruction's displacement
  CHECK(load_with_offset);
}

TEST_CASE("a large static offset gets an explicit bounds check", "[jit][shape]") {
  auto code = compile_and_disassemble(R"(
    (module (memory 1)
      (func (param i32) (result i32) (i32.load offset=0xFFFFFFF0 (local.get 0))))
  )");
  INFO(listing(code));
  CHECK(count_mnemonic(code, "cmp") == 2);  // the stack check and the bounds check
}

TEST_CASE("accesses to a memory of 1-byte pages are bounds-checked", "[jit][shape]") {
  // Such a memory can end inside a host page, where no guard page would fault.
  auto code = compile_and_disassemble(R"(
    (module (memory 1 (pagesize 1))
      (func (param i32) (result i32) (i32.load8_u (local.get 0))))
  )");
  INFO(listing(code));
  CHECK(count_mnemonic(code, "cmp") == 2);  // the stack check and the bounds check
}

TEST_CASE("call_indirect checks the exact type inline, subtypes out of the way", "[jit][shape]") {
  auto code = compile_and_disassemble(R"(
    (module (type $t (sub (func))) (table 1 funcref)
      (func (param i32) (call_indirect (type $t) (local.get 0))))
  )");
  INFO(listing(code));
  // Calls: the subtype builtin, then the callee. The exact compare jumps over the builtin.
  REQUIRE(count_mnemonic(code, "call") == 2);
  size_t type_compare = code.size(), builtin_call = code.size();
  for (size_t i = 0; i < code.size(); ++i) {
    if (code[i].mnemonic == "call" && builtin_call == code.size()) builtin_call = i;
    if (code[i].mnemonic == "cmp" && code[i].text.find("+0x10]") != std::string::npos)
      type_compare = i;  // VMFuncRef::type_id
  }
  REQUIRE(type_compare + 1 < builtin_call);
  CHECK(code[type_compare + 1].mnemonic == "jz");
}

TEST_CASE("constant operands fold into the instruction", "[jit][shape]") {
  auto code = compile_and_disassemble(R"(
    (module (func (param i32) (result i32) (i32.add (local.get 0) (i32.const 42))))
  )");
  INFO(listing(code));
  // An add, or a lea straight from the parameter's register.
  bool folded = false;
  for (const auto& ins : code)
    if ((ins.mnemonic == "add" || ins.mnemonic == "lea") &&
        ins.text.find("0x2A") != std::string::npos)
      folded = true;
  CHECK(folded);
  // No register was loaded with the constant first.
  for (const auto& ins : code) {
    const bool loads_constant =
        ins.mnemonic == "mov" && ins.text.find(", 0x2A") != std::string::npos;
    CHECK_FALSE(loads_constant);
  }
}

TEST_CASE("two constants fold at compile time", "[jit][shape]") {
  auto code = compile_and_disassemble(R"(
    (module (func (result i32) (i32.mul (i32.const 6) (i32.const 7))))
  )");
  INFO(listing(code));
  CHECK(count_mnemonic(code, "imul") == 0);
  bool stored_42 = false;
  for (const auto& ins : code) stored_42 |= ins.text.find("0x2A") != std::string::npos;
  CHECK(stored_42);
}

TEST_CASE("compare and branch fuse into cmp + jcc", "[jit][shape]") {
  auto code = compile_and_disassemble(R"(
    (module (func (param i32) (result i32)
      (block (br_if 0 (i32.lt_s (local.get 0) (i32.const 10))))
      (i32.const 1)))
  )");
  INFO(listing(code));
  CHECK(count_mnemonic(code, "setl") == 0);
  CHECK(count_mnemonic(code, "jl") == 1);
}

TEST_CASE("values that stay in registers are not spilled", "[jit][shape]") {
  auto code = compile_and_disassemble(R"(
    (module (func (param i32 i32) (result i32)
      (i32.mul (i32.add (local.get 0) (local.get 1)) (i32.sub (local.get 0) (local.get 1)))))
  )");
  INFO(listing(code));
  // Stores: the prologue's vmctx and the result into the args area, nothing else.
  size_t stores = 0;
  for (const auto& ins : code)
    if (ins.mnemonic == "mov" && ins.text.rfind("mov [", 0) == 0) ++stores;
  CHECK(stores == 2);
}

TEST_CASE("call arguments go straight to the outgoing area", "[jit][shape]") {
  auto code = compile_and_disassemble(R"(
    (module
      (func $f (param i32) (result i32) (call $g (i32.add (local.get 0) (i32.const 1))))
      (func $g (param i32) (result i32) (local.get 0)))
  )");
  INFO(listing(code));
  bool direct = false;
  for (const auto& ins : code) direct |= ins.text.rfind("mov [rsp], r", 0) == 0;
  CHECK(direct);
}

namespace {

size_t count_containing(const std::vector<tools::DisassembledInstruction>& code,
                        std::string_view text) {
  size_t n = 0;
  for (const auto& ins : code) n += ins.text.find(text) != std::string::npos;
  return n;
}

}  // namespace

TEST_CASE("memory 0's base stays in r15 across a loop", "[jit][shape]") {
  // A loop with a load and a store per iteration: the base is loaded once, in the prologue,
  // and every access addresses through r15 (docs/jit-abi.md, "memory 0's base").
  auto code = compile_and_disassemble(R"(
    (module (memory 1)
      (func (param i32)
        (loop $l
          (i32.store (local.get 0) (i32.add (i32.load offset=4 (local.get 0)) (i32.const 1)))
          (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 4)))))))
  )");
  INFO(listing(code));
  CHECK(count_containing(code, "mov r15, [r14+0x10]") == 1);
  CHECK(count_containing(code, "[r14+0x10]") == 1);  // VMContext::memory0_base, once
  CHECK(count_containing(code, "[r15+") == 2);       // the load and the store
}

TEST_CASE("calls that may leave the instance reload memory 0's base", "[jit][shape]") {
  auto code = compile_and_disassemble(R"(
    (module (import "m" "f" (func $f)) (memory 1) (table 1 funcref)
      (func (param i32) (result i32)
        (call $f)
        (call_indirect (local.get 0))
        (call $g)
        (i32.load (local.get 0)))
      (func $g))
  )");
  INFO(listing(code));
  // The prologue, then after the import and after call_indirect; the direct call keeps it.
  CHECK(count_containing(code, "mov r15, [r14+0x10]") == 3);
  CHECK(count_containing(code, "[r15+") == 1);
}

TEST_CASE("a module without memory leaves r15 alone", "[jit][shape]") {
  auto code = compile_and_disassemble(R"(
    (module (func (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))
  )");
  INFO(listing(code));
  CHECK(count_containing(code, "r15") == 0);
}

TEST_CASE("an if's value reaches its end in a register", "[jit][shape]") {
  auto code = compile_and_disassemble(R"(
    (module (func (param i32 i32) (result i32)
      (i32.add (if (result i32) (local.get 0)
                 (then (i32.mul (local.get 1) (i32.const 3)))
                 (else (i32.const 2)))
               (i32.const 1))))
  )");
  INFO(listing(code));
  // Below rbp only the prologue's vmctx is stored: no spill slot carries the arms' value.
  CHECK(count_containing(code, "[rbp-") == 1);
}

TEST_CASE("a call's first result comes back in a register", "[jit][shape]") {
  auto code = compile_and_disassemble(R"(
    (module
      (func $f (result i32) (i32.add (call $g) (i32.const 1)))
      (func $g (result i32) (i32.const 7)))
  )");
  INFO(listing(code));
  // The argument area at rsp is not read back after the call: the result is in rax.
  CHECK(count_containing(code, "[rsp]") == 0);
  bool add_to_rax = false;
  for (const auto& ins : code) add_to_rax |= ins.text == "add eax, 0x01";
  CHECK(add_to_rax);
}

TEST_CASE("a function leaves its first result in rax or xmm0 as well as in the area",
          "[jit][shape]") {
  auto integer = compile_and_disassemble("(module (func (result i64) (i64.const 7)))");
  INFO(listing(integer));
  CHECK(count_containing(integer, "[rbp+0x10]") == 1);
  CHECK(count_containing(integer, "mov eax, 0x07") == 1);
  auto floating = compile_and_disassemble(
      "(module (func (param f64) (result f64) (f64.add (local.get 0) (local.get 0))))");
  INFO(listing(floating));
  bool result_in_xmm0 = false;
  for (const auto& ins : floating)
    result_in_xmm0 |= ins.text.rfind("addsd xmm0", 0) == 0 || ins.text.rfind("movaps xmm0", 0) == 0;
  CHECK(result_in_xmm0);
}

TEST_CASE("parameters are read from the registers they arrive in", "[jit][shape]") {
  auto code = compile_and_disassemble(R"(
    (module (func (param i32 f64) (result f64)
      (f64.add (f64.convert_i32_u (local.get 0)) (local.get 1))))
  )");
  INFO(listing(code));
  // The args area holds the parameters too, but nothing reads it: edi and xmm2 have them.
  CHECK(count_containing(code, "[rbp+0x10]") == 1);  // the result's store
  CHECK(count_containing(code, "[rbp+0x18]") == 0);
  CHECK(count_containing(code, "rdi") + count_containing(code, "edi") >= 1);
  CHECK(count_containing(code, "xmm2") >= 1);
}

TEST_CASE("a local just set is read back from its register", "[jit][shape]") {
  auto code = compile_and_disassemble(R"(
    (module (func (param i32) (result i32) (local i32)
      (local.set 1 (i32.mul (local.get 0) (local.get 0)))
      (i32.add (local.get 1) (local.tee 1 (i32.add (local.get 1) (i32.const 1))))))
  )");
  INFO(listing(code));
  // Local 1 lives at [rbp-0x10]: written (zeroed, set, tee), never read.
  size_t reads = 0;
  for (const auto& ins : code)
    reads += ins.text.find("[rbp-0x10]") != std::string::npos && ins.text.rfind("mov [", 0) != 0;
  CHECK(reads == 0);
}

TEST_CASE("call arguments also go into the parameter registers", "[jit][shape]") {
  auto code = compile_and_disassemble(R"(
    (module
      (func $f (param i32 i32) (result i32) (call $g (local.get 1) (local.get 0)))
      (func $g (param i32 i32) (result i32) (local.get 0)))
  )");
  INFO(listing(code));
  // Swapping the two parameters: each is stored into the area from its register, and one
  // register move plus one reload from the area break the cycle.
  CHECK(count_containing(code, "mov [rsp], rdx") == 1);
  CHECK(count_containing(code, "mov [rsp+0x08], rdi") == 1);
  CHECK(count_containing(code, "mov edx, edi") == 1);
  CHECK(count_containing(code, "mov edi, [rsp]") == 1);
}

TEST_CASE("operands read from locals stay where they are", "[jit][shape]") {
  auto code = compile_and_disassemble(R"(
    (module (func (param i32 i32 i32 i32 i32 f64) (result f64) (local i32 f64)
      (if (i32.lt_u (local.get 6) (i32.const 9))
        (then (local.set 6 (i32.sub (local.get 4) (local.get 6)))))
      (f64.add (local.get 7) (local.get 5))))
  )");
  INFO(listing(code));
  // Locals in no register (6 and 7 in the frame, 4 and 5 past the parameter registers) are
  // compared, subtracted and added as memory operands.
  CHECK(count_containing(code, "cmp dword ptr [rbp-0x10], 0x09") == 1);
  CHECK(count_containing(code, "sub eax, [rbp-0x10]") == 1);
  CHECK(count_containing(code, "addsd xmm0, [rbp+0x38]") == 1);
}

TEST_CASE("float constants: zero by xorpd, others from the constant pool", "[jit][shape]") {
  auto code = compile_and_disassemble(R"(
    (module (memory 1) (func (param i32 f64) (result f64)
      (f64.store (local.get 0) (f64.const 0))
      (f64.add (f64.mul (select (f64.const 0) (local.get 1) (local.get 0)) (f64.const 0.5))
               (f64.const 0.5))))
  )");
  INFO(listing(code));
  // Stored, the zero is an immediate; in a register, a zeroing idiom.
  CHECK(count_containing(code, "mov qword ptr [r15+rdi*1], 0x00") == 1);
  CHECK(count_mnemonic(code, "xorpd") == 1);
  // No constant goes through a general register (mov r11, imm64; movq xmm, r11).
  CHECK(count_containing(code, "r11") == 0);
  CHECK(count_mnemonic(code, "movq") == 0);
  // Both uses of 0.5 read one pool entry, RIP-relative.
  std::vector<std::string> pool_operands;
  for (const auto& ins : code) {
    const size_t at = ins.text.find("[0x");
    if ((ins.mnemonic == "mulsd" || ins.mnemonic == "addsd") && at != std::string::npos)
      pool_operands.push_back(ins.text.substr(at));
  }
  REQUIRE(pool_operands.size() == 2);
  CHECK(pool_operands[0] == pool_operands[1]);
}

TEST_CASE("a loop-carried local stays in a register", "[jit][shape]") {
  auto code = compile_and_disassemble(R"(
    (module (func (param i32 i32) (result i32)
      (loop $l
        (local.set 1 (i32.xor (i32.mul (local.get 1) (i32.const 31)) (local.get 0)))
        (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
      (local.get 1)))
  )");
  INFO(listing(code));
  // Both parameters stay in registers around the loop: their homes are written (write
  // through) but never read, and the back edge is one conditional jump after the moves that
  // put them back in their header registers.
  size_t reads = 0;
  for (const auto& ins : code) {
    const bool reads_home =
        ins.text.find("[rbp+0x1") != std::string::npos && ins.text.rfind("mov [", 0) != 0;
    reads += reads_home;
  }
  CHECK(reads == 0);
  CHECK(count_mnemonic(code, "jmp") == 0);
  CHECK(count_mnemonic(code, "jnz") == 1);
}

TEST_CASE("an else arm starts with the caches of its if", "[jit][shape]") {
  auto code = compile_and_disassemble(R"(
    (module (func (param i32 i32) (result i32)
      (if (result i32) (local.get 0)
        (then (i32.add (local.get 1) (i32.const 1)))
        (else (i32.sub (local.get 1) (i32.const 1))))))
  )");
  INFO(listing(code));
  CHECK(count_containing(code, "[rbp+0x18]") == 0);  // parameter 1 only in its register
}

TEST_CASE("a cached local is a memory access's index and stored value in place", "[jit][shape]") {
  auto code = compile_and_disassemble(R"(
    (module (memory 1) (func (param i32 i32) (result i32)
      (i32.store offset=8 (local.get 0) (local.get 1))
      (i32.load8_u (local.get 0))))
  )");
  INFO(listing(code));
  CHECK(count_containing(code, "mov [r15+rdi*1+0x08], edx") == 1);
  CHECK(count_containing(code, "movzx eax, byte ptr [r15+rdi*1]") == 1);
  CHECK(count_containing(code, ", edi") == 0);  // no copy of the parameter first
}

TEST_CASE("the disassembler goes on after bytes that do not decode", "[jit][shape]") {
  // 0x16 (push ss) does not exist in 64-bit mode; a jump table can hold it. The `ret` after it
  // must still be listed.
  const uint8_t code[] = {0x16, 0x16, 0xC3};
  auto listed = tools::disassemble_x64(code);
  INFO(listing(listed));
  REQUIRE(listed.size() == 3);
  CHECK(listed[0].text == "(bad)");
  CHECK(listed[1].text == "(bad)");
  CHECK(listed[1].offset == 1);
  CHECK(listed[2].mnemonic == "ret");
  CHECK(listed[2].offset == 2);
}

// Fuel and epochs (docs/fuel-epochs.md): each check reads VMContext::store (and, for epochs,
// VMContext::epoch_counter) through r14. Off, nothing of it is emitted.
TEST_CASE("Fuel and epoch checks are absent when off, present when on", "[jit][shape]") {
  constexpr std::string_view kLoop = R"(
    (module
      (func (param i32) (result i32)
        (loop
          (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
          (br_if 0 (local.get 0)))
        (local.get 0)))
  )";
  auto mentions = [](const std::vector<tools::DisassembledInstruction>& code, int32_t offset) {
    char operand[32];
    std::snprintf(operand, sizeof operand, "r14+0x%X]", unsigned(offset));
    size_t n = 0;
    for (const auto& ins : code) {
      std::string upper = ins.text;
      for (char& c : upper) c = char(std::toupper(static_cast<unsigned char>(c)));
      std::string wanted = operand;
      for (char& c : wanted) c = char(std::toupper(static_cast<unsigned char>(c)));
      n += upper.find(wanted) != std::string::npos;
    }
    return n;
  };
  auto off = compile_and_disassemble(kLoop);
  INFO("off:\n" << listing(off));
  CHECK(mentions(off, jit::vm_offsets::kStore) == 0);
  CHECK(mentions(off, jit::vm_offsets::kEpochCounter) == 0);
  CHECK(mentions(off, jit::vm_offsets::kBuiltins) == 0);
  // The loop: one conditional jump for the stack check, one for the br_if.
  CHECK(count_mnemonic(off, "jb") + count_mnemonic(off, "jnz") + count_mnemonic(off, "jz") == 2);

  jit::CompileOptions fuel;
  fuel.consume_fuel = true;
  auto fueled = compile_and_disassemble(kLoop, fuel);
  INFO("fuel:\n" << listing(fueled));
  // The counter lives in r13 for the function: loaded in the prologue, stored at the return and
  // around each slow path; checks at the entry and the header (test r13 / jnl), charges (add r13)
  // before the br_if (the back edge) and at the end.
  auto uses_r13 = [](const std::vector<tools::DisassembledInstruction>& code) {
    size_t n = 0;
    for (const auto& ins : code) n += ins.text.find("r13") != std::string::npos;
    return n;
  };
  CHECK(uses_r13(off) == 0);
  CHECK(uses_r13(fueled) >= 6);
  CHECK(mentions(fueled, jit::vm_offsets::kStore) == 6);
  CHECK(count_mnemonic(fueled, "jnl") == 2);
  CHECK(mentions(fueled, jit::vm_offsets::kEpochCounter) == 0);
  // Each check's slow path calls the interrupt stub through the builtins table.
  CHECK(mentions(fueled, jit::vm_offsets::kBuiltins) == 2);

  jit::CompileOptions epochs;
  epochs.epoch_interruption = true;
  auto interrupted = compile_and_disassemble(kLoop, epochs);
  INFO("epochs:\n" << listing(interrupted));
  // The deadline lives in r12: loaded in the prologue and after each slow path; each check
  // compares it with the engine's epoch (cmp r12, [r11] / jbe).
  CHECK(mentions(interrupted, jit::vm_offsets::kEpochCounter) == 2);
  CHECK(mentions(interrupted, jit::vm_offsets::kStore) == 3);
  CHECK(count_mnemonic(interrupted, "jbe") == 2);
  CHECK(mentions(interrupted, jit::vm_offsets::kBuiltins) == 2);
  CHECK(off.size() < interrupted.size());
}

TEST_CASE("OptLevel::None reads locals from their homes, never from a register copy",
          "[jit][shape][opt-level]") {
  constexpr std::string_view kWat = R"(
    (module (func (param i32 i32) (result i32) (local i32)
      (local.set 2 (i32.add (local.get 0) (local.get 1)))
      (i32.mul (local.get 2) (local.get 0))))
  )";
  jit::CompileOptions none;
  none.opt_level = jit::OptLevel::None;
  auto plain = compile_and_disassemble(kWat, none);
  auto speed = compile_and_disassemble(kWat);
  INFO("None:\n" << listing(plain) << "Speed:\n" << listing(speed));
  // Speed takes the parameters from the registers they arrive in (rdi, rdx) and local 2 from the
  // register local.set left it in; None loads each from its home at every read: parameters at
  // rbp+0x10 and +0x18, local 2 at rbp-0x10. (Both write the result to rbp+0x10 and zero and
  // store local 2.)
  CHECK(count_containing(speed, "[rbp+0x10]") == 1);
  CHECK(count_containing(speed, "[rbp+0x18]") == 0);
  CHECK(count_containing(speed, "[rbp-0x10]") == 2);
  CHECK(count_containing(plain, "[rbp+0x10]") == 3);
  CHECK(count_containing(plain, "[rbp+0x18]") == 1);
  CHECK(count_containing(plain, "[rbp-0x10]") == 3);
  CHECK(count_containing(plain, "edi") == 0);
  CHECK(count_containing(plain, "edx") == 0);
}
