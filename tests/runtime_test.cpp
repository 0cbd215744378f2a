// The runtime core: the entry trampoline, traps through the signal handler (guard pages, ud2
// trap sites, stack overflow on the main thread and a small-stack thread), chaining of faults
// that are not ours, memories, segments and imports. Until the JIT lands, function bodies are
// hand-written machine code emitted with the x86-64 masm.
#include <catch2/catch.hpp>

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "jit/jit.hpp"
#include "jit/x64/masm_x64.hpp"
#include "kiln/version.hpp"
#include "runtime/checksum.hpp"
#include "runtime/runtime.hpp"
#include "runtime/serialize.hpp"
#include "runtime/source_map.hpp"
#include "text/wat.hpp"

using namespace kiln;
using namespace kiln::runtime;
using namespace kiln::jit;
using namespace kiln::jit::x64;

namespace {

// ---- A tiny binary-module builder (the text format is another area's).

void leb(std::vector<uint8_t>& out, uint64_t value) {
  do {
    uint8_t byte = value & 0x7F;
    value >>= 7;
    if (value) byte |= 0x80;
    out.push_back(byte);
  } while (value);
}

void sleb(std::vector<uint8_t>& out, int64_t value) {
  while (true) {
    uint8_t byte = value & 0x7F;
    value >>= 7;
    if ((value == 0 && !(byte & 0x40)) || (value == -1 && (byte & 0x40))) {
      out.push_back(byte);
      return;
    }
    out.push_back(byte | 0x80);
  }
}

void name(std::vector<uint8_t>& out, const std::string& text) {
  leb(out, text.size());
  out.insert(out.end(), text.begin(), text.end());
}

struct WasmBuilder {
  std::map<int, std::vector<uint8_t>> sections;
  uint32_t types = 0, imports = 0, funcs = 0, exports = 0, bodies = 0, datas = 0, elems = 0;
  std::vector<uint8_t> type_sec, import_sec, func_sec, mem_sec, table_sec, export_sec, code_sec,
      data_sec, elem_sec, name_sec;
  std::optional<uint32_t> start;

  uint32_t type(std::vector<uint8_t> params, std::vector<uint8_t> results) {
    type_sec.push_back(0x60);
    leb(type_sec, params.size());
    type_sec.insert(type_sec.end(), params.begin(), params.end());
    leb(type_sec, results.size());
    type_sec.insert(type_sec.end(), results.begin(), results.end());
    return types++;
  }
  void import_func(const std::string& module, const std::string& field, uint32_t type_index) {
    name(import_sec, module);
    name(import_sec, field);
    import_sec.push_back(0x00);
    leb(import_sec, type_index);
    ++imports;
  }
  void import_memory(const std::string& module, const std::string& field, uint32_t min,
                     std::optional<uint32_t> max) {
    name(import_sec, module);
    name(import_sec, field);
    import_sec.push_back(0x02);
    import_sec.push_back(max ? 1 : 0);
    leb(import_sec, min);
    if (max) leb(import_sec, *max);
    ++imports;
  }
  // A function with `body` (operators, without the final end) and no locals.
  void func(uint32_t type_index, std::vector<uint8_t> body) {
    leb(func_sec, type_index);
    ++funcs;
    std::vector<uint8_t> entry = {0x00};  // no locals
    entry.insert(entry.end(), body.begin(), body.end());
    entry.push_back(0x0B);
    leb(code_sec, entry.size());
    code_sec.insert(code_sec.end(), entry.begin(), entry.end());
    ++bodies;
  }
  void memory(uint32_t min, std::optional<uint32_t> max) {
    mem_sec = {0x01, uint8_t(max ? 1 : 0)};
    leb(mem_sec, min);
    if (max) leb(mem_sec, *max);
  }
  void table(uint32_t min) {
    table_sec = {0x01, 0x70, 0x00};
    leb(table_sec, min);
  }
  void export_(const std::string& field, uint8_t kind, uint32_t index) {
    name(export_sec, field);
    export_sec.push_back(kind);
    leb(export_sec, index);
    ++exports;
  }
  void data(uint32_t offset, const std::string& bytes) {
    data_sec.push_back(0x00);
    data_sec.push_back(0x41);
    sleb(data_sec, int32_t(offset));
    data_sec.push_back(0x0B);
    name(data_sec, bytes);
    ++datas;
  }
  void elem(uint32_t offset, std::vector<uint32_t> functions) {
    elem_sec.push_back(0x00);
    elem_sec.push_back(0x41);
    sleb(elem_sec, int32_t(offset));
    elem_sec.push_back(0x0B);
    leb(elem_sec, functions.size());
    for (uint32_t f : functions) leb(elem_sec, f);
    ++elems;
  }
  void function_name(uint32_t index, const std::string& text) {
    if (name_sec.empty()) name_sec = {};
    std::vector<uint8_t> map;
    leb(map, 1);
    leb(map, index);
    name(map, text);
    name_sec.push_back(0x01);
    leb(name_sec, map.size());
    name_sec.insert(name_sec.end(), map.begin(), map.end());
  }

  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> out = {0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00};
    auto section = [&](uint8_t id, uint32_t count, const std::vector<uint8_t>& payload) {
      if (payload.empty()) return;
      std::vector<uint8_t> content;
      if (count != UINT32_MAX) leb(content, count);
      content.insert(content.end(), payload.begin(), payload.end());
      out.push_back(id);
      leb(out, content.size());
      out.insert(out.end(), content.begin(), content.end());
    };
    section(1, types, type_sec);
    section(2, imports, import_sec);
    section(3, funcs, func_sec);
    section(4, UINT32_MAX, table_sec);
    section(5, UINT32_MAX, mem_sec);
    section(7, exports, export_sec);
    if (start) {
      std::vector<uint8_t> payload;
      leb(payload, *start);
      section(8, UINT32_MAX, payload);
    }
    section(9, elems, elem_sec);
    section(10, bodies, code_sec);
    section(11, datas, data_sec);
    if (!name_sec.empty()) {
      std::vector<uint8_t> payload;
      name(payload, "name");
      payload.insert(payload.end(), name_sec.begin(), name_sec.end());
      section(0, UINT32_MAX, payload);
    }
    return out;
  }
};

constexpr uint8_t I32 = 0x7F, I64 = 0x7E, F64 = 0x7C;

// ---- Hand-written function bodies, following docs/jit-abi.md.

using Emit = std::function<void(X64Masm&)>;

// Prologue: frame, saved vmctx at [rbp-8], the stack check against VMContext::stack_limit.
void prologue(X64Masm& m, uint32_t frame_size = 16) {
  m.enter_frame();
  m.set_frame_size(frame_size);
  m.store(Address::at(gp::rbp, -8), gp::r14, StoreKind::I64);
  m.load(gp::rax, Address::at(gp::r14, vm_offsets::kStackLimit), LoadKind::I64);
  m.cmp(gp::rsp, gp::rax, Width::W64);
  m.trap_if(IntCond::LtU, TrapCode::StackOverflow, 0);
}

void epilogue(X64Masm& m) {
  m.leave_frame();
  m.ret();
}

Address param(uint32_t slot) {
  return Address::at(gp::rbp, int32_t(16 + 8 * slot));
}

Result<CompiledFunction> assemble(const Emit& emit) {
  X64Masm m;
  emit(m);
  auto bytes = m.finish();
  if (!bytes) return std::move(bytes.err());
  CompiledFunction out;
  out.code = std::move(bytes.ok());
  out.trap_sites = m.trap_sites();
  out.call_sites = m.call_sites();
  return out;
}

// A compiler that hands out the given bodies for the defined functions, in order.
FunctionCompiler hand_written(std::vector<Emit> bodies) {
  return [bodies = std::move(bodies)](const wasm::ModuleTypes&, uint32_t defined_index,
                                      jit::CompileScratch&, const CompileOptions&) {
    return assemble(bodies.at(defined_index));
  };
}

// (i32, i32) -> i32: slot0 + slot1.
void emit_add32(X64Masm& m) {
  prologue(m);
  m.load(gp::rax, param(0), LoadKind::I32);
  m.load(gp::rcx, param(1), LoadKind::I32);
  m.alu(AluOp::Add, gp::rax, gp::rax, gp::rcx, Width::W32);
  m.store(param(0), gp::rax, StoreKind::I64);
  epilogue(m);
}

// (i32) -> i32: an i32 load from memory 0 at the parameter, guarded by the guard pages.
void emit_load32(X64Masm& m) {
  prologue(m);
  m.load(gp::rax, Address::at(gp::r14, vm_offsets::kMemory0Base), LoadKind::I64);
  m.load(gp::rcx, param(0), LoadKind::I32);
  m.record_trap_site(TrapCode::MemoryOutOfBounds, 42);
  m.load(gp::rax, Address::indexed(gp::rax, gp::rcx), LoadKind::I32);
  m.store(param(0), gp::rax, StoreKind::I64);
  epilogue(m);
}

// () -> (): calls itself forever.
void emit_recurse(X64Masm& m) {
  prologue(m, 32);
  m.call_function(0);
  epilogue(m);
}

// (i32) -> i32: calls imported function 0 (any instance or host) with its parameter.
void emit_call_import(X64Masm& m) {
  prologue(m);
  m.load(gp::rax, param(0), LoadKind::I64);
  m.store(Address::at(gp::rsp, 0), gp::rax, StoreKind::I64);
  m.load(gp::rax, Address::at(gp::r14, vm_offsets::kFuncRefs), LoadKind::I64);
  m.load(gp::r14, Address::at(gp::rax, vm_offsets::kFuncRefVmctx), LoadKind::I64);
  m.load(gp::rax, Address::at(gp::rax, vm_offsets::kFuncRefCode), LoadKind::I64);
  m.call_reg(gp::rax);
  m.load(gp::r14, Address::at(gp::rbp, -8), LoadKind::I64);
  m.load(gp::rax, Address::at(gp::rsp, 0), LoadKind::I64);
  m.store(param(0), gp::rax, StoreKind::I64);
  epilogue(m);
}

// (i32, i64, f64, i32) -> (f64, i64, i32): returns (p2, p1 + 1, p0 ^ p3).
void emit_shuffle(X64Masm& m) {
  prologue(m);
  m.load(gp::rax, param(2), LoadKind::I64);
  m.load(gp::rcx, param(1), LoadKind::I64);
  m.alu_imm(AluOp::Add, gp::rcx, gp::rcx, 1, Width::W64);
  m.load(gp::rdx, param(0), LoadKind::I32);
  m.load(gp::rsi, param(3), LoadKind::I32);
  m.alu(AluOp::Xor, gp::rdx, gp::rdx, gp::rsi, Width::W32);
  m.store(param(0), gp::rax, StoreKind::I64);
  m.store(param(1), gp::rcx, StoreKind::I64);
  m.store(param(2), gp::rdx, StoreKind::I64);
  epilogue(m);
}

struct Fixture {
  Engine engine;
  Store store{engine};

  std::shared_ptr<const Module> compile(const WasmBuilder& builder, std::vector<Emit> bodies) {
    auto module = engine.compile_with(builder.bytes(), hand_written(std::move(bodies)));
    if (!module) FAIL(module.err().to_string());
    return module.ok();
  }
  Instance* instantiate(std::shared_ptr<const Module> module, std::vector<Extern> imports = {}) {
    auto instance = store.instantiate(std::move(module), imports);
    if (!instance) FAIL(instance.err().message);
    return instance.ok();
  }
  Function func(Instance* instance, const std::string& field) {
    auto value = instance->export_named(field);
    REQUIRE(value);
    REQUIRE(value->kind == wasm::ExternKind::Func);
    return value->func;
  }
};

std::string permissions_of(const void* address) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  const uintptr_t target = uintptr_t(address);
  while (std::getline(maps, line)) {
    std::istringstream in(line);
    std::string range, permissions;
    in >> range >> permissions;
    const size_t dash = range.find('-');
    const uintptr_t low = std::stoull(range.substr(0, dash), nullptr, 16);
    const uintptr_t high = std::stoull(range.substr(dash + 1), nullptr, 16);
    if (target >= low && target < high) return permissions;
  }
  return "unmapped";
}

}  // namespace

// Runs first (declaration order): the embedder's handler is installed before the engine's.
namespace {
sigjmp_buf embedder_jump;
volatile sig_atomic_t embedder_armed = 0;
volatile sig_atomic_t embedder_faults = 0;
void embedder_handler(int, siginfo_t*, void*) {
  if (!embedder_armed) {
    signal(SIGSEGV, SIG_DFL);
    return;
  }
  embedder_faults = embedder_faults + 1;
  embedder_armed = 0;
  siglongjmp(embedder_jump, 1);
}
}  // namespace

TEST_CASE("a fault outside wasm code goes to the embedder's handler", "[runtime][signals]") {
  struct sigaction embedder {};
  embedder.sa_sigaction = embedder_handler;
  embedder.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&embedder.sa_mask);
  REQUIRE(sigaction(SIGSEGV, &embedder, nullptr) == 0);
  install_signal_handlers();  // saves the embedder's handler to chain to
  struct sigaction now {};
  sigaction(SIGSEGV, nullptr, &now);
  CHECK(now.sa_sigaction != embedder_handler);  // the engine's handler is in front

  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  void* inaccessible = mmap(nullptr, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(inaccessible != MAP_FAILED);
  embedder_faults = 0;
  if (sigsetjmp(embedder_jump, 1) == 0) {
    embedder_armed = 1;
    volatile int value = *static_cast<volatile int*>(inaccessible);
    (void)value;
    FAIL("the read of a PROT_NONE page did not fault");
  }
  CHECK(embedder_faults == 1);
  munmap(inaccessible, page);

  // And wasm traps still work with the embedder's handler chained behind ours.
  Fixture f;
  WasmBuilder b;
  b.type({}, {});
  b.func(0, {0x00});
  b.export_("trap", 0, 0);
  Instance* instance = f.instantiate(f.compile(b, {[](X64Masm& m) {
                                                 prologue(m);
                                                 m.trap(TrapCode::UnreachableCodeReached, 7);
                                                 epilogue(m);
                                               }}));
  auto result = f.store.call(f.func(instance, "trap"), {});
  REQUIRE_FALSE(result);
  CHECK(result.err().message == "unreachable");
  CHECK(embedder_faults == 1);
}

TEST_CASE("module code is executable and never writable", "[runtime]") {
  Fixture f;
  WasmBuilder b;
  b.type({I32, I32}, {I32});
  b.func(0, {0x20, 0x00, 0x20, 0x01, 0x6A});
  auto module = f.compile(b, {emit_add32});
  const std::string permissions = permissions_of(module->function_code(0));
  CHECK(permissions.substr(0, 3) == "r-x");
  CHECK(module->code().sealed());
}

TEST_CASE("calls through the entry trampoline with several signatures", "[runtime]") {
  Fixture f;
  WasmBuilder b;
  b.type({I32, I32}, {I32});
  b.type({I32, I64, F64, I32}, {F64, I64, I32});
  b.type({}, {});
  b.func(0, {0x20, 0x00, 0x20, 0x01, 0x6A});
  b.func(1, {0x20, 0x02, 0x20, 0x01, 0x42, 0x01, 0x7C, 0x20, 0x00, 0x20, 0x03, 0x73});
  b.func(2, {});
  b.export_("add", 0, 0);
  b.export_("shuffle", 0, 1);
  b.export_("nothing", 0, 2);
  Instance* instance = f.instantiate(f.compile(b, {emit_add32, emit_shuffle, [](X64Masm& m) {
                                                     prologue(m);
                                                     epilogue(m);
                                                   }}));
  auto sum = f.store.call(f.func(instance, "add"), std::vector<uint64_t>{40, 2});
  REQUIRE(sum);
  CHECK(sum.ok() == std::vector<uint64_t>{42});
  auto wrapped = f.store.call(f.func(instance, "add"), std::vector<uint64_t>{0xFFFFFFFF, 2});
  REQUIRE(wrapped);
  CHECK(wrapped.ok() == std::vector<uint64_t>{1});

  double pi = 3.25;
  uint64_t pi_bits;
  std::memcpy(&pi_bits, &pi, 8);
  auto shuffled =
      f.store.call(f.func(instance, "shuffle"), std::vector<uint64_t>{0xF0, 99, pi_bits, 0x0F});
  REQUIRE(shuffled);
  CHECK(shuffled.ok() == std::vector<uint64_t>{pi_bits, 100, 0xFF});

  auto nothing = f.store.call(f.func(instance, "nothing"), {});
  REQUIRE(nothing);
  CHECK(nothing.ok().empty());

  auto wrong = f.store.call(f.func(instance, "add"), std::vector<uint64_t>{1});
  REQUIRE_FALSE(wrong);
  CHECK(wrong.err().kind == Failure::Kind::Error);
}

TEST_CASE("a guard-page fault is an out-of-bounds trap; calls keep working", "[runtime]") {
  Fixture f;
  WasmBuilder b;
  b.type({I32}, {I32});
  b.memory(1, 3);
  b.func(0, {0x20, 0x00, 0x28, 0x02, 0x00});
  b.export_("load", 0, 0);
  b.export_("memory", 2, 0);
  b.data(100, std::string("\x2A\x00\x00\x01", 4));
  b.function_name(0, "load");
  Instance* instance = f.instantiate(f.compile(b, {emit_load32}));
  Function load = f.func(instance, "load");

  auto value = f.store.call(load, std::vector<uint64_t>{100});
  REQUIRE(value);
  CHECK(value.ok()[0] == 0x0100002A);

  for (uint64_t address : {uint64_t(65536), uint64_t(65533), uint64_t(0xFFFFFFFF)}) {
    auto trapped = f.store.call(load, std::vector<uint64_t>{address});
    REQUIRE_FALSE(trapped);
    CHECK(trapped.err().kind == Failure::Kind::Trap);
    CHECK(trapped.err().message == "out of bounds memory access");
    REQUIRE(trapped.err().trap);
    CHECK(trapped.err().trap->code == TrapCode::MemoryOutOfBounds);
    REQUIRE(trapped.err().trap->frames.size() == 1);
    CHECK(trapped.err().trap->frames[0].func_index == 0);
    CHECK(trapped.err().trap->frames[0].name == "load");
    CHECK(trapped.err().trap->frames[0].module_offset == 42u);
    CHECK_THAT(trapped.err().to_error().message(),
               Catch::Contains("out of bounds memory access") && Catch::Contains("load"));
  }
  // The thread is fine afterwards.
  auto again = f.store.call(load, std::vector<uint64_t>{100});
  REQUIRE(again);
  CHECK(again.ok()[0] == 0x0100002A);

  // memory.grow makes the next page accessible, up to the maximum.
  auto memory_grow = reinterpret_cast<uint64_t (*)(VMContext*, uint32_t, uint64_t)>(
      builtin_table()[size_t(Builtin::MemoryGrow)]);
  Memory* memory = instance->export_named("memory")->memory;
  CHECK(memory->pages() == 1);
  CHECK(memory_grow(instance->vmctx(), 0, 1) == 1);
  CHECK(memory->pages() == 2);
  CHECK(permissions_of(memory->base() + 65536).substr(0, 2) == "rw");
  CHECK(permissions_of(memory->base() + 2 * 65536).substr(0, 3) == "---");
  auto grown = f.store.call(load, std::vector<uint64_t>{65536});
  REQUIRE(grown);
  CHECK(grown.ok()[0] == 0);
  CHECK_FALSE(f.store.call(load, std::vector<uint64_t>{2 * 65536}));
  CHECK(memory_grow(instance->vmctx(), 0, 2) == UINT64_MAX);  // beyond the maximum of 3
  CHECK(memory_grow(instance->vmctx(), 0, 0) == 2);
  CHECK(memory_grow(instance->vmctx(), 0, 1) == 2);
  CHECK(memory->pages() == 3);
  CHECK(memory_grow(instance->vmctx(), 0, 1) == UINT64_MAX);
  // Below the base is a guard too.
  CHECK(permissions_of(memory->base() - 1).substr(0, 3) == "---");
}

TEST_CASE("ud2 trap sites report their trap codes", "[runtime]") {
  Fixture f;
  const TrapCode codes[] = {TrapCode::UnreachableCodeReached, TrapCode::IntegerDivisionByZero,
                            TrapCode::IntegerOverflow,        TrapCode::BadConversionToInteger,
                            TrapCode::IndirectCallToNull,     TrapCode::BadSignature,
                            TrapCode::TableOutOfBounds};
  for (TrapCode code : codes) {
    WasmBuilder b;
    b.type({I32}, {});
    b.func(0, {0x00});
    b.export_("f", 0, 0);
    // Traps when the parameter is non-zero.
    Instance* instance = f.instantiate(f.compile(b, {[code](X64Masm& m) {
                                                   prologue(m);
                                                   m.load(gp::rax, param(0), LoadKind::I32);
                                                   m.cmp_imm(gp::rax, 0, Width::W32);
                                                   m.trap_if(IntCond::Ne, code, 5);
                                                   epilogue(m);
                                                 }}));
    INFO(trap_name(code));
    CHECK(f.store.call(f.func(instance, "f"), std::vector<uint64_t>{0}));
    auto trapped = f.store.call(f.func(instance, "f"), std::vector<uint64_t>{1});
    REQUIRE_FALSE(trapped);
    REQUIRE(trapped.err().trap);
    CHECK(trapped.err().trap->code == code);
    // rax holds the parameter (1) at the trap: for a null indirect call it is the element index.
    const std::string expected = code == TrapCode::IndirectCallToNull
                                     ? "uninitialized element 1"
                                     : std::string(trap_message(code));
    CHECK(trapped.err().message == expected);
  }
}

namespace {

struct OverflowOutcome {
  bool trapped = false;
  TrapCode code = TrapCode::UnreachableCodeReached;
  size_t frames = 0;
};

OverflowOutcome overflow_once(Fixture& f) {
  WasmBuilder b;
  b.type({}, {});
  b.func(0, {0x10, 0x00});
  b.export_("recurse", 0, 0);
  Instance* instance = f.instantiate(f.compile(b, {emit_recurse}));
  auto result = f.store.call(f.func(instance, "recurse"), {});
  OverflowOutcome outcome;
  outcome.trapped = !result && result.err().trap.has_value();
  if (outcome.trapped) {
    outcome.code = result.err().trap->code;
    outcome.frames = result.err().trap->frames.size();
  }
  return outcome;
}

}  // namespace

TEST_CASE("stack overflow traps on the main thread", "[runtime][stack]") {
  Fixture f;
  for (int attempt = 0; attempt < 2; ++attempt) {  // and the thread recovers
    OverflowOutcome outcome = overflow_once(f);
    CHECK(outcome.trapped);
    CHECK(outcome.code == TrapCode::StackOverflow);
    CHECK(outcome.frames > 1);
  }
}

TEST_CASE("stack overflow traps on a thread with a 256 KiB stack", "[runtime][stack]") {
  pthread_attr_t attributes;
  REQUIRE(pthread_attr_init(&attributes) == 0);
  REQUIRE(pthread_attr_setstacksize(&attributes, 256 * 1024) == 0);
  struct Shared {
    Fixture* fixture;
    OverflowOutcome outcome;
  };
  Fixture f;
  Shared shared{&f, {}};
  pthread_t thread;
  auto body = [](void* argument) -> void* {
    auto* s = static_cast<Shared*>(argument);
    s->outcome = overflow_once(*s->fixture);
    return nullptr;
  };
  REQUIRE(pthread_create(&thread, &attributes, body, &shared) == 0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attributes);
  CHECK(shared.outcome.trapped);
  CHECK(shared.outcome.code == TrapCode::StackOverflow);
  // Back on the main thread, the store's stack limit follows the thread it runs on.
  CHECK(overflow_once(f).code == TrapCode::StackOverflow);
}

TEST_CASE("host functions called from wasm, and their traps", "[runtime][imports]") {
  Fixture f;
  wasm::FuncType type{{wasm::ValType::i32()}, {wasm::ValType::i32()}};
  int calls = 0;
  Function twice = f.store.new_host_function(type, [&](std::span<uint64_t> slots) {
    ++calls;
    slots[0] = uint32_t(slots[0] * 2);
    return std::optional<TrapCode>();
  });
  Function failing = f.store.new_host_function(type, [&](std::span<uint64_t>) {
    return std::optional<TrapCode>(TrapCode::IntegerOverflow);
  });

  WasmBuilder b;
  b.type({I32}, {I32});
  b.import_func("host", "f", 0);
  b.func(0, {0x20, 0x00, 0x10, 0x00});
  b.export_("call", 0, 1);
  b.export_("reexport", 0, 0);
  auto module = f.compile(b, {emit_call_import});

  Extern twice_extern;
  twice_extern.func = twice;
  Instance* instance = f.instantiate(module, {twice_extern});
  auto result = f.store.call(f.func(instance, "call"), std::vector<uint64_t>{21});
  REQUIRE(result);
  CHECK(result.ok()[0] == 42);
  CHECK(calls == 1);
  // The host calls the host function through the same entry.
  auto direct = f.store.call(f.func(instance, "reexport"), std::vector<uint64_t>{5});
  REQUIRE(direct);
  CHECK(direct.ok()[0] == 10);

  Extern failing_extern;
  failing_extern.func = failing;
  Instance* failing_instance = f.instantiate(module, {failing_extern});
  auto trapped = f.store.call(f.func(failing_instance, "call"), std::vector<uint64_t>{1});
  REQUIRE_FALSE(trapped);
  REQUIRE(trapped.err().trap);
  CHECK(trapped.err().trap->code == TrapCode::IntegerOverflow);
  REQUIRE(trapped.err().trap->frames.size() == 1);  // the wasm caller
  CHECK(trapped.err().trap->frames[0].func_index == 1);

  // Wasm calling wasm across instances: the callee runs with its own vmctx.
  WasmBuilder adder;
  adder.type({I32}, {I32});
  adder.memory(1, std::nullopt);
  adder.func(0, {0x20, 0x00, 0x28, 0x02, 0x00});
  adder.export_("load", 0, 0);
  adder.data(8, std::string("\x07\x00\x00\x00", 4));
  Instance* exporter = f.instantiate(f.compile(adder, {emit_load32}));
  Instance* importer = f.instantiate(module, {*exporter->export_named("load")});
  auto loaded = f.store.call(f.func(importer, "call"), std::vector<uint64_t>{8});
  REQUIRE(loaded);
  CHECK(loaded.ok()[0] == 7);
}

TEST_CASE("imports that do not match are unlinkable", "[runtime][imports]") {
  Fixture f;
  WasmBuilder b;
  b.type({I32}, {I32});
  b.import_func("host", "f", 0);
  b.func(0, {0x20, 0x00, 0x10, 0x00});
  auto module = f.compile(b, {emit_call_import});

  Function wrong_type =
      f.store.new_host_function(wasm::FuncType{{wasm::ValType::i64()}, {wasm::ValType::i32()}},
                                [](std::span<uint64_t>) { return std::optional<TrapCode>(); });
  Extern func;
  func.func = wrong_type;
  auto mismatched = f.store.instantiate(module, std::vector<Extern>{func});
  REQUIRE_FALSE(mismatched);
  CHECK(mismatched.err().kind == Failure::Kind::Link);
  CHECK_THAT(mismatched.err().message, Catch::StartsWith("incompatible import type"));

  auto memory = f.store.new_memory(wasm::MemoryType{{1, 2}});
  REQUIRE(memory);
  Extern memory_extern;
  memory_extern.kind = wasm::ExternKind::Memory;
  memory_extern.memory = memory.ok();
  auto wrong_kind = f.store.instantiate(module, std::vector<Extern>{memory_extern});
  REQUIRE_FALSE(wrong_kind);
  CHECK_THAT(wrong_kind.err().message, Catch::StartsWith("incompatible import type"));

  Extern empty;  // a Func extern without a function
  auto empty_import = f.store.instantiate(module, std::vector<Extern>{empty});
  REQUIRE_FALSE(empty_import);
  CHECK(empty_import.err().kind == Failure::Kind::Link);
  CHECK_FALSE(f.store.call(Function{}, {}));

  auto missing = f.store.instantiate(module, {});
  REQUIRE_FALSE(missing);
  CHECK(missing.err().kind == Failure::Kind::Link);

  // Memory limits: the import wants at least 2 pages with a maximum of at most 3.
  WasmBuilder wants;
  wants.import_memory("env", "memory", 2, 3);
  auto memory_module = f.compile(wants, {});
  auto small = f.store.new_memory(wasm::MemoryType{{1, 3}});
  auto unbounded = f.store.new_memory(wasm::MemoryType{{2, std::nullopt}});
  auto fitting = f.store.new_memory(wasm::MemoryType{{2, 3}});
  REQUIRE((small && unbounded && fitting));
  for (auto [candidate, ok] : {std::pair{small.ok(), false}, std::pair{unbounded.ok(), false},
                               std::pair{fitting.ok(), true}}) {
    Extern value;
    value.kind = wasm::ExternKind::Memory;
    value.memory = candidate;
    auto instance = f.store.instantiate(memory_module, std::vector<Extern>{value});
    CHECK(bool(instance) == ok);
  }
  // A memory that grew to the import's minimum matches.
  CHECK(small.ok()->grow(1) == 1);
  Extern grown;
  grown.kind = wasm::ExternKind::Memory;
  grown.memory = small.ok();
  CHECK(f.store.instantiate(memory_module, std::vector<Extern>{grown}));
}

TEST_CASE("segments are applied in order; out of bounds ones trap", "[runtime][segments]") {
  Fixture f;
  {
    WasmBuilder b;
    b.type({}, {});
    b.func(0, {});
    b.table(2);
    b.elem(0, {0, 0});
    b.memory(1, 1);
    b.data(65534, "ab");
    b.export_("table", 1, 0);
    Instance* instance = f.instantiate(f.compile(b, {[](X64Masm& m) {
                                                   prologue(m);
                                                   epilogue(m);
                                                 }}));
    Table* table = instance->export_named("table")->table;
    REQUIRE(table->size() == 2);
    CHECK(table->elements()[0] == instance->func_ref(0));
    CHECK(table->elements()[1] == instance->func_ref(0));
  }
  {
    // The second data segment is out of bounds: the first one stays written, then it traps.
    WasmBuilder b;
    b.memory(1, 1);
    b.data(0, "xy");
    b.data(65535, "ab");
    auto module = f.compile(b, {});
    auto memory = f.store.new_memory(wasm::MemoryType{{1, 1}});
    REQUIRE(memory);
    WasmBuilder importer;
    importer.import_memory("env", "memory", 1, 1);
    importer.data(0, "xy");
    importer.data(65535, "ab");
    Extern value;
    value.kind = wasm::ExternKind::Memory;
    value.memory = memory.ok();
    auto result = f.store.instantiate(f.compile(importer, {}), std::vector<Extern>{value});
    REQUIRE_FALSE(result);
    CHECK(result.err().kind == Failure::Kind::Trap);
    CHECK(result.err().message == "out of bounds memory access");
    CHECK(memory.ok()->base()[0] == 'x');
    CHECK(memory.ok()->base()[65535] == 0);
    auto own = f.store.instantiate(module, {});
    REQUIRE_FALSE(own);
    CHECK(own.err().message == "out of bounds memory access");
  }
  {
    WasmBuilder b;
    b.type({}, {});
    b.func(0, {});
    b.table(1);
    b.elem(1, {0});
    auto result = f.store.instantiate(f.compile(b, {[](X64Masm& m) {
                                                  prologue(m);
                                                  epilogue(m);
                                                }}),
                                      {});
    REQUIRE_FALSE(result);
    CHECK(result.err().message == "out of bounds table access");
  }
}

TEST_CASE("the start function runs at instantiation and its trap fails it", "[runtime]") {
  Fixture f;
  WasmBuilder b;
  b.type({}, {});
  b.func(0, {0x00});
  b.start = 0;
  auto result = f.store.instantiate(f.compile(b, {[](X64Masm& m) {
                                                prologue(m);
                                                m.trap(TrapCode::UnreachableCodeReached, 3);
                                                epilogue(m);
                                              }}),
                                    {});
  REQUIRE_FALSE(result);
  CHECK(result.err().kind == Failure::Kind::Trap);
  CHECK(result.err().message == "unreachable");
}

TEST_CASE("memories: 64-bit index without maximum, limits, page size", "[runtime][memory]") {
  EngineConfig config;
  wasm::MemoryType unbounded64{{1, std::nullopt}, wasm::IndexType::I64};
  auto memory = Memory::create(unbounded64, config);
  REQUIRE(memory);
  CHECK(memory.ok()->pages() == 1);
  CHECK(memory.ok()->grow(3) == 1);
  CHECK(memory.ok()->pages() == 4);
  CHECK(memory.ok()->grow(uint64_t(1) << 40) == UINT64_MAX);  // beyond the reservation

  auto too_large = Memory::create(wasm::MemoryType{{70000, std::nullopt}}, config);
  CHECK_FALSE(too_large);
  // custom-page-sizes: pages of 1 byte, counted and limited in that unit.
  wasm::MemoryType small_pages{{1, 3}};
  small_pages.page_size_log2 = 0;
  auto custom = Memory::create(small_pages, config);
  REQUIRE(custom);
  CHECK(custom.ok()->pages() == 1);
  CHECK(custom.ok()->size_bytes() == 1);
  CHECK(custom.ok()->grow(2) == 1);
  CHECK(custom.ok()->size_bytes() == 3);
  CHECK(custom.ok()->grow(1) == UINT64_MAX);  // the maximum is 3 bytes, not 3 * 64 KiB
  CHECK(custom.ok()->size_bytes() == 3);

  // Without a maximum, a 32-bit memory of 1-byte pages stops at 2^32-1 bytes (the limits' u32
  // encoding), not at 65536 pages.
  wasm::MemoryType byte_pages{{0, std::nullopt}};
  byte_pages.page_size_log2 = 0;
  auto unbounded_bytes = Memory::create(byte_pages, config);
  REQUIRE(unbounded_bytes);
  CHECK(unbounded_bytes.ok()->max_pages() == UINT32_MAX);
  CHECK(unbounded_bytes.ok()->grow(65537) == 0);
  CHECK(unbounded_bytes.ok()->pages() == 65537);
  CHECK(unbounded_bytes.ok()->size_bytes() == 65537);
  CHECK(unbounded_bytes.ok()->grow(UINT32_MAX) == UINT64_MAX);

  // The 32-bit maximum is 65536 pages: the whole 4 GiB reservation.
  auto full = Memory::create(wasm::MemoryType{{0, std::nullopt}}, config);
  REQUIRE(full);
  CHECK(full.ok()->max_pages() == 65536);
  CHECK(full.ok()->grow(65537) == UINT64_MAX);
}

TEST_CASE("tables grow within their maximum and the engine's limit", "[runtime][table]") {
  Table table(wasm::TableType{wasm::ValType::funcref(), {2, 5}}, {wasm::ValType::funcref()}, 1000);
  void* marker = &table;
  CHECK(table.grow(2, nullptr) == 0);
  CHECK(table.grow(3, marker) == 2);
  CHECK(table.size() == 5);
  CHECK(table.elements()[4] == marker);
  CHECK(table.vm()->elements == table.elements());
  CHECK(table.vm()->size == 5);
  CHECK(table.grow(1, nullptr) == UINT64_MAX);
  Table unbounded(wasm::TableType{wasm::ValType::externref(), {0, std::nullopt}},
                  {wasm::ValType::externref()}, 1000);
  CHECK(unbounded.grow(1001, nullptr) == UINT64_MAX);
  CHECK(unbounded.grow(1000, nullptr) == 0);
}

TEST_CASE("one module instantiated in stores on several threads", "[runtime][threads]") {
  Engine engine;
  WasmBuilder b;
  b.type({I32, I32}, {I32});
  b.memory(1, 1);
  b.func(0, {0x20, 0x00, 0x20, 0x01, 0x6A});
  b.export_("add", 0, 0);
  auto compiled = engine.compile_with(b.bytes(), hand_written({emit_add32}));
  REQUIRE(compiled);
  std::shared_ptr<const Module> module = compiled.ok();
  struct Work {
    const Engine* engine;
    std::shared_ptr<const Module> module;
    uint64_t sum = 0;
  };
  std::vector<Work> work(4, Work{&engine, module, 0});
  std::vector<pthread_t> threads(work.size());
  for (size_t i = 0; i < work.size(); ++i) {
    auto body = [](void* argument) -> void* {
      auto* w = static_cast<Work*>(argument);
      Store store(*w->engine);
      auto instance = store.instantiate(w->module, {});
      if (!instance) return nullptr;
      Function add = instance.ok()->export_named("add")->func;
      for (uint64_t n = 0; n < 1000; ++n) {
        auto result = store.call(add, std::vector<uint64_t>{w->sum, 1});
        if (!result) return nullptr;
        w->sum = result.ok()[0];
      }
      return nullptr;
    };
    REQUIRE(pthread_create(&threads[i], nullptr, body, &work[i]) == 0);
  }
  for (pthread_t thread : threads) pthread_join(thread, nullptr);
  for (const Work& w : work) CHECK(w.sum == 1000);
}

TEST_CASE("code placement refuses trap sites and source maps out of code order", "[runtime]") {
  // The module's tables are appended, not sorted: the signal handler's binary search relies on
  // each function's entries being in code order, so placement checks it.
  WasmBuilder b;
  b.type({I32, I32}, {I32});
  b.func(0, {0x20, 0x00, 0x20, 0x01, 0x6A});
  Engine engine;
  auto disorderly = [](bool trap_sites) {
    return [trap_sites](const wasm::ModuleTypes&, uint32_t, jit::CompileScratch&,
                        const CompileOptions&) {
      auto out = assemble(emit_add32);
      if (!out) return out;
      if (trap_sites) {
        out.ok().trap_sites = {{8, TrapCode::UnreachableCodeReached, 1},
                               {4, TrapCode::UnreachableCodeReached, 2}};
      } else {
        out.ok().source_map = {{8, 1}, {4, 2}};
      }
      return out;
    };
  };
  auto sites = engine.compile_with(b.bytes(), disorderly(true));
  REQUIRE_FALSE(sites);
  CHECK(sites.err().message().find("trap sites out of order") != std::string::npos);
  auto map = engine.compile_with(b.bytes(), disorderly(false));
  REQUIRE_FALSE(map);
  CHECK(map.err().message().find("source map out of order") != std::string::npos);
}

TEST_CASE("backtraces name each wasm frame with its module offset", "[runtime][traps]") {
  Fixture f;
  WasmBuilder b;
  b.type({}, {});
  b.func(0, {0x00});
  b.func(0, {0x10, 0x00});
  b.export_("outer", 0, 1);
  b.function_name(0, "inner");
  // Only the call of `outer` has a source-map entry: the backtrace maps the return address
  // back to it.
  FunctionCompiler compiler = [](const wasm::ModuleTypes&, uint32_t defined_index,
                                 jit::CompileScratch&, const CompileOptions&) {
    X64Masm m;
    CompiledFunction out;
    prologue(m);
    if (defined_index == 0) {
      m.trap(TrapCode::UnreachableCodeReached, 11);
    } else {
      out.source_map.emplace_back(m.offset(), 22);
      m.call_function(0);
      out.source_map.emplace_back(m.offset(), 23);
    }
    epilogue(m);
    auto bytes = m.finish();
    if (!bytes) return Result<CompiledFunction>(bytes.err());
    out.code = std::move(bytes.ok());
    out.trap_sites = m.trap_sites();
    out.call_sites = m.call_sites();
    return Result<CompiledFunction>(std::move(out));
  };
  auto module = f.engine.compile_with(b.bytes(), compiler);
  REQUIRE(module);
  Instance* instance = f.instantiate(module.ok());
  auto result = f.store.call(f.func(instance, "outer"), {});
  REQUIRE_FALSE(result);
  REQUIRE(result.err().trap);
  const runtime::Trap& trap = *result.err().trap;
  REQUIRE(trap.frames.size() == 2);
  CHECK(trap.frames[0].func_index == 0);
  CHECK(trap.frames[0].name == "inner");
  CHECK(trap.frames[0].module_offset == 11u);
  CHECK(trap.frames[1].func_index == 1);
  CHECK(trap.frames[1].name.empty());
  CHECK(trap.frames[1].module_offset == 22u);
  const std::string text = trap.describe();
  CHECK_THAT(text, Catch::StartsWith("wasm trap: unreachable"));
  CHECK_THAT(text, Catch::Contains("0xb - inner"));
  CHECK_THAT(text, Catch::Contains("0x16 - <wasm function 1>"));
}

TEST_CASE("builtins follow the spec's bounds rules", "[runtime][builtins]") {
  Fixture f;
  WasmBuilder b;
  b.memory(1, 2);
  b.table(4);
  b.type({}, {});
  b.func(0, {});
  b.export_("memory", 2, 0);
  b.export_("table", 1, 0);
  // One passive data segment "hello" and one passive element segment [f0, f0].
  b.data_sec = {0x01, 0x05, 'h', 'e', 'l', 'l', 'o'};
  b.datas = 1;
  b.elem_sec = {0x01, 0x00, 0x02, 0x00, 0x00};
  b.elems = 1;
  Instance* instance = f.instantiate(f.compile(b, {[](X64Masm& m) {
                                                 prologue(m);
                                                 epilogue(m);
                                               }}));
  VMContext* vm = instance->vmctx();
  auto builtin = [](Builtin which) { return builtin_table()[size_t(which)]; };
  auto fill = reinterpret_cast<uint32_t (*)(VMContext*, uint32_t, uint64_t, uint32_t, uint64_t)>(
      builtin(Builtin::MemoryFill));
  auto copy =
      reinterpret_cast<uint32_t (*)(VMContext*, uint32_t, uint32_t, uint64_t, uint64_t, uint64_t)>(
          builtin(Builtin::MemoryCopy));
  auto init =
      reinterpret_cast<uint32_t (*)(VMContext*, uint32_t, uint32_t, uint64_t, uint32_t, uint32_t)>(
          builtin(Builtin::MemoryInit));
  auto data_drop = reinterpret_cast<void (*)(VMContext*, uint32_t)>(builtin(Builtin::DataDrop));
  auto table_init =
      reinterpret_cast<uint32_t (*)(VMContext*, uint32_t, uint32_t, uint64_t, uint32_t, uint32_t)>(
          builtin(Builtin::TableInit));
  auto table_copy =
      reinterpret_cast<uint32_t (*)(VMContext*, uint32_t, uint32_t, uint64_t, uint64_t, uint64_t)>(
          builtin(Builtin::TableCopy));
  auto table_fill = reinterpret_cast<uint32_t (*)(VMContext*, uint32_t, uint64_t, void*, uint64_t)>(
      builtin(Builtin::TableFill));
  auto table_grow = reinterpret_cast<uint64_t (*)(VMContext*, uint32_t, void*, uint64_t)>(
      builtin(Builtin::TableGrow));
  auto elem_drop = reinterpret_cast<void (*)(VMContext*, uint32_t)>(builtin(Builtin::ElemDrop));
  const uint32_t memory_oob = uint32_t(TrapCode::MemoryOutOfBounds) + 1;
  const uint32_t table_oob = uint32_t(TrapCode::TableOutOfBounds) + 1;
  uint8_t* memory = instance->export_named("memory")->memory->base();

  CHECK(fill(vm, 0, 10, 0x1AB, 3) == 0);  // the value is truncated to a byte
  CHECK(memory[10] == 0xAB);
  CHECK(memory[12] == 0xAB);
  CHECK(memory[13] == 0);
  CHECK(fill(vm, 0, 65536, 1, 0) == 0);  // zero bytes at the end: fine
  CHECK(fill(vm, 0, 65537, 1, 0) == memory_oob);
  CHECK(fill(vm, 0, 65530, 7, 7) == memory_oob);
  CHECK(memory[65530] == 0);  // nothing written
  CHECK(fill(vm, 0, UINT64_MAX, 1, 2) == memory_oob);

  CHECK(copy(vm, 0, 0, 11, 10, 3) == 0);  // overlapping, forwards
  CHECK(memory[13] == 0xAB);
  CHECK(copy(vm, 0, 0, 65535, 0, 2) == memory_oob);
  CHECK(copy(vm, 0, 0, 0, UINT64_MAX - 1, 4) == memory_oob);

  CHECK(init(vm, 0, 0, 100, 1, 4) == 0);
  CHECK(std::memcmp(memory + 100, "ello", 4) == 0);
  CHECK(init(vm, 0, 0, 100, 2, 4) == memory_oob);  // past the segment's end
  CHECK(init(vm, 0, 0, 65535, 0, 2) == memory_oob);
  data_drop(vm, 0);
  CHECK(init(vm, 0, 0, 100, 0, 0) == 0);  // a dropped segment is empty
  CHECK(init(vm, 0, 0, 100, 0, 1) == memory_oob);

  Table& table = *instance->export_named("table")->table;
  CHECK(table_init(vm, 0, 0, 1, 0, 2) == 0);
  CHECK(table.elements()[1] == instance->func_ref(0));
  CHECK(table.elements()[2] == instance->func_ref(0));
  CHECK(table_init(vm, 0, 0, 3, 0, 2) == table_oob);
  CHECK(table_init(vm, 0, 0, 0, 1, 2) == table_oob);
  CHECK(table_copy(vm, 0, 0, 0, 1, 3) == 0);
  CHECK(table.elements()[0] == instance->func_ref(0));
  CHECK(table.elements()[2] == nullptr);
  CHECK(table_copy(vm, 0, 0, 2, 0, 3) == table_oob);
  CHECK(table_fill(vm, 0, 3, instance->func_ref(0), 1) == 0);
  CHECK(table.elements()[3] == instance->func_ref(0));
  CHECK(table_fill(vm, 0, 4, nullptr, 0) == 0);
  CHECK(table_fill(vm, 0, 4, nullptr, 1) == table_oob);
  CHECK(table_grow(vm, 0, instance->func_ref(0), 2) == 4);
  CHECK(table.size() == 6);
  CHECK(table.elements()[5] == instance->func_ref(0));
  elem_drop(vm, 0);
  CHECK(table_init(vm, 0, 0, 0, 0, 0) == 0);
  CHECK(table_init(vm, 0, 0, 0, 0, 1) == table_oob);
}

// ---- With the JIT: the same guarantees for compiled code.

namespace {

std::shared_ptr<const Module> compile_wat(const Engine& engine, std::string_view source) {
  auto binary = text::wat_to_binary(source, "test.wat");
  if (!binary) FAIL(binary.err().to_string());
  auto module = engine.compile(binary.ok());
  if (!module) FAIL(module.err().to_string());
  return module.ok();
}

constexpr std::string_view kCompiledModule = R"(
  (module
    (memory 1 2)
    (table 2 funcref)
    (elem (i32.const 0) $inner)
    (func $inner (param i32) (result i32)
      (i32.load (local.get 0)))
    (func $outer (export "outer") (param i32) (result i32)
      (i32.add (call $inner (local.get 0)) (i32.const 1)))
    (func (export "indirect") (param i32) (result i32)
      (call_indirect (param i32) (result i32) (i32.const 0) (local.get 0)))
    (func $recurse (export "recurse") (param i64) (result i64)
      (i64.add (call $recurse (i64.add (local.get 0) (i64.const 1))) (i64.const 1)))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  )
)";

}  // namespace

TEST_CASE("compiled code: calls, guard-page traps with backtraces, growth", "[runtime][jit]") {
  Fixture f;
  Instance* instance = f.instantiate(compile_wat(f.engine, kCompiledModule));
  Function outer = f.func(instance, "outer");
  auto value = f.store.call(outer, std::vector<uint64_t>{0});
  REQUIRE(value);
  CHECK(value.ok()[0] == 1);

  auto trapped = f.store.call(outer, std::vector<uint64_t>{65535});
  REQUIRE_FALSE(trapped);
  REQUIRE(trapped.err().trap);
  const runtime::Trap& trap = *trapped.err().trap;
  CHECK(trap.code == TrapCode::MemoryOutOfBounds);
  REQUIRE(trap.frames.size() == 2);
  CHECK(trap.frames[0].func_index == 0);
  CHECK(trap.frames[0].name == "inner");  // the text format's $names reach the name section
  CHECK(trap.frames[1].func_index == 1);
  CHECK(trap.frames[1].name == "outer");
  REQUIRE(trap.frames[0].module_offset);
  REQUIRE(trap.frames[1].module_offset);
  CHECK(*trap.frames[0].module_offset < *trap.frames[1].module_offset);

  CHECK(f.store.call(f.func(instance, "grow"), std::vector<uint64_t>{1}).ok()[0] == 1);
  auto grown = f.store.call(outer, std::vector<uint64_t>{65535});
  REQUIRE(grown);
  CHECK(grown.ok()[0] == 1);
  CHECK(f.store.call(f.func(instance, "grow"), std::vector<uint64_t>{1}).ok()[0] == UINT32_MAX);

  auto through_table = f.store.call(f.func(instance, "indirect"), std::vector<uint64_t>{0});
  REQUIRE(through_table);
  CHECK(through_table.ok()[0] == 0);
  auto null_entry = f.store.call(f.func(instance, "indirect"), std::vector<uint64_t>{1});
  REQUIRE_FALSE(null_entry);
  CHECK(null_entry.err().message == "uninitialized element 1");
}

TEST_CASE("compiled code: memories of 1-byte pages", "[runtime][jit][memory]") {
  Fixture f;
  Instance* instance = f.instantiate(compile_wat(f.engine, R"(
    (module
      (memory $bytes 0 5 (pagesize 1))
      (memory $large 1 (pagesize 65536))
      (func (export "size") (result i32) (memory.size $bytes))
      (func (export "grow") (param i32) (result i32) (memory.grow $bytes (local.get 0)))
      (func (export "load8") (param i32) (result i32) (i32.load8_u $bytes (local.get 0)))
      (func (export "load32") (param i32) (result i32) (i32.load $bytes offset=1 (local.get 0)))
      (func (export "store8") (param i32 i32) (i32.store8 $bytes (local.get 0) (local.get 1)))
      (func (export "large-size") (result i32) (memory.size $large)))
  )"));
  auto call = [&](const char* name, std::vector<uint64_t> args) {
    return f.store.call(f.func(instance, name), args);
  };
  CHECK(call("size", {}).ok()[0] == 0);
  CHECK(call("large-size", {}).ok()[0] == 1);
  CHECK(call("grow", {3}).ok()[0] == 0);
  CHECK(call("size", {}).ok()[0] == 3);
  REQUIRE(call("store8", {2, 0xAB}));
  CHECK(call("load8", {2}).ok()[0] == 0xAB);
  // Byte 3 lies in the same host page as bytes 0-2, so no guard page catches it: the compiler
  // checks accesses to memories of small pages against their exact size.
  auto past_end = call("load8", {3});
  REQUIRE_FALSE(past_end);
  REQUIRE(past_end.err().trap);
  CHECK(past_end.err().trap->code == TrapCode::MemoryOutOfBounds);
  auto store_past_end = call("store8", {3, 1});
  REQUIRE_FALSE(store_past_end);
  REQUIRE(store_past_end.err().trap);
  CHECK(store_past_end.err().trap->code == TrapCode::MemoryOutOfBounds);
  // Bytes 1..4 of a 3-byte memory: the access straddles the end.
  REQUIRE_FALSE(call("load32", {0}));
  CHECK(call("grow", {2}).ok()[0] == 3);
  CHECK(call("size", {}).ok()[0] == 5);
  CHECK(call("load32", {0}).ok()[0] == 0xAB00);
  REQUIRE_FALSE(call("load32", {1}));
  // The maximum is 5 pages of 1 byte.
  CHECK(call("grow", {1}).ok()[0] == UINT32_MAX);
  CHECK(call("size", {}).ok()[0] == 5);
}

TEST_CASE("compiled call_indirect accepts declared subtypes of the expected type",
          "[runtime][jit][gc]") {
  Fixture f;
  Instance* instance = f.instantiate(compile_wat(f.engine, R"(
    (module
      (type $base (sub (func (result i32))))
      (type $derived (sub $base (func (result i32))))
      (type $grandchild (sub $derived (func (result i32))))
      ;; Final, so not the same type as $base though structurally alike.
      (type $unrelated (func (result i32)))
      (func $base (type $base) (i32.const 1))
      (func $derived (type $derived) (i32.const 2))
      (func $grandchild (type $grandchild) (i32.const 3))
      (func $unrelated (type $unrelated) (i32.const 4))
      (table funcref (elem $derived $grandchild $unrelated $base))
      (func (export "as-base") (param i32) (result i32)
        (call_indirect (type $base) (local.get 0)))
      (func (export "as-derived") (param i32) (result i32)
        (call_indirect (type $derived) (local.get 0))))
  )"));
  auto call = [&](const char* name, uint64_t slot) {
    return f.store.call(f.func(instance, name), std::vector<uint64_t>{slot});
  };
  // Exact type (the inline compare) and subtypes one and two levels down (the runtime's walk).
  CHECK(call("as-derived", 0).ok()[0] == 2);
  CHECK(call("as-base", 0).ok()[0] == 2);
  CHECK(call("as-base", 1).ok()[0] == 3);
  CHECK(call("as-derived", 1).ok()[0] == 3);
  CHECK(call("as-base", 3).ok()[0] == 1);
  // A structurally alike type that is not a declared subtype, and a supertype, still trap.
  for (auto [name, slot] : {std::pair{"as-base", 2}, {"as-derived", 2}, {"as-derived", 3}}) {
    auto mismatch = call(name, slot);
    REQUIRE_FALSE(mismatch);
    REQUIRE(mismatch.err().trap);
    CHECK(mismatch.err().trap->code == TrapCode::BadSignature);
  }
}

TEST_CASE("compiled code: each instance reads its own memory across calls between them",
          "[runtime][jit][memory]") {
  // Memory 0's base is pinned in r15 (docs/jit-abi.md): a callee of another instance pins its
  // own, so the caller must read its own memory again after an import or call_indirect.
  Fixture f;
  Instance* other = f.instantiate(compile_wat(f.engine, R"(
    (module
      (memory 1)
      (data (i32.const 0) "\22\22\22\22")
      (table (export "table") 1 funcref)
      (elem (i32.const 0) $peek)
      (func $peek (export "peek") (result i32) (i32.load (i32.const 0))))
  )"));
  auto peek = other->export_named("peek");
  auto table = other->export_named("table");
  REQUIRE(peek);
  REQUIRE(table);
  Instance* instance = f.instantiate(compile_wat(f.engine, R"(
    (module
      (import "other" "peek" (func $peek (result i32)))
      (import "other" "table" (table 1 funcref))
      (memory 1)
      (data (i32.const 0) "\11\11\11\11")
      (func $own (result i32) (i32.load (i32.const 0)))
      ;; own + other + own, the other's read through the import, then through the table.
      (func (export "via-import") (result i32)
        (i32.add (i32.add (call $own) (call $peek)) (i32.load (i32.const 0))))
      (func (export "via-table") (result i32)
        (i32.add (i32.add (call $own) (call_indirect (result i32) (i32.const 0)))
                 (i32.load (i32.const 0)))))
  )"),
                                     {*peek, *table});
  const uint64_t expected = 0x11111111u + 0x22222222u + 0x11111111u;
  CHECK(f.store.call(f.func(instance, "via-import"), {}).ok()[0] == expected);
  CHECK(f.store.call(f.func(instance, "via-table"), {}).ok()[0] == expected);
}

TEST_CASE("compiled code: stack overflow on the main thread and a 256 KiB thread",
          "[runtime][jit][stack]") {
  Fixture f;
  Instance* instance = f.instantiate(compile_wat(f.engine, kCompiledModule));
  Function recurse = f.func(instance, "recurse");
  auto main_thread = f.store.call(recurse, std::vector<uint64_t>{0});
  REQUIRE_FALSE(main_thread);
  REQUIRE(main_thread.err().trap);
  CHECK(main_thread.err().trap->code == TrapCode::StackOverflow);
  CHECK(main_thread.err().message == "call stack exhausted");

  struct Shared {
    Store* store;
    Function function;
    std::optional<TrapCode> code;
  } shared{&f.store, recurse, std::nullopt};
  pthread_attr_t attributes;
  REQUIRE(pthread_attr_init(&attributes) == 0);
  REQUIRE(pthread_attr_setstacksize(&attributes, 256 * 1024) == 0);
  pthread_t thread;
  auto body = [](void* argument) -> void* {
    auto* s = static_cast<Shared*>(argument);
    auto result = s->store->call(s->function, std::vector<uint64_t>{0});
    if (!result && result.err().trap) s->code = result.err().trap->code;
    return nullptr;
  };
  REQUIRE(pthread_create(&thread, &attributes, body, &shared) == 0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attributes);
  CHECK(shared.code == TrapCode::StackOverflow);
  // And the main thread still runs code.
  CHECK(f.store.call(f.func(instance, "outer"), std::vector<uint64_t>{0}));
}

TEST_CASE("traps stay exact while other threads register and drop code", "[runtime][threads]") {
  Fixture f;
  WasmBuilder b;
  b.type({I32}, {I32});
  b.memory(1, 1);
  b.func(0, {0x20, 0x00, 0x28, 0x02, 0x00});
  b.export_("load", 0, 0);
  Instance* instance = f.instantiate(f.compile(b, {emit_load32}));
  Function load = f.func(instance, "load");

  struct Churn {
    const Engine* engine;
    std::vector<uint8_t> bytes;
    std::atomic<bool> stop{false};
    std::atomic<uint32_t> compiled{0};
  } churn{&f.engine, b.bytes()};
  pthread_t thread;
  auto body = [](void* argument) -> void* {
    auto* c = static_cast<Churn*>(argument);
    while (!c->stop.load()) {
      auto module = c->engine->compile_with(c->bytes, hand_written({emit_load32}));
      if (module) c->compiled.fetch_add(1);
    }
    return nullptr;
  };
  REQUIRE(pthread_create(&thread, nullptr, body, &churn) == 0);
  uint32_t exact = 0;
  const uint32_t rounds = 2000;
  for (uint32_t i = 0; i < rounds || churn.compiled.load() < 20; ++i) {
    auto result = f.store.call(load, std::vector<uint64_t>{65536 + i});
    if (!result && result.err().trap && result.err().trap->code == TrapCode::MemoryOutOfBounds &&
        result.err().trap->frames.size() == 1) {
      ++exact;
    }
    if (i >= rounds && exact != i + 1) break;
  }
  churn.stop = true;
  pthread_join(thread, nullptr);
  CHECK(exact >= rounds);
  CHECK(churn.compiled.load() >= 20);
}

// ---- GC objects: layout, the Store's heap, allocation in constant expressions.

namespace {

// The bits of an exported global.
uint64_t global_bits(Instance* instance, const std::string& field) {
  std::optional<Extern> value = instance->export_named(field);
  REQUIRE(value);
  REQUIRE(value->kind == wasm::ExternKind::Global);
  uint64_t bits;
  std::memcpy(&bits, value->global->cell.bytes, 8);
  return bits;
}

const VMGcHeader* object_at(uint64_t bits) {
  REQUIRE(bits != 0);
  REQUIRE(bits % kGcObjectAlignment == 0);  // neither null, tagged, nor misaligned
  return reinterpret_cast<const VMGcHeader*>(uintptr_t(bits));
}

template <typename T>
T read_at(const VMGcHeader* object, uint32_t offset) {
  T value;
  std::memcpy(&value, reinterpret_cast<const uint8_t*>(object) + offset, sizeof value);
  return value;
}

GcLayout array_layout(wasm::ValType element, wasm::PackedKind packed = wasm::PackedKind::None) {
  wasm::SubType type;
  type.kind = wasm::CompositeKind::Array;
  type.array.element = {element, packed, true};
  return gc_layout(type);
}

}  // namespace

TEST_CASE("GC layout: declaration order, packed fields, natural alignment", "[runtime][gc]") {
  Engine engine;
  auto module = compile_wat(engine, R"(
    (module
      (type $mixed (struct (field i8) (field i32) (field (mut i16)) (field i64) (field v128)
                           (field anyref) (field f32) (field i8)))
      (type $empty (struct))
      (type $base (sub (struct (field i8))))
      (type $derived (sub $base (struct (field i8) (field f64))))
      (type $bytes (array (mut i8)))
      (type $halves (array i16))
      (type $vectors (array v128))
      (type $refs (array funcref))
      (type $f (func)))
  )");
  const GcLayout& mixed = module->gc_layout(0);
  REQUIRE(mixed.kind == GcKind::Struct);
  std::vector<uint32_t> offsets;
  for (const GcField& field : mixed.fields) offsets.push_back(field.offset);
  // Header (8), i8 at 8, i32 aligned to 12, i16 at 16, i64 aligned to 24, v128 aligned to 32,
  // the reference at 48, f32 at 56, i8 at 60; 61 bytes rounded up to 64.
  CHECK(offsets == std::vector<uint32_t>{8, 12, 16, 24, 32, 48, 56, 60});
  CHECK(mixed.fields[0].storage == GcStorage::I8);
  CHECK(mixed.fields[2].storage == GcStorage::I16);
  CHECK(mixed.fields[4].storage == GcStorage::V128);
  CHECK(mixed.fields[5].storage == GcStorage::Ref);
  CHECK(mixed.size == 64);

  CHECK(module->gc_layout(1).kind == GcKind::Struct);
  CHECK(module->gc_layout(1).size == 8);  // the header alone
  CHECK(module->gc_layout(1).fields.empty());

  // A subtype's fields extend its supertype's, so the shared prefix sits at the same offsets.
  const GcLayout& base = module->gc_layout(2);
  const GcLayout& derived = module->gc_layout(3);
  CHECK(base.fields[0].offset == derived.fields[0].offset);
  CHECK(derived.fields[1].offset == 16);
  CHECK(derived.size == 24);

  for (uint32_t type : {4u, 5u, 6u, 7u}) {
    const GcLayout& array = module->gc_layout(type);
    CHECK(array.kind == GcKind::Array);
    CHECK(array.size == kArrayElementsOffset);
    REQUIRE(array.fields.size() == 1);
    CHECK(array.fields[0].offset == 16);
  }
  CHECK(storage_size(module->gc_layout(4).fields[0].storage) == 1);
  CHECK(storage_size(module->gc_layout(5).fields[0].storage) == 2);
  CHECK(storage_size(module->gc_layout(6).fields[0].storage) == 16);
  CHECK(storage_size(module->gc_layout(7).fields[0].storage) == 8);
  CHECK(module->gc_layout(8).kind == GcKind::None);

  CHECK(array_object_size(2, 3) == 22u);
  CHECK(array_object_size(16, uint64_t(1) << 60) == std::nullopt);  // 2^64: overflows
  CHECK(array_object_size(1, UINT64_MAX - 15) == std::nullopt);     // the header overflows
  CHECK(array_object_size(1, UINT64_MAX - 16) == UINT64_MAX);
}

TEST_CASE("GC references: i31 values and extern/any conversions", "[runtime][gc]") {
  static_assert(i31_from_i32(5) == 11);
  static_assert(i31_get_u(i31_from_i32(0xFFFFFFFF)) == 0x7FFFFFFF);
  static_assert(i31_get_s(i31_from_i32(0xFFFFFFFF)) == -1);
  static_assert(i31_get_s(i31_from_i32(0x40000000)) == -0x40000000);  // the i31's sign bit
  static_assert(i31_get_s(i31_from_i32(0x3FFFFFFF)) == 0x3FFFFFFF);
  static_assert(i31_from_i32(0x80000001) == i31_from_i32(1));  // bit 31 is dropped

  Engine engine;
  Store store(engine);
  alignas(8) static uint64_t host_object;  // what an embedder's externref points to
  const uint64_t host = uintptr_t(&host_object);
  Global* imported = store.new_global(wasm::ValType::externref(), false, host);
  Extern import;
  import.kind = wasm::ExternKind::Global;
  import.global = imported;
  auto instance = store.instantiate(compile_wat(engine, R"(
    (module
      (type $s (struct))
      (global $host (import "env" "host") externref)
      (global (export "i31") i31ref (ref.i31 (i32.const -1)))
      (global (export "i31-as-extern") externref (extern.convert_any (ref.i31 (i32.const 7))))
      (global (export "internalized") anyref (any.convert_extern (global.get $host)))
      (global (export "round-trip") externref
        (extern.convert_any (any.convert_extern (global.get $host))))
      (global (export "externalized") externref (extern.convert_any (struct.new_default $s)))
      (global (export "back") anyref (any.convert_extern (extern.convert_any (struct.new_default $s))))
      (global (export "null-any") anyref (any.convert_extern (ref.null extern)))
      (global (export "null-extern") externref (extern.convert_any (ref.null any))))
  )"),
                                    std::vector<Extern>{import});
  REQUIRE(instance);
  Instance* i = instance.ok();
  CHECK(global_bits(i, "i31") == 0xFFFFFFFF);  // (0x7FFFFFFF << 1) | 1
  CHECK(i31_get_s(global_bits(i, "i31")) == -1);
  CHECK(global_bits(i, "i31-as-extern") == i31_from_i32(7));
  // A host reference inside the any hierarchy is tagged, so it is never taken for an object.
  CHECK(global_bits(i, "internalized") == (host | kInternalizedExternTag));
  CHECK(global_bits(i, "round-trip") == host);
  const uint64_t externalized = global_bits(i, "externalized");
  CHECK((externalized & kExternalizedAnyTag) != 0);
  CHECK(object_at(externalized & ~kExternalizedAnyTag)->kind == GcKind::Struct);
  CHECK(object_at(global_bits(i, "back"))->kind == GcKind::Struct);
  CHECK(global_bits(i, "null-any") == 0);
  CHECK(global_bits(i, "null-extern") == 0);
}

TEST_CASE("GC structs from constant expressions: defaults and stored values", "[runtime][gc]") {
  Engine engine;
  Store store(engine);
  auto module = compile_wat(engine, R"(
    (module
      (type $s (struct (field i8) (field (mut i16)) (field i32) (field i64) (field f32)
                       (field f64) (field anyref) (field v128) (field (mut i8))))
      (type $empty (struct))
      (global (export "default") (ref $s) (struct.new_default $s))
      (global (export "values") (ref $s)
        (struct.new $s (i32.const 0x1FF) (i32.const -1) (i32.const 7) (i64.const -2)
                       (f32.const 1.5) (f64.const 2.5) (ref.i31 (i32.const 5))
                       (v128.const i64x2 0x1122334455667788 -1) (i32.const 0x80)))
      (global (export "empty") (ref $empty) (struct.new $empty)))
  )");
  auto instance = store.instantiate(module, {});
  REQUIRE(instance);
  const GcLayout& layout = module->gc_layout(0);
  const uint32_t type_id = module->types().canonical_id(0);

  const VMGcHeader* defaults = object_at(global_bits(instance.ok(), "default"));
  CHECK(defaults->type_id == type_id);
  CHECK(defaults->kind == GcKind::Struct);
  CHECK(defaults->gc_bits == 0);
  for (uint32_t offset = kStructFieldsOffset; offset < layout.size; ++offset) {
    CHECK(read_at<uint8_t>(defaults, offset) == 0);  // 0, +0.0, null and padding
  }

  const VMGcHeader* values = object_at(global_bits(instance.ok(), "values"));
  CHECK(values->type_id == type_id);
  auto at = [&](uint32_t field) { return layout.fields[field].offset; };
  CHECK(read_at<uint8_t>(values, at(0)) == 0xFF);   // packed: the low 8 bits
  CHECK(read_at<uint8_t>(values, at(0) + 1) == 0);  // and not a byte more
  CHECK(read_at<uint16_t>(values, at(1)) == 0xFFFF);
  CHECK(read_at<uint32_t>(values, at(2)) == 7);
  CHECK(read_at<int64_t>(values, at(3)) == -2);
  CHECK(read_at<float>(values, at(4)) == 1.5f);
  CHECK(read_at<double>(values, at(5)) == 2.5);
  CHECK(read_at<uint64_t>(values, at(6)) == i31_from_i32(5));
  CHECK(read_at<uint64_t>(values, at(7)) == 0x1122334455667788u);
  CHECK(read_at<uint64_t>(values, at(7) + 8) == UINT64_MAX);
  CHECK(read_at<uint8_t>(values, at(8)) == 0x80);

  const VMGcHeader* empty = object_at(global_bits(instance.ok(), "empty"));
  CHECK(empty->type_id == module->types().canonical_id(1));
  CHECK(empty != defaults);
  CHECK(store.gc_heap().bytes_allocated() == 2 * 80 + 16);  // 72 and 8 rounded up to 16
}

TEST_CASE("GC arrays from constant expressions: length and elements", "[runtime][gc]") {
  Engine engine;
  Store store(engine);
  auto module = compile_wat(engine, R"(
    (module
      (type $bytes (array (mut i8)))
      (type $longs (array i64))
      (type $vectors (array v128))
      (global (export "fixed") (ref $bytes)
        (array.new_fixed $bytes 3 (i32.const 1) (i32.const 0x102) (i32.const 3)))
      (global (export "filled") (ref $longs) (array.new $longs (i64.const -5) (i32.const 4)))
      (global (export "zeros") (ref $longs) (array.new_default $longs (i32.const 10)))
      (global (export "none") (ref $vectors) (array.new_fixed $vectors 0))
      (global (export "vectors") (ref $vectors)
        (array.new $vectors (v128.const i32x4 1 2 3 4) (i32.const 2))))
  )");
  auto instance = store.instantiate(module, {});
  REQUIRE(instance);
  Instance* i = instance.ok();
  auto array = [&](const char* name) {
    return reinterpret_cast<const VMGcArray*>(object_at(global_bits(i, name)));
  };

  const VMGcArray* fixed = array("fixed");
  CHECK(fixed->header.kind == GcKind::Array);
  CHECK(fixed->header.type_id == module->types().canonical_id(0));
  CHECK(fixed->length == 3);
  CHECK(read_at<uint8_t>(&fixed->header, 16) == 1);
  CHECK(read_at<uint8_t>(&fixed->header, 17) == 2);  // 0x102 wrapped to i8
  CHECK(read_at<uint8_t>(&fixed->header, 18) == 3);

  const VMGcArray* filled = array("filled");
  CHECK(filled->length == 4);
  for (uint32_t k = 0; k < 4; ++k) CHECK(read_at<int64_t>(&filled->header, 16 + 8 * k) == -5);

  const VMGcArray* zeros = array("zeros");
  CHECK(zeros->length == 10);
  CHECK(zeros->header.type_id == module->types().canonical_id(1));
  for (uint32_t k = 0; k < 10; ++k) CHECK(read_at<int64_t>(&zeros->header, 16 + 8 * k) == 0);

  CHECK(array("none")->length == 0);
  const VMGcArray* vectors = array("vectors");
  CHECK(vectors->length == 2);
  for (uint32_t k = 0; k < 2; ++k) {
    for (uint32_t lane = 0; lane < 4; ++lane) {
      CHECK(read_at<uint32_t>(&vectors->header, 16 + 16 * k + 4 * lane) == lane + 1);
    }
  }
}

TEST_CASE("the GC heap refuses objects beyond its limit or of overflowing size", "[runtime][gc]") {
  const GcLayout longs = array_layout(wasm::ValType::i64());
  const GcLayout vectors = array_layout(wasm::ValType::v128());
  wasm::SubType empty_struct;
  empty_struct.kind = wasm::CompositeKind::Struct;
  const GcLayout empty = gc_layout(empty_struct);

  GcHeap heap(4096);
  // 16 + 511 * 8 = 4104 bytes: just over the limit.
  auto too_large = heap.new_array(0, longs, 511);
  REQUIRE_FALSE(too_large);
  CHECK(too_large.err() == TrapCode::AllocationTooLarge);
  CHECK(heap.bytes_allocated() == 0);
  auto fits = heap.new_array(0, longs, 510);  // exactly 4096
  REQUIRE(fits);
  CHECK(fits.ok()->length == 510);
  CHECK(heap.bytes_allocated() == 4096);
  auto full = heap.new_struct(0, empty);  // even 16 bytes are too many now
  REQUIRE_FALSE(full);
  CHECK(full.err() == TrapCode::AllocationTooLarge);
  // 8 bytes left and an 8-byte struct: it takes 16 once rounded to the object alignment.
  GcHeap rounding(4104);
  REQUIRE(rounding.new_array(0, longs, 510));
  CHECK_FALSE(rounding.new_struct(0, empty));
  CHECK(rounding.bytes_allocated() == 4096);

  // 16 + (2^32 - 1) * 16 bytes: far beyond the default limit, refused before any allocation.
  GcHeap large(EngineConfig{}.max_gc_heap_bytes);
  auto huge = large.new_array(0, vectors, UINT32_MAX);
  REQUIRE_FALSE(huge);
  CHECK(huge.err() == TrapCode::AllocationTooLarge);
  // A limit of 2^64 - 1 cannot be reached by rounding a size up past it.
  GcHeap unlimited(UINT64_MAX);
  CHECK(unlimited.new_struct(0, empty));

  // Small objects share chunks, large ones get blocks of their own; all 16-byte aligned, none
  // overlapping.
  std::vector<std::pair<uintptr_t, uintptr_t>> ranges;
  const uint32_t small_length = 100;    // 816 bytes
  for (uint32_t k = 0; k < 400; ++k) {  // > 256 KiB: several chunks
    auto object = large.new_array(1, longs, k % 7 == 0 ? 10'000 : small_length);
    REQUIRE(object);
    const uintptr_t begin = uintptr_t(object.ok());
    CHECK(begin % kGcObjectAlignment == 0);
    ranges.emplace_back(begin, begin + 16 + 8 * uintptr_t(object.ok()->length));
    CHECK(object.ok()->header.type_id == 1);
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t k = 1; k < ranges.size(); ++k) CHECK(ranges[k - 1].second <= ranges[k].first);
}

TEST_CASE("a constant expression's allocation beyond the GC heap's limit traps", "[runtime][gc]") {
  EngineConfig config;
  config.max_gc_heap_bytes = 1024;
  Engine engine(config);
  Store store(engine);
  auto instantiate = [&](std::string_view wat) {
    return store.instantiate(compile_wat(engine, wat), {});
  };
  for (std::string_view wat : {
           R"((module (type $a (array i64))
                (global (ref $a) (array.new_default $a (i32.const 1000)))))",
           // Length 2^32 - 1: 32 GiB, refused without overflowing anything.
           R"((module (type $a (array i64))
                (global (ref $a) (array.new $a (i64.const 1) (i32.const -1)))))",
           // Each object fits, together they do not.
           R"((module (type $a (array i8))
                (table 8 arrayref)
                (elem (i32.const 0) arrayref (item (array.new_default $a (i32.const 500)))
                                             (item (array.new_default $a (i32.const 500))))))",
       }) {
    auto failed = instantiate(wat);
    REQUIRE_FALSE(failed);
    CHECK(failed.err().kind == Failure::Kind::Trap);
    REQUIRE(failed.err().trap);
    CHECK(failed.err().trap->code == TrapCode::AllocationTooLarge);
    CHECK(failed.err().message == "allocation size too large");
  }
}

TEST_CASE("element segments with GC allocations are evaluated once per instantiation",
          "[runtime][gc][segments]") {
  Engine engine;
  Store store(engine);
  // table_init.wast's test, with the table exported.
  auto module = compile_wat(engine, R"(
    (module
      (type $arr (array (mut arrayref)))
      (table $table (export "table") 2 arrayref)
      (elem $elem arrayref (item (array.new_default $arr (i32.const 0))))
      (func (export "run") (result i32)
        (table.init $table $elem (i32.const 0) (i32.const 0) (i32.const 1))
        (table.init $table $elem (i32.const 1) (i32.const 0) (i32.const 1))
        (ref.eq (table.get $table (i32.const 0))
                (table.get $table (i32.const 1)))))
  )");
  auto first = store.instantiate(module, {});
  auto second = store.instantiate(module, {});
  REQUIRE(first);
  REQUIRE(second);
  auto run = [&](Instance* instance) {
    auto result = store.call(instance->export_named("run")->func, {});
    REQUIRE(result);
    return result.ok()[0];
  };
  CHECK(run(first.ok()) == 1);
  CHECK(run(second.ok()) == 1);
  void** a = first.ok()->export_named("table")->table->elements();
  void** b = second.ok()->export_named("table")->table->elements();
  CHECK(a[0] == a[1]);
  CHECK(b[0] == b[1]);
  CHECK(a[0] != b[0]);  // each instantiation evaluates the segment anew
  const auto* array = reinterpret_cast<const VMGcArray*>(object_at(uintptr_t(a[0])));
  CHECK(array->header.kind == GcKind::Array);
  CHECK(array->header.type_id == module->types().canonical_id(0));
  CHECK(array->length == 0);
  CHECK(store.gc_heap().bytes_allocated() == 2 * 16);  // one object per instance, no more
}

// ---- Serialized modules (runtime/serialize.hpp; the format is docs/serialize.md)

TEST_CASE("xxh64 gives the reference implementation's values", "[runtime][serialize]") {
  // Computed with libxxhash 0.8.1's XXH64 over bytes i*7+3 (mod 256), seed 0 unless given: every
  // path of the algorithm (under 4, 4-7, 8-31 bytes, whole 32-byte stripes and a tail).
  std::vector<uint8_t> bytes(200);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t(i * 7 + 3);
  const std::pair<size_t, uint64_t> expected[] = {
      {0, 0xef46db3751d8e999ull},  {1, 0x1f25c8d0bc1f4bb6ull},  {3, 0x31d2363f52e564c9ull},
      {4, 0x9bb64b7d66ee9fdaull},  {7, 0x9a7b149959ce60d8ull},  {8, 0xdab99d95c6f90092ull},
      {31, 0xa2aa5f33cc4a6119ull}, {32, 0x23c3c17ef790fd97ull}, {33, 0x50a7cfc7ba588784ull},
      {63, 0x5e3e54b431c7493cull}, {64, 0x0eb64b3ef6eeb01full}, {100, 0xa61f8d4c170fe531ull},
      {200, 0xa6cb3c09bc829b24ull}};
  for (auto [size, hash] : expected) {
    INFO(size << " bytes");
    CHECK(xxh64(std::span(bytes).first(size)) == hash);
  }
  CHECK(xxh64(std::span(bytes).first(100), 0x123456789) == 0x8505071c55df3ceaull);
  const std::string abc = "abc";
  CHECK(xxh64({reinterpret_cast<const uint8_t*>(abc.data()), 3}) == 0x44bc2cf5ad770999ull);
}

TEST_CASE("source maps: lookups give the last entry at or below an offset", "[runtime]") {
  // Equal code offsets, wasm offsets going back, multi-byte distances, several blocks.
  std::vector<std::pair<uint32_t, uint32_t>> entries;
  uint32_t code = 5, wasm = 1000;
  for (uint32_t i = 0; i < 5 * SourceMap::kStride + 3; ++i) {
    entries.emplace_back(code, wasm);
    code += i % 5 == 0 ? 0 : (i % 7 == 0 ? 300 : 3);
    wasm = i % 11 == 0 ? wasm - 40 : wasm + (i % 13 == 0 ? 100000 : 2);
  }
  SourceMap map;
  for (auto [c, w] : entries) REQUIRE(map.push(c, w));
  CHECK(map.size() == entries.size());
  CHECK(map.entries() == entries);
  CHECK(map.deltas().size() < entries.size() * 3);  // compact: a few bytes an entry
  for (uint32_t offset = 0; offset <= code + 2; ++offset) {
    std::optional<uint32_t> naive;
    for (auto [c, w] : entries) {
      if (c <= offset) naive = w;
    }
    INFO("code offset " << offset);
    REQUIRE(map.find(offset) == naive);
  }
  CHECK_FALSE(map.push(code - 400, 0));  // behind the last entry
  CHECK(map.size() == entries.size());

  // Its two arrays make the same map again; inconsistent ones are refused.
  auto checkpoints = std::vector(map.checkpoints().begin(), map.checkpoints().end());
  auto deltas = std::vector(map.deltas().begin(), map.deltas().end());
  SourceMap copy;
  REQUIRE(copy.assign(checkpoints, deltas));
  CHECK(copy == map);
  REQUIRE(copy.push(code + 10, 7));  // appending goes on from the last entry
  CHECK(copy.find(code + 10) == 7u);
  SourceMap bad;
  auto beyond = checkpoints;
  beyond.back().delta_offset = uint32_t(deltas.size() + 1);
  CHECK_FALSE(bad.assign(beyond, deltas));
  auto unordered = checkpoints;
  std::swap(unordered[1].code_offset, unordered[2].code_offset);
  CHECK_FALSE(bad.assign(unordered, deltas));
  CHECK(bad.empty());
}

namespace {

// An artifact taken apart as docs/serialize.md lays it out, independently of the reader.
struct ArtifactParts {
  uint32_t format_version = 0;
  std::string kiln_version, build_id, isa;
  uint64_t cpu_features = 0, wasm_features = 0, guard_size = 0;
  uint8_t flags[4] = {};
  std::vector<uint8_t> payload;  // from the end of the header to the checksum
};

uint32_t get32(const std::vector<uint8_t>& bytes, size_t at) {
  uint32_t value;
  std::memcpy(&value, bytes.data() + at, 4);
  return value;
}
uint64_t get64(const std::vector<uint8_t>& bytes, size_t at) {
  uint64_t value;
  std::memcpy(&value, bytes.data() + at, 8);
  return value;
}
void put32(std::vector<uint8_t>& out, uint32_t value) {
  out.insert(out.end(), reinterpret_cast<uint8_t*>(&value), reinterpret_cast<uint8_t*>(&value) + 4);
}
void put64(std::vector<uint8_t>& out, uint64_t value) {
  out.insert(out.end(), reinterpret_cast<uint8_t*>(&value), reinterpret_cast<uint8_t*>(&value) + 8);
}

ArtifactParts take_apart(const std::vector<uint8_t>& artifact) {
  ArtifactParts parts;
  REQUIRE(artifact.size() >= 32);
  REQUIRE(std::equal(kArtifactMagic.begin(), kArtifactMagic.end(), artifact.begin()));
  parts.format_version = get32(artifact, 8);
  const uint32_t header_size = get32(artifact, 12);
  REQUIRE(get64(artifact, 16) == artifact.size());
  size_t at = 24;
  for (std::string* text : {&parts.kiln_version, &parts.build_id, &parts.isa}) {
    const uint32_t size = get32(artifact, at);
    text->assign(artifact.begin() + ptrdiff_t(at + 4), artifact.begin() + ptrdiff_t(at + 4 + size));
    at += 4 + size;
  }
  parts.cpu_features = get64(artifact, at);
  parts.wasm_features = get64(artifact, at + 8);
  parts.guard_size = get64(artifact, at + 16);
  std::memcpy(parts.flags, artifact.data() + at + 24, 4);
  REQUIRE(header_size == ((at + 28 + 7) & ~size_t(7)));
  parts.payload.assign(artifact.begin() + header_size, artifact.end() - 8);
  REQUIRE(get64(artifact, artifact.size() - 8) ==
          xxh64(std::span(artifact).first(artifact.size() - 8)));
  return parts;
}

// Puts an artifact together again, with a correct size and checksum: a header field changed
// in `parts` reaches the check that reads it.
std::vector<uint8_t> put_together(const ArtifactParts& parts) {
  std::vector<uint8_t> out(kArtifactMagic.begin(), kArtifactMagic.end());
  put32(out, parts.format_version);
  put32(out, 0);
  put64(out, 0);
  for (const std::string* text : {&parts.kiln_version, &parts.build_id, &parts.isa}) {
    put32(out, uint32_t(text->size()));
    out.insert(out.end(), text->begin(), text->end());
  }
  put64(out, parts.cpu_features);
  put64(out, parts.wasm_features);
  put64(out, parts.guard_size);
  out.insert(out.end(), parts.flags, parts.flags + 4);
  out.resize((out.size() + 7) & ~size_t(7), 0);
  const uint32_t header_size = uint32_t(out.size());
  std::memcpy(out.data() + 12, &header_size, 4);
  out.insert(out.end(), parts.payload.begin(), parts.payload.end());
  const uint64_t size = out.size() + 8;
  std::memcpy(out.data() + 16, &size, 8);
  put64(out, xxh64(out));
  return out;
}

// Where each payload section's entries start, in payload order: wasm bytes, function bodies,
// code, functions, trap sites, source-map checkpoints, source-map deltas.
std::vector<size_t> payload_sections(const std::vector<uint8_t>& payload) {
  const size_t entry_sizes[] = {1, 16, 1, 12, 12, 12, 1};
  std::vector<size_t> starts;
  size_t at = 0;
  for (size_t entry : entry_sizes) {
    const uint64_t count = get64(payload, at);
    starts.push_back(at + 8);
    at = (at + 8 + count * entry + 7) & ~size_t(7);
  }
  REQUIRE(at == payload.size());
  return starts;
}

std::string load_error(const Engine& engine, const std::vector<uint8_t>& artifact) {
  auto loaded = engine.deserialize(artifact);
  return loaded ? "(accepted)" : loaded.err().message();
}

}  // namespace

TEST_CASE("serialized modules: the header names the build, ISA, CPU features and settings",
          "[runtime][serialize]") {
  Engine engine;
  auto module = compile_wat(engine, kCompiledModule);
  const std::vector<uint8_t> artifact = module->serialize();
  auto header = read_artifact_header(artifact);
  REQUIRE(header);
  CHECK(header.ok().format_version == kArtifactFormatVersion);
  CHECK(header.ok().kiln_version == kiln::version());
  CHECK(header.ok().build_id == kiln_build_id());
  CHECK(header.ok().isa == "x86-64");
  CHECK(header.ok().settings.cpu_features == jit::host_cpu_features());
  CHECK(feature_bits(header.ok().settings.features) == feature_bits(engine.config().features));
  CHECK(header.ok().settings.compile.guard_pages);
  CHECK(header.ok().settings.compile.guard_size == engine.config().compile.guard_size);
  // The layout is the documented one: taken apart and put together, the same bytes.
  const ArtifactParts parts = take_apart(artifact);
  CHECK(parts.kiln_version == kiln::version());
  CHECK(put_together(parts) == artifact);
}

TEST_CASE("serialized modules: another Kiln build, ISA or CPU is refused", "[runtime][serialize]") {
  Engine engine;
  const ArtifactParts parts = take_apart(compile_wat(engine, kCompiledModule)->serialize());
  {
    ArtifactParts other = parts;
    other.kiln_version = "0.0.1";
    const std::string error = load_error(engine, put_together(other));
    CHECK_THAT(error, Catch::Contains("compiled by Kiln 0.0.1"));
    CHECK_THAT(error, Catch::Contains("this is Kiln " + std::string(kiln::version())));
  }
  {
    ArtifactParts other = parts;
    other.build_id = "0123456789ab";
    CHECK_THAT(
        load_error(engine, put_together(other)),
        Catch::Contains("(build 0123456789ab)") && Catch::Contains("compile the module again"));
  }
  {
    ArtifactParts other = parts;
    other.isa = "aarch64";
    CHECK_THAT(load_error(engine, put_together(other)),
               Catch::Contains("holds aarch64 code, but this machine runs x86-64 code"));
  }
  {
    ArtifactParts other = parts;
    other.cpu_features |= uint64_t(1) << 40;  // a feature no build knows: no CPU has it here
    CHECK_THAT(load_error(engine, put_together(other)),
               Catch::Contains("CPU features this CPU lacks: bit 40"));
  }
  // A CPU without LZCNT refuses code compiled where the JIT used it, naming it.
  auto header = read_artifact_header(put_together(parts));
  REQUIRE(header);
  header.ok().settings.cpu_features = jit::kCpuLzcnt | jit::kCpuPopcnt;
  CodeSettings old_cpu = engine.code_settings();
  old_cpu.cpu_features = jit::kCpuPopcnt | jit::kCpuSse41;
  auto refused = check_artifact_compatible(header.ok(), old_cpu);
  REQUIRE_FALSE(refused);
  CHECK(refused.err().message() ==
        "serialized module's code uses CPU features this CPU lacks: LZCNT (compile the module "
        "on this machine)");
  // Code that assumed less than the CPU has runs.
  header.ok().settings.cpu_features = jit::kCpuPopcnt;
  CHECK(check_artifact_compatible(header.ok(), old_cpu));
  // Settings mismatches are listed together.
  CodeSettings other = engine.code_settings();
  other.compile.guard_pages = false;
  other.compile.consume_fuel = true;
  other.compile.epoch_interruption = true;
  auto settings = check_artifact_compatible(header.ok(), other);
  REQUIRE_FALSE(settings);
  CHECK_THAT(settings.err().message(), Catch::Contains("guard pages") &&
                                           Catch::Contains("fuel (consume_fuel) is off") &&
                                           Catch::Contains("epoch interruption is off"));
}

TEST_CASE("serialized modules: inconsistent tables are refused even under a valid checksum",
          "[runtime][serialize]") {
  // What a writer's bug (or a forged checksum) would produce: the reader checks what the runtime
  // indexes with, so it never reads or points outside the artifact or the code.
  Engine engine;
  const ArtifactParts parts = take_apart(compile_wat(engine, kCompiledModule)->serialize());
  const std::vector<size_t> sections = payload_sections(parts.payload);
  auto with = [&](size_t at, uint32_t value) {
    ArtifactParts changed = parts;
    std::memcpy(changed.payload.data() + at, &value, 4);
    return load_error(engine, put_together(changed));
  };
  const size_t functions = sections[3], trap_sites = sections[4], checkpoints = sections[5];
  CHECK_THAT(with(functions + 8, 7), Catch::Contains("function 0 lies outside the code"));
  CHECK_THAT(with(functions, 1u << 30), Catch::Contains("lies outside the code"));
  CHECK_THAT(with(trap_sites + 4, 200), Catch::Contains("unknown trap code"));
  CHECK_THAT(with(checkpoints + 8, 1u << 30), Catch::Contains("inconsistent source map"));
  CHECK_THAT(with(sections[1] - 8, 1), Catch::Contains("malformed serialized module"));
  CHECK_THAT(with(sections[2] - 8, 1u << 31), Catch::Contains("the code overrun the artifact"));
  // The function bodies' table must match the module's functions: here it is emptied.
  ArtifactParts no_bodies = parts;
  const uint64_t bodies = get64(parts.payload, sections[1] - 8);
  REQUIRE(bodies == 5);
  no_bodies.payload.erase(no_bodies.payload.begin() + ptrdiff_t(sections[1]),
                          no_bodies.payload.begin() + ptrdiff_t(sections[1] + bodies * 16));
  std::memset(no_bodies.payload.data() + sections[1] - 8, 0, 8);
  CHECK_THAT(load_error(engine, put_together(no_bodies)),
             Catch::Contains("the body table does not match the module's functions"));
}

TEST_CASE("serialized modules: the loaded code runs elsewhere, with the same traps and frames",
          "[runtime][serialize]") {
  Engine compiling;
  auto compiled = compile_wat(compiling, kCompiledModule);
  Engine loading;
  auto loaded = loading.deserialize(compiled->serialize());
  REQUIRE(loaded);
  const Module& a = *compiled;
  const Module& b = *loaded.ok();
  // The same bytes at another address: the code is position-independent.
  CHECK(a.code().begin() != b.code().begin());
  REQUIRE(a.code().size() == b.code().size());
  CHECK(std::equal(a.code().begin(), a.code().end(), b.code().begin()));
  CHECK_FALSE(a.bodies_stripped());
  CHECK(b.bodies_stripped());
  CHECK(b.bytes().size() < a.bytes().size());
  CHECK(b.code_info().source_map == a.code_info().source_map);
  REQUIRE(b.code_info().trap_sites.size() == a.code_info().trap_sites.size());
  for (size_t i = 0; i < a.code_info().trap_sites.size(); ++i) {
    CHECK(b.code_info().trap_sites[i].code_offset == a.code_info().trap_sites[i].code_offset);
    CHECK(b.code_info().trap_sites[i].code == a.code_info().trap_sites[i].code);
    CHECK(b.code_info().trap_sites[i].wasm_offset == a.code_info().trap_sites[i].wasm_offset);
  }
  for (size_t i = 0; i < a.info().bodies.size(); ++i) {
    CHECK(b.info().bodies[i].range.offset == a.info().bodies[i].range.offset);
    CHECK(b.info().bodies[i].code.size == a.info().bodies[i].code.size);
    CHECK(b.info().bodies[i].local_count == a.info().bodies[i].local_count);
  }
  CHECK(b.function_name(1) == "outer");

  auto trap_of = [](const Engine& engine, std::shared_ptr<const Module> module) {
    Store store(engine);
    auto instance = store.instantiate(std::move(module), {});
    REQUIRE(instance);
    Function outer = instance.ok()->export_named("outer")->func;
    CHECK(store.call(outer, std::vector<uint64_t>{8}).ok()[0] == 1);
    auto indirect =
        store.call(instance.ok()->export_named("indirect")->func, std::vector<uint64_t>{1});
    REQUIRE_FALSE(indirect);
    CHECK(indirect.err().message == "uninitialized element 1");
    auto trapped = store.call(outer, std::vector<uint64_t>{65535});
    REQUIRE_FALSE(trapped);
    REQUIRE(trapped.err().trap);
    return *trapped.err().trap;
  };
  const runtime::Trap before = trap_of(compiling, compiled);
  const runtime::Trap after = trap_of(loading, loaded.ok());
  CHECK(after.code == TrapCode::MemoryOutOfBounds);
  REQUIRE(after.frames.size() == 2);
  REQUIRE(before.frames.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(after.frames[i].func_index == before.frames[i].func_index);
    CHECK(after.frames[i].name == before.frames[i].name);
    REQUIRE(after.frames[i].module_offset);
    CHECK(after.frames[i].module_offset == before.frames[i].module_offset);
  }
  CHECK(after.describe() == before.describe());
}
