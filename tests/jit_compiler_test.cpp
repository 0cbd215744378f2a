// The single-pass compiler end to end, without the runtime: WAT -> binary -> validate ->
// compile_function for every function -> lay the code out -> call through a small entry
// trampoline built here with the masm. Results are checked against values computed in C++.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "decoder/decoder.hpp"
#include "jit/compiler.hpp"
#include "jit/vmcontext.hpp"
#include "jit/x64/masm_x64.hpp"
#include "runtime/code_memory.hpp"
#include "text/wat.hpp"
#include "validator/validator.hpp"

using namespace kiln;
using namespace kiln::jit;
using namespace kiln::jit::x64;

namespace {

// A module compiled and laid out in one executable region, with a VMContext that has one
// 64 KiB memory and a few globals — enough to run functions that do not import anything.
class TestModule {
 public:
  explicit TestModule(std::string_view wat) {
    auto binary = text::wat_to_binary(wat);
    REQUIRE(binary);
    bytes_ = std::move(binary.ok());
    auto info = wasm::decode_module(bytes_, wasm::Features::all_standard());
    REQUIRE(info);
    info_ = std::make_unique<wasm::ModuleInfo>(std::move(info.ok()));
    auto types = wasm::validate_module_sections(*info_, bytes_, wasm::Features::all_standard());
    REQUIRE(types);
    types_ = std::make_unique<wasm::ModuleTypes>(std::move(types.ok()));
    CompileScratch scratch(*types_);  // as the runtime compiles a module: one for all functions

    std::vector<uint8_t> code;
    std::vector<CallSite> calls;
    for (uint32_t i = 0; i < info_->bodies.size(); ++i) {
      auto compiled = compile_function(i, scratch);
      if (!compiled) FAIL(compiled.err().to_string());
      while (code.size() % 16) code.push_back(0xCC);
      offsets_.push_back(uint32_t(code.size()));
      for (CallSite site : compiled.ok().call_sites)
        calls.push_back({uint32_t(code.size()) + site.rel32_offset, site.callee});
      code.insert(code.end(), compiled.ok().code.begin(), compiled.ok().code.end());
    }
    for (CallSite site : calls) {  // direct calls: rel32 from the end of the call instruction
      int32_t rel =
          int32_t(offsets_[site.callee - info_->imported_funcs]) - int32_t(site.rel32_offset + 4);
      std::memcpy(code.data() + site.rel32_offset, &rel, 4);
    }
    auto memory = runtime::CodeMemory::from_bytes(code);
    REQUIRE(memory);
    code_ = std::move(memory.ok());

    memory_.assign(65536, 0);
    memory_def_ = {memory_.data(), memory_.size()};
    memory_list_ = &memory_def_;
    for (auto& cell : global_cells_) std::memset(&cell, 0, sizeof(cell));
    for (size_t i = 0; i < global_cells_.size(); ++i) global_ptrs_[i] = &global_cells_[i];
    vmctx_.magic = kVMContextMagic;
    vmctx_.stack_limit = 0;
    vmctx_.memory0_base = memory_.data();
    vmctx_.memory0 = &memory_def_;
    vmctx_.memories = &memory_list_;
    vmctx_.globals = global_ptrs_.data();
  }

  // Calls exported-by-index function `func` with 64-bit argument slots; returns result slots.
  std::vector<uint64_t> call(uint32_t func, std::vector<uint64_t> args) {
    const wasm::FuncType& type = info_->func_type_of(func);
    REQUIRE(args.size() == type.params.size());
    const uint32_t slots = uint32_t(std::max(type.params.size(), type.results.size()));
    args.resize(std::max<size_t>(slots, 1));
    auto trampoline = make_trampoline(slots);
    using Entry = void (*)(const uint8_t*, VMContext*, uint64_t*);
    auto entry = reinterpret_cast<Entry>(const_cast<uint8_t*>(trampoline.begin()));
    entry(code_.begin() + offsets_[func - info_->imported_funcs], &vmctx_, args.data());
    args.resize(type.results.size());
    return args;
  }
  uint64_t call1(uint32_t func, std::vector<uint64_t> args) { return call(func, args).at(0); }

  std::vector<uint8_t>& memory() { return memory_; }

 private:
  // entry(code, vmctx, values): saves the callee-saved registers, copies `slots` values into
  // the args area, calls, copies the results back.
  static runtime::CodeMemory make_trampoline(uint32_t slots) {
    X64Masm m;
    const Reg saved[] = {gp::rbx, gp::r12, gp::r13, gp::r14, gp::r15, gp::rdx};
    m.enter_frame();
    for (int i = 0; i < 6; ++i)
      m.store(Address::at(gp::rbp, -8 * (i + 1)), saved[i], StoreKind::I64);
    for (uint32_t i = 0; i < slots; ++i) {
      m.load(gp::r11, Address::at(gp::rdx, 8 * int32_t(i)), LoadKind::I64);
      m.store(Address::at(gp::rsp, 8 * int32_t(i)), gp::r11, StoreKind::I64);
    }
    m.mov(gp::r11, gp::rdi, Width::W64);
    for (uint32_t i = 0; i < X64Masm::kRegisterParams; ++i) {  // docs/jit-abi.md
      m.load(X64Masm::kParamGp[i], Address::at(gp::rsp, 8 * int32_t(i)), LoadKind::I64);
      m.load(X64Masm::kParamFp[i], Address::at(gp::rsp, 8 * int32_t(i)), LoadKind::F64);
    }
    m.mov(gp::r14, gp::rsi, Width::W64);
    m.call_reg(gp::r11);
    m.load(gp::rdx, Address::at(gp::rbp, -48), LoadKind::I64);
    for (uint32_t i = 0; i < slots; ++i) {
      m.load(gp::r11, Address::at(gp::rsp, 8 * int32_t(i)), LoadKind::I64);
      m.store(Address::at(gp::rdx, 8 * int32_t(i)), gp::r11, StoreKind::I64);
    }
    for (int i = 0; i < 5; ++i) m.load(saved[i], Address::at(gp::rbp, -8 * (i + 1)), LoadKind::I64);
    m.set_frame_size(48 + 8 * slots);
    m.leave_frame();
    m.ret();
    auto bytes = m.finish();
    REQUIRE(bytes);
    auto code = runtime::CodeMemory::from_bytes(bytes.ok());
    REQUIRE(code);
    return std::move(code.ok());
  }

  std::vector<uint8_t> bytes_;
  std::unique_ptr<wasm::ModuleInfo> info_;
  std::unique_ptr<wasm::ModuleTypes> types_;
  std::vector<uint32_t> offsets_;
  runtime::CodeMemory code_;
  std::vector<uint8_t> memory_;
  VMMemory memory_def_{};
  VMMemory* memory_list_ = nullptr;
  std::array<VMGlobal, 4> global_cells_{};
  std::array<VMGlobal*, 4> global_ptrs_{};
  VMContext vmctx_{};
};

uint64_t u(int64_t v) {
  return uint64_t(v);
}
uint64_t u32(int32_t v) {
  return uint64_t(uint32_t(v));
}

}  // namespace

TEST_CASE("compiled arithmetic, locals and constants", "[jit][compiler]") {
  TestModule m(R"(
    (module
      (func (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
      (func (param i32 i32) (result i32) (i32.sub (local.get 0) (local.get 1)))
      (func (param i64 i64) (result i64) (i64.mul (local.get 0) (local.get 1)))
      (func (param i32) (result i32) (i32.add (i32.mul (local.get 0) (i32.const 10)) (i32.const 7)))
      (func (result i32) (i32.add (i32.const 40) (i32.const 2)))
      (func (param i32 i32) (result i32) (local i32)
        (local.set 2 (i32.xor (local.get 0) (local.get 1)))
        (i32.or (local.get 2) (i32.shl (local.get 0) (local.get 1))))
      (func (param i64) (result i64) (i64.rotr (local.get 0) (i64.const 8)))
      (func (param i32) (result i32) (i32.popcnt (local.get 0)))
      (func (param i64) (result i64) (i64.clz (local.get 0)))
      (func (param i32) (result i64) (i64.extend_i32_s (local.get 0)))
      (func (param i64) (result i32) (i32.wrap_i64 (local.get 0)))
      (func (param i32) (result i32) (i32.extend8_s (local.get 0)))
      ;; a value read lazily from a local, then the local changes: the old value is used
      (func (param i32) (result i32)
        (local.get 0) (local.set 0 (i32.const 100)) (local.get 0) (i32.sub))
    ))");
  CHECK(m.call1(0, {40, 2}) == 42);
  CHECK(m.call1(0, {0xFFFFFFFF, 2}) == 1);
  CHECK(m.call1(1, {2, 5}) == u32(-3));
  CHECK(m.call1(2, {u(-3), 7}) == u(-21));
  CHECK(m.call1(3, {5}) == 57);
  CHECK(m.call1(4, {}) == 42);
  CHECK(m.call1(5, {6, 3}) == ((6u ^ 3u) | (6u << 3)));
  CHECK(m.call1(6, {0x1122334455667788ull}) == 0x8811223344556677ull);
  CHECK(m.call1(7, {0xF0F0}) == 8);
  CHECK(m.call1(8, {1}) == 63);
  CHECK(m.call1(9, {u32(-5)}) == u(-5));
  CHECK(m.call1(10, {0x123456789ull}) == 0x23456789ull);
  CHECK(m.call1(11, {0x80}) == u32(-128));
  CHECK(m.call1(12, {7}) == u32(7 - 100));
}

TEST_CASE("compiled control flow: blocks, loops, branches, if, br_table, select",
          "[jit][compiler]") {
  TestModule m(R"(
    (module
      ;; sum 1..n with a loop and br_if
      (func (param i32) (result i32) (local i32)
        (block $done
          (loop $next
            (br_if $done (i32.eqz (local.get 0)))
            (local.set 1 (i32.add (local.get 1) (local.get 0)))
            (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
            (br $next)))
        (local.get 1))
      ;; if/else with a result
      (func (param i32) (result i32)
        (if (result i32) (i32.lt_s (local.get 0) (i32.const 10))
          (then (i32.const 1)) (else (i32.const 2))))
      ;; br_table
      (func (param i32) (result i32)
        (block $c (block $b (block $a
          (br_table $a $b $c (local.get 0)))
          (return (i32.const 100)))
          (return (i32.const 101)))
        (i32.const 102))
      ;; select, both ways
      (func (param i32 i32 i32) (result i32)
        (select (local.get 0) (local.get 1) (local.get 2)))
      ;; a block result through a branch that carries a value
      (func (param i32) (result i32)
        (block (result i32)
          (br_if 0 (i32.const 7) (local.get 0))
          (drop)
          (i32.const 8)))
      ;; multi-value: a block with params and two results, a function with two results
      (func (param i32 i32) (result i32 i32)
        (local.get 0) (local.get 1)
        (block (param i32 i32) (result i32 i32)
          (i32.add) (i32.const 3)))
      ;; if with params takes the else arm from the original params
      (func (param i32) (result i32)
        (i32.const 10) (i32.const 20)
        (if (param i32 i32) (result i32) (local.get 0)
          (then (i32.sub)) (else (i32.add))))
      ;; return from inside nested blocks with the lazy parameter read
      (func (param i32 i32) (result i32 i32)
        (block (block (return (local.get 1) (local.get 0)))) (unreachable))
      ;; compare results used as values
      (func (param i64 i64) (result i32)
        (i32.add (i64.lt_u (local.get 0) (local.get 1)) (i64.ge_s (local.get 0) (local.get 1))))
    ))");
  CHECK(m.call1(0, {10}) == 55);
  CHECK(m.call1(0, {0}) == 0);
  CHECK(m.call1(1, {5}) == 1);
  CHECK(m.call1(1, {50}) == 2);
  CHECK(m.call1(2, {0}) == 100);
  CHECK(m.call1(2, {1}) == 101);
  CHECK(m.call1(2, {2}) == 102);
  CHECK(m.call1(2, {99}) == 102);
  CHECK(m.call1(3, {11, 22, 1}) == 11);
  CHECK(m.call1(3, {11, 22, 0}) == 22);
  CHECK(m.call1(4, {1}) == 7);
  CHECK(m.call1(4, {0}) == 8);
  CHECK(m.call(5, {4, 5}) == std::vector<uint64_t>{9, 3});
  CHECK(m.call1(6, {1}) == u32(-10));
  CHECK(m.call1(6, {0}) == 30);
  CHECK(m.call(7, {1, 2}) == std::vector<uint64_t>{2, 1});
  CHECK(m.call1(8, {1, 2}) == 1);
  CHECK(m.call1(8, {u(-1), 2}) == 0);
  CHECK(m.call1(8, {3, 2}) == 1);
}

TEST_CASE("compiled calls: recursion and many arguments", "[jit][compiler]") {
  TestModule m(R"(
    (module
      (func $fib (param i32) (result i32)
        (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
          (then (local.get 0))
          (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                         (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
      (func $sum8 (param i32 i64 i32 i64 i32 i64 i32 i64) (result i64)
        (i64.add (i64.add (i64.add (i64.extend_i32_u (local.get 0)) (local.get 1))
                          (i64.add (i64.extend_i32_u (local.get 2)) (local.get 3)))
                 (i64.add (i64.add (i64.extend_i32_u (local.get 4)) (local.get 5))
                          (i64.add (i64.extend_i32_u (local.get 6)) (local.get 7)))))
      (func (result i64)
        (call $sum8 (i32.const 1) (i64.const 2) (i32.const 3) (i64.const 4)
                    (i32.const 5) (i64.const 6) (i32.const 7) (i64.const 0x100000000)))
      (func $pair (result i32 i64) (i32.const 1) (i64.const 2))
      (func (result i64) (local i64)
        (call $pair) (local.set 0) (i64.extend_i32_u) (local.get 0) (i64.add))
    ))");
  CHECK(m.call1(0, {20}) == 6765);
  CHECK(m.call1(2, {}) == 1 + 2 + 3 + 4 + 5 + 6 + 7 + 0x100000000ull);
  CHECK(m.call1(4, {}) == 3);
}

TEST_CASE("compiled calls: arguments in registers, shuffled and mixed", "[jit][compiler]") {
  // The first four parameters travel in registers (docs/jit-abi.md) and start cached there:
  // passing a function's own parameters on in another order is a parallel move with cycles.
  TestModule m(R"(
    (module
      (func $mix (param i32 i32 f64 i64) (result f64)
        (f64.add (f64.mul (local.get 2) (f64.const 10))
                 (f64.convert_i64_s (i64.add (i64.mul (i64.extend_i32_u (local.get 0))
                                                      (i64.const 1000))
                                             (i64.add (i64.mul (i64.extend_i32_u (local.get 1))
                                                               (i64.const 100))
                                                      (local.get 3))))))
      ;; (a, b, x, c) -> mix(b, a, x, c): a swap of the two i32 registers
      (func (param i32 i32 f64 i64) (result f64)
        (call $mix (local.get 1) (local.get 0) (local.get 2) (local.get 3)))
      ;; a three-cycle through values computed in registers, then the parameters changed after
      ;; the call (their caches are gone: the homes must be current)
      (func $rot (param i32 i32 i32) (result i32)
        (i32.add (i32.add (i32.mul (local.get 0) (i32.const 100)) (i32.mul (local.get 1) (i32.const 10)))
                 (local.get 2)))
      (func (param i32 i32 i32) (result i32)
        (i32.add (call $rot (local.get 1) (local.get 2) (local.get 0))
                 (i32.mul (local.tee 0 (i32.add (local.get 0) (i32.const 1))) (i32.const 1000))))
      ;; a parameter set in a loop, passed each time around
      (func (param i32) (result i32) (local i32)
        (block $done
          (loop $l
            (br_if $done (i32.eqz (local.get 0)))
            (local.set 1 (call $rot (local.get 1) (local.get 0) (i32.const 1)))
            (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
            (br $l)))
        (local.get 1))
    ))");
  auto f64_bits = [](double d) {
    uint64_t u;
    std::memcpy(&u, &d, 8);
    return u;
  };
  auto as_f64 = [](uint64_t u) {
    double d;
    std::memcpy(&d, &u, 8);
    return d;
  };
  CHECK(as_f64(m.call1(0, {1, 2, f64_bits(0.5), 3})) == 1203 + 5);
  CHECK(as_f64(m.call1(1, {1, 2, f64_bits(0.5), 3})) == 2103 + 5);
  CHECK(m.call1(3, {1, 2, 3}) == 231 + 2000);
  // x = rot(x, n, 1) for n = 3, 2, 1: x = 100x + 10n + 1
  CHECK(m.call1(4, {3}) == ((0 * 100 + 31) * 100 + 21) * 100 + 11);
}

TEST_CASE("compiled loops keep locals in registers across back edges", "[jit][compiler]") {
  // A loop header keeps the local caches it was entered with; every back edge puts them back
  // (a parallel move: swapping two locals is a cycle). Calls and merges inside the loop drop
  // the caches, so back edges must also reload locals from their homes.
  TestModule m(R"(
    (module
      ;; Fibonacci by swapping a and b each time around: (a, b) = (b, a + b)
      (func (param i32) (result i32) (local i32 i32 i32)
        (local.set 1 (i32.const 0))
        (local.set 2 (i32.const 1))
        (local.set 1 (i32.add (local.get 1) (i32.const 0)))  ;; cached on entry
        (local.set 2 (i32.add (local.get 2) (i32.const 0)))
        (block $done
          (loop $l
            (br_if $done (i32.eqz (local.get 0)))
            (local.set 3 (i32.add (local.get 1) (local.get 2)))
            (local.set 1 (local.get 2))
            (local.set 2 (local.get 3))
            (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
            (br $l)))
        (local.get 1))
      (func $id (param i32) (result i32) (local.get 0))
      ;; a call and an if/else inside the loop; the back edge is a br_if
      (func (param i32) (result i32) (local i32)
        (local.set 1 (i32.add (local.get 0) (i32.const 0)))
        (loop $l
          (local.set 1 (i32.add (local.get 1)
                                (if (result i32) (i32.and (local.get 0) (i32.const 1))
                                  (then (call $id (i32.const 3)))
                                  (else (i32.const 5)))))
          (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
          (br_if $l (local.get 0)))
        (local.get 1))
      ;; nested loops: the inner one branches to the outer header
      (func (param i32) (result i64) (local i32 i64)
        (local.set 2 (i64.extend_i32_u (local.get 0)))
        (loop $outer
          (local.set 1 (local.get 0))
          (loop $inner
            (local.set 2 (i64.add (i64.mul (local.get 2) (i64.const 3)) (i64.extend_i32_u (local.get 1))))
            (local.set 1 (i32.sub (local.get 1) (i32.const 1)))
            (br_if $inner (i32.gt_u (local.get 1) (i32.const 2)))
            (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
            (br_if $outer (local.get 0))))
        (local.get 2))
    ))");
  auto fib = [](uint32_t n) {
    uint32_t a = 0, b = 1;
    for (; n; --n) {
      const uint32_t t = a + b;
      a = b;
      b = t;
    }
    return a;
  };
  CHECK(m.call1(0, {0}) == fib(0));
  CHECK(m.call1(0, {1}) == fib(1));
  CHECK(m.call1(0, {30}) == fib(30));
  auto with_call = [](uint32_t n) {
    uint32_t acc = n;
    do {
      acc += (n & 1) ? 3 : 5;
      --n;
    } while (n);
    return acc;
  };
  CHECK(m.call1(2, {7}) == with_call(7));
  CHECK(m.call1(2, {10}) == with_call(10));
  auto nested = [](uint32_t n) {
    uint64_t x = n;
    do {
      uint32_t i = n;
      do {
        x = x * 3 + i;
        --i;
      } while (i > 2);
      --n;
    } while (n);
    return x;
  };
  CHECK(m.call1(3, {6}) == nested(6));
}

TEST_CASE("compiled local caches under register pressure", "[jit][compiler]") {
  // Twelve values live on the stack while a select compares two cached locals: the select's
  // allocations must spill values and drop caches, never reuse the registers the pending compare
  // reads. A br_table whose arms branch back to a loop restores its caches on each side path.
  TestModule m(R"(
    (module
      (func (param i32 i32) (result i32) (local i32 i32)
        (local.set 2 (i32.add (local.get 0) (i32.const 0)))
        (local.set 3 (i32.add (local.get 1) (i32.const 0)))
        (i32.add (local.get 0) (i32.const 1)) (i32.add (local.get 0) (i32.const 2))
        (i32.add (local.get 0) (i32.const 3)) (i32.add (local.get 0) (i32.const 4))
        (i32.add (local.get 0) (i32.const 5)) (i32.add (local.get 0) (i32.const 6))
        (i32.add (local.get 0) (i32.const 7)) (i32.add (local.get 0) (i32.const 8))
        (i32.add (local.get 0) (i32.const 9)) (i32.add (local.get 0) (i32.const 10))
        (i32.add (local.get 0) (i32.const 11)) (i32.add (local.get 0) (i32.const 12))
        (select (i32.mul (local.get 2) (i32.const 100)) (i32.mul (local.get 3) (i32.const 100))
                (i32.lt_u (local.get 2) (local.get 3)))
        (i32.add) (i32.add) (i32.add) (i32.add) (i32.add) (i32.add)
        (i32.add) (i32.add) (i32.add) (i32.add) (i32.add) (i32.add))
      (func (param i32) (result i32) (local i32 i32)
        (local.set 1 (i32.add (local.get 0) (i32.const 0)))
        (local.set 2 (i32.add (local.get 0) (i32.const 0)))
        (block $out
          (loop $l
            (local.set 1 (i32.sub (local.get 1) (i32.const 1)))
            (local.set 2 (i32.add (local.get 2) (local.get 1)))
            (br_table $l $out $l (i32.rem_u (local.get 1) (i32.const 3)))))
        (local.get 2))
    ))");
  auto pressure = [](uint32_t a, uint32_t b) {
    uint32_t sum = 0;
    for (uint32_t i = 1; i <= 12; ++i) sum += a + i;
    return sum + (a < b ? a * 100 : b * 100);
  };
  CHECK(m.call1(0, {3, 9}) == pressure(3, 9));
  CHECK(m.call1(0, {9, 3}) == pressure(9, 3));
  auto table = [](uint32_t n) {
    uint32_t a = n, b = n;
    do {
      a -= 1;
      b += a;
    } while (a % 3 != 1);
    return b;
  };
  CHECK(m.call1(1, {20}) == table(20));
  CHECK(m.call1(1, {8}) == table(8));
}

TEST_CASE("compiled memory accesses and division", "[jit][compiler]") {
  TestModule m(R"(
    (module
      (memory 1)
      (func (param i32 i32) (i32.store offset=4 (local.get 0) (local.get 1)))
      (func (param i32) (result i32) (i32.load offset=4 (local.get 0)))
      (func (param i32) (result i64) (i64.load8_s (local.get 0)))
      (func (param i32) (result i32) (i32.load16_u offset=1 (local.get 0)))
      (func (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
      (func (param i64 i64) (result i64) (i64.rem_u (local.get 0) (local.get 1)))
      (func (result i32) (memory.size))
    ))");
  m.call(0, {100, 0xDEADBEEF});
  CHECK(m.memory()[104] == 0xEF);
  CHECK(m.call1(1, {100}) == 0xDEADBEEF);
  CHECK(m.call1(2, {105}) == u(int8_t(0xBE)));
  CHECK(m.call1(3, {104}) == 0xADBE);
  CHECK(m.call1(4, {u32(-7), 2}) == u32(-3));
  CHECK(m.call1(5, {100, 7}) == 2);
  CHECK(m.call1(6, {}) == 1);
}

TEST_CASE("compiled ref.eq compares references by identity", "[jit][compiler][gc]") {
  TestModule m(R"(
    (module
      (func (param eqref eqref) (result i32) (ref.eq (local.get 0) (local.get 1)))
      (func (param eqref) (result i32) (ref.eq (local.get 0) (ref.null none)))
      (func (result i32) (ref.eq (ref.null eq) (ref.null i31))))
  )");
  // Stand-ins for objects: any two distinct addresses (the compare never dereferences them).
  const uint64_t a = 0x10000, b = 0x20000;
  CHECK(m.call1(0, {a, a}) == 1);
  CHECK(m.call1(0, {a, b}) == 0);
  CHECK(m.call1(0, {0, a}) == 0);
  // The high half takes part: references are 64-bit.
  CHECK(m.call1(0, {a, a | (uint64_t(1) << 40)}) == 0);
  CHECK(m.call1(1, {0}) == 1);
  CHECK(m.call1(1, {b}) == 0);
  CHECK(m.call1(2, {}) == 1);
}

TEST_CASE("an operator the JIT lacks fails to compile with its name", "[jit][compiler]") {
  auto binary = text::wat_to_binary("(module (func (param v128) (result v128) (local.get 0)))");
  REQUIRE(binary);
  auto info = wasm::decode_module(binary.ok());
  REQUIRE(info);
  auto types =
      wasm::validate_module_sections(info.ok(), binary.ok(), wasm::Features::all_standard());
  REQUIRE(types);
  wasm::FuncValidator validator(types.ok());
  auto compiled = compile_function(types.ok(), 0, validator);
  REQUIRE_FALSE(compiled);
  CHECK_THAT(compiled.err().message(), Catch::Contains("v128"));
}

TEST_CASE("a reused scratch compiles each function as a fresh compiler does", "[jit][compiler]") {
  // The scratch keeps its stacks and the assembler's buffers from one function to the next, a
  // function that failed half-way included: none of that state may leak into the next one.
  auto binary = text::wat_to_binary(R"(
    (module (memory 1) (table 1 funcref)
      (func $big (param i32) (result i32) (local i64 f64)
        (block $out (result i32)
          (block $skip
            (loop $l
              (br_if $out (i32.load (local.get 0)) (i32.eqz (local.get 0)))
              (local.set 0 (i32.div_u (local.get 0) (i32.const 3)))
              (br_table $l $l $skip (local.get 0))))
          (i32.const 0)))
      (func $half (drop (block (result i32) (loop (drop (i32x4.splat (i32.const 1)))) (i32.const 1))))
      (func $small (param i32) (result i32)
        (if (result i32) (local.get 0) (then (call $small (i32.const 0)))
          (else (call_indirect (result i32) (i32.const 0))))))
  )");
  REQUIRE(binary);
  auto info = wasm::decode_module(binary.ok());
  REQUIRE(info);
  auto types =
      wasm::validate_module_sections(info.ok(), binary.ok(), wasm::Features::all_standard());
  REQUIRE(types);
  CompileScratch scratch(types.ok());
  for (int pass = 0; pass < 2; ++pass) {
    for (uint32_t i = 0; i < info.ok().bodies.size(); ++i) {
      INFO("pass " << pass << ", function " << i);
      wasm::FuncValidator validator(types.ok());
      auto fresh = compile_function(types.ok(), i, validator);
      auto reused = compile_function(i, scratch);
      REQUIRE(bool(fresh) == bool(reused));
      CHECK(bool(fresh) == (i != 1));  // $half stops at i32x4.splat
      if (!fresh) {
        CHECK(fresh.err().message() == reused.err().message());
        continue;
      }
      CHECK(fresh.ok().code == reused.ok().code);
      CHECK(fresh.ok().source_map == reused.ok().source_map);
      REQUIRE(fresh.ok().trap_sites.size() == reused.ok().trap_sites.size());
      for (size_t t = 0; t < fresh.ok().trap_sites.size(); ++t) {
        CHECK(fresh.ok().trap_sites[t].code_offset == reused.ok().trap_sites[t].code_offset);
        CHECK(fresh.ok().trap_sites[t].code == reused.ok().trap_sites[t].code);
      }
      REQUIRE(fresh.ok().call_sites.size() == reused.ok().call_sites.size());
      for (size_t c = 0; c < fresh.ok().call_sites.size(); ++c)
        CHECK(fresh.ok().call_sites[c].rel32_offset == reused.ok().call_sites[c].rel32_offset);
    }
  }
}

TEST_CASE("the compiler reports validation errors", "[jit][compiler]") {
  // (func (result i32) (i64.const 1)): a type mismatch only the body reveals.
  const uint8_t module[] = {0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00, 0x01,
                            0x05, 0x01, 0x60, 0x00, 0x01, 0x7F, 0x03, 0x02, 0x01,
                            0x00, 0x0A, 0x06, 0x01, 0x04, 0x00, 0x42, 0x01, 0x0B};
  auto info = wasm::decode_module(module);
  REQUIRE(info);
  auto types = wasm::validate_module_sections(info.ok(), module, wasm::Features::all_standard());
  REQUIRE(types);
  wasm::FuncValidator validator(types.ok());
  auto compiled = compile_function(types.ok(), 0, validator);
  REQUIRE_FALSE(compiled);
  CHECK_THAT(compiled.err().message(), Catch::Contains("type mismatch"));
}

namespace {
uint64_t f32_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
uint64_t f64_bits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, 8);
  return b;
}
float as_f32(uint64_t b) {
  uint32_t low = uint32_t(b);
  float f;
  std::memcpy(&f, &low, 4);
  return f;
}
double as_f64(uint64_t b) {
  double d;
  std::memcpy(&d, &b, 8);
  return d;
}
}  // namespace

TEST_CASE("compiled floating point follows IEEE and wasm's NaN and zero rules", "[jit][compiler]") {
  TestModule m(R"(
    (module
      (func (param f32 f32) (result f32) (f32.add (local.get 0) (local.get 1)))
      (func (param f64 f64) (result f64) (f64.div (local.get 0) (local.get 1)))
      (func (param f32 f32) (result f32) (f32.min (local.get 0) (local.get 1)))
      (func (param f64 f64) (result f64) (f64.max (local.get 0) (local.get 1)))
      (func (param f64) (result f64) (f64.nearest (local.get 0)))
      (func (param f32) (result f32) (f32.neg (local.get 0)))
      (func (param f64 f64) (result f64) (f64.copysign (local.get 0) (local.get 1)))
      (func (param f64 f64) (result i32) (f64.lt (local.get 0) (local.get 1)))
      (func (param f32 f32) (result i32) (f32.ne (local.get 0) (local.get 1)))
      (func (param f64) (result i32) (i32.trunc_sat_f64_s (local.get 0)))
      (func (param f64) (result i64) (i64.trunc_sat_f64_u (local.get 0)))
      (func (param i64) (result f64) (f64.convert_i64_u (local.get 0)))
      (func (param i32) (result f32) (f32.convert_i32_u (local.get 0)))
      (func (param f64) (result i64) (i64.trunc_f64_u (local.get 0)))
      (func (param f32) (result i32) (i32.reinterpret_f32 (local.get 0)))
      (func (param f64) (result f32) (f32.demote_f64 (local.get 0)))
      (func (result f64) (f64.add (f64.const 1.5) (f64.const 2.25)))
    ))");
  CHECK(as_f32(m.call1(0, {f32_bits(1.5f), f32_bits(2.25f)})) == 3.75f);
  CHECK(as_f64(m.call1(1, {f64_bits(1.0), f64_bits(4.0)})) == 0.25);
  CHECK(std::isinf(as_f64(m.call1(1, {f64_bits(1.0), f64_bits(0.0)}))));
  CHECK(m.call1(2, {f32_bits(-0.0f), f32_bits(0.0f)}) == f32_bits(-0.0f));
  CHECK(m.call1(2, {f32_bits(0.0f), f32_bits(-0.0f)}) == f32_bits(-0.0f));
  CHECK(std::isnan(as_f32(m.call1(2, {f32_bits(NAN), f32_bits(1.0f)}))));
  CHECK(std::isnan(as_f32(m.call1(2, {f32_bits(1.0f), f32_bits(NAN)}))));
  CHECK(as_f32(m.call1(2, {f32_bits(3.0f), f32_bits(-2.0f)})) == -2.0f);
  CHECK(m.call1(3, {f64_bits(-0.0), f64_bits(0.0)}) == f64_bits(0.0));
  CHECK(std::isnan(as_f64(m.call1(3, {f64_bits(1.0), f64_bits(NAN)}))));
  CHECK(as_f64(m.call1(4, {f64_bits(2.5)})) == 2.0);
  CHECK(as_f64(m.call1(4, {f64_bits(-3.5)})) == -4.0);
  CHECK(m.call1(5, {0x7FC00001}) == 0xFFC00001);  // neg flips the sign of a NaN, keeps payload
  CHECK(as_f64(m.call1(6, {f64_bits(3.0), f64_bits(-0.0)})) == -3.0);
  CHECK(m.call1(7, {f64_bits(1.0), f64_bits(2.0)}) == 1);
  CHECK(m.call1(7, {f64_bits(NAN), f64_bits(2.0)}) == 0);
  CHECK(m.call1(8, {f32_bits(NAN), f32_bits(NAN)}) == 1);
  CHECK(m.call1(8, {f32_bits(1.0f), f32_bits(1.0f)}) == 0);
  CHECK(m.call1(9, {f64_bits(1e10)}) == 0x7FFFFFFF);
  CHECK(m.call1(9, {f64_bits(-1e10)}) == 0x80000000);
  CHECK(m.call1(9, {f64_bits(NAN)}) == 0);
  CHECK(m.call1(9, {f64_bits(-7.9)}) == uint32_t(-7));
  CHECK(m.call1(10, {f64_bits(1e30)}) == ~0ull);
  CHECK(m.call1(10, {f64_bits(-5.0)}) == 0);
  CHECK(m.call1(10, {f64_bits(1.8446744073709550e19)}) == 18446744073709549568ull);
  CHECK(as_f64(m.call1(11, {~0ull})) == 18446744073709551616.0);
  CHECK(as_f64(m.call1(11, {1ull << 63 | 1})) == 9223372036854775808.0);
  CHECK(as_f32(m.call1(12, {0xFFFFFFFF})) == 4294967296.0f);
  CHECK(m.call1(13, {f64_bits(9223372036854775808.0)}) == 1ull << 63);
  CHECK(m.call1(13, {f64_bits(12.9)}) == 12);
  CHECK(m.call1(14, {f32_bits(1.0f)}) == 0x3F800000);
  CHECK(as_f32(m.call1(15, {f64_bits(0.1)})) == 0.1f);
  CHECK(as_f64(m.call1(16, {})) == 3.75);
}
