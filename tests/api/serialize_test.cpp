// The public API: Module::serialize, deserialize and deserialize_file (docs/serialize.md). The
// header fields that need a re-sealed artifact (Kiln build, ISA, CPU features) are tested in
// tests/runtime_test.cpp, beside the format's reader.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "api/code_observers.hpp"
#include "api/state.hpp"
#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;
using test::contains;

namespace {

// Direct calls (rel32 within the code), call_indirect through a table, a br_table (a jump table
// of relative offsets), memory, a global, a host import and traps: what must survive a move of
// the code to another address.
constexpr std::string_view kModule = R"((module $calc
  (import "host" "twice" (func $twice (param i32) (result i32)))
  (type $unary (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $calls (mut i32) (i32.const 0))
  (table 2 funcref)
  (elem (i32.const 0) $inc $twice)
  (data (i32.const 16) "\2a\00\00\00")
  (func $inc (param i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.add (local.get 0) (i32.const 1)))
  (func $pick (param i32 i32) (result i32)
    (block $b2 (block $b1 (block $b0
      (br_table $b0 $b1 $b2 (local.get 0)))
      (return (call $inc (local.get 1))))
      (return (call_indirect (type $unary) (local.get 1) (i32.const 1))))
    (i32.load (i32.const 16)))
  (func (export "run") (param i32 i32) (result i32)
    (i32.add (call $pick (local.get 0) (local.get 1)) (global.get $calls)))
  (func $deep (param i32) (result i32)
    (i32.div_u (i32.const 1) (local.get 0)))
  (func (export "divide") (param i32) (result i32)
    (call $deep (local.get 0)))
  (func (export "load") (param i32) (result i32)
    (i32.load (local.get 0))))
)";

Module compile(Engine& engine) {
  return test::compile(engine, kModule);
}

std::vector<uint8_t> serialize(const Module& module) {
  auto bytes = module.serialize();
  if (!bytes) FAIL(bytes.err().message());
  return bytes.ok();
}

struct Run {
  int32_t run0 = 0, run1 = 0, run2 = 0;
  std::string divide_trap, load_trap;
  std::vector<std::pair<std::string, size_t>> divide_frames;  // name, module offset
};

// Instantiates `module` in a fresh store and exercises every export.
Run exercise(Engine& engine, const Module& module) {
  Store store(engine);
  Func twice = Func::wrap(store, [](int32_t x) { return 2 * x; });
  auto instance = Instance::create(store, module, {twice});
  if (!instance) FAIL(instance.err().message());
  auto func = [&](const char* name) { return std::get<Func>(*instance.ok().get(store, name)); };
  Run out;
  auto run = func("run").typed<std::tuple<int32_t, int32_t>, int32_t>(store).unwrap();
  out.run0 = run.call(store, {0, 5}).unwrap();  // $inc: 6, then one call counted
  out.run1 = run.call(store, {1, 5}).unwrap();  // the host's twice through the table: 10 + 1
  out.run2 = run.call(store, {2, 5}).unwrap();  // the data segment's 42 + 1
  auto divided = func("divide").call(store, {0});
  REQUIRE_FALSE(divided);
  out.divide_trap = divided.err().message();
  const Trap& trap = std::get<Trap>(divided.err().data);
  for (const FrameRef& frame : trap.trace()) {
    out.divide_frames.emplace_back(std::string(frame.func_name().value_or("?")),
                                   frame.module_offset());
  }
  auto loaded = func("load").call(store, {65536});
  REQUIRE_FALSE(loaded);
  out.load_trap = loaded.err().message();
  return out;
}

// A scratch file removed when the test ends.
struct TempFile {
  std::string path;
  TempFile() {
    char name[] = "/tmp/kiln-serialize-XXXXXX";
    const int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    close(fd);
    path = name;
  }
  ~TempFile() { std::remove(path.c_str()); }
  void write(const std::vector<uint8_t>& bytes) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  }
};

std::string deserialize_error(Engine& engine, const std::vector<uint8_t>& bytes) {
  auto module = Module::deserialize(engine, bytes);
  if (module) return "(accepted)";
  return module.err().message();
}

}  // namespace

TEST_CASE("serialize: a module loaded in another engine runs, traps and backtraces alike",
          "[api][serialize]") {
  Engine compiling;
  const Module compiled = compile(compiling);
  const std::vector<uint8_t> artifact = serialize(compiled);

  Engine loading;  // another engine with the same settings
  auto loaded = Module::deserialize(loading, artifact);
  REQUIRE(loaded);
  CHECK(loaded.ok().name() == std::optional<std::string>("calc"));
  REQUIRE(loaded.ok().imports().size() == 1);
  CHECK(loaded.ok().exports().size() == 4);

  const Run before = exercise(compiling, compiled);
  const Run after = exercise(loading, loaded.ok());
  CHECK(after.run0 == 7);
  CHECK(after.run1 == 11);
  CHECK(after.run2 == 42 + 1);
  CHECK(after.run0 == before.run0);
  CHECK(after.run1 == before.run1);
  CHECK(after.run2 == before.run2);
  CHECK(contains(after.divide_trap, "integer divide by zero"));
  CHECK(contains(after.load_trap, "out of bounds memory access"));
  // Traps map to the same wasm offsets through the loaded source map.
  REQUIRE(after.divide_frames.size() == 2);
  CHECK(after.divide_frames[0].first == "deep");
  CHECK(after.divide_frames == before.divide_frames);

  // A loaded module serializes to the same artifact.
  CHECK(serialize(loaded.ok()) == artifact);
}

TEST_CASE("serialize: modules without code, or with nothing at all", "[api][serialize]") {
  Engine engine;
  for (std::string_view wat :
       {std::string_view("(module)"),
        std::string_view(R"((module (import "host" "f" (func)) (export "f" (func 0))
                               (memory (export "m") 1) (data (i32.const 0) "hi")))")}) {
    INFO(wat);
    auto loaded = Module::deserialize(engine, serialize(compile(engine, wat)));
    REQUIRE(loaded);
    Store store(engine);
    std::vector<Extern> imports;
    if (!loaded.ok().imports().empty()) imports.push_back(Func::wrap(store, [] {}));
    auto instance = Instance::create(store, loaded.ok(), imports);
    REQUIRE(instance);
    CHECK(serialize(loaded.ok()) == serialize(compile(engine, wat)));
  }
}

TEST_CASE("serialize: deserialize_file", "[api][serialize]") {
  Engine engine;
  TempFile file;
  file.write(serialize(compile(engine)));
  auto loaded = Module::deserialize_file(engine, file.path);
  REQUIRE(loaded);
  CHECK(exercise(engine, loaded.ok()).run2 == 43);

  auto missing = Module::deserialize_file(engine, file.path + ".missing");
  REQUIRE_FALSE(missing);
  CHECK(contains(missing.err().message(), "cannot open"));

  file.write({1, 2, 3});
  auto garbage = Module::deserialize_file(engine, file.path);
  REQUIRE_FALSE(garbage);
  CHECK(contains(garbage.err().message(), file.path));  // which file
  CHECK(contains(garbage.err().message(), "wrong magic number"));
}

TEST_CASE("serialize: not an artifact, truncated, trailing bytes", "[api][serialize]") {
  Engine engine;
  const Module module = compile(engine);
  const std::vector<uint8_t> artifact = serialize(module);

  CHECK(contains(deserialize_error(engine, {}), "the input is empty"));
  const std::string text = "(module)";
  CHECK(contains(deserialize_error(engine, std::vector<uint8_t>(text.begin(), text.end())),
                 "wrong magic number"));
  auto wasm = wat2wasm("(module)");
  REQUIRE(wasm);
  CHECK(contains(deserialize_error(engine, wasm.ok()), "a WebAssembly binary"));

  // Cut anywhere: in the magic number, the fixed header, the header's fields, the payload, the
  // checksum.
  for (size_t size : {size_t(3), size_t(8), size_t(20), size_t(40), artifact.size() / 2,
                      artifact.size() - 8, artifact.size() - 1}) {
    INFO("cut to " << size << " of " << artifact.size() << " bytes");
    const std::vector<uint8_t> cut(artifact.begin(), artifact.begin() + ptrdiff_t(size));
    CHECK(contains(deserialize_error(engine, cut), "truncated"));
  }

  std::vector<uint8_t> longer = artifact;
  longer.push_back(0);
  CHECK(contains(deserialize_error(engine, longer), "1 trailing bytes"));
  // Two artifacts back to back are not one.
  longer = artifact;
  longer.insert(longer.end(), artifact.begin(), artifact.end());
  CHECK(contains(deserialize_error(engine, longer), "trailing bytes"));
}

TEST_CASE("serialize: any altered byte is refused", "[api][serialize]") {
  Engine engine;
  const std::vector<uint8_t> artifact = serialize(compile(engine));
  // Every byte of the header, then every 7th byte through the payload and the checksum: one
  // flipped bit anywhere must be caught.
  for (size_t at = 0; at < artifact.size(); at += at < 128 ? 1 : 7) {
    INFO("byte " << at << " of " << artifact.size());
    std::vector<uint8_t> altered = artifact;
    altered[at] ^= 0x10;
    const std::string error = deserialize_error(engine, altered);
    CHECK(error != "(accepted)");
    // Past the fixed header (magic, format version, sizes) only the checksum can tell.
    if (at >= 24) CHECK(contains(error, "checksum mismatch"));
  }
}

TEST_CASE("serialize: another format version is refused before anything else", "[api][serialize]") {
  Engine engine;
  std::vector<uint8_t> artifact = serialize(compile(engine));
  artifact[8] = 99;  // the format version, little-endian at offset 8
  const std::string error = deserialize_error(engine, artifact);
  CHECK(contains(error, "format version 99"));
  CHECK(contains(error, "compile the module again"));
}

TEST_CASE("serialize: an engine with other code settings refuses the artifact, naming them",
          "[api][serialize]") {
  Engine engine;
  const std::vector<uint8_t> artifact = serialize(compile(engine));

  Config small_guard;
  small_guard.memory_guard_size(64 << 10);
  Engine guard_engine(std::move(small_guard));
  const std::string guard = deserialize_error(guard_engine, artifact);
  CHECK(contains(guard, "other settings than this engine's"));
  CHECK(contains(guard, "guard size is 33554432 in the module, 65536 in this engine"));

  Config no_guard;
  no_guard.memory_reservation(1 << 20);  // no 4 GiB reservation: bounds checks in the code
  Engine checked_engine(std::move(no_guard));
  CHECK(contains(deserialize_error(checked_engine, artifact),
                 "guard pages (memory_guard_size and memory_reservation) is on in the module, off "
                 "in this engine"));

  Config no_simd;
  no_simd.wasm_simd(false);
  Engine simd_engine(std::move(no_simd));
  CHECK(contains(deserialize_error(simd_engine, artifact),
                 "wasm features differ (enabled for the module only: simd)"));

  // The same holds the other way round: what this engine would compile differently.
  auto compiled_without_simd = Module::compile(simd_engine, kModule);
  REQUIRE(compiled_without_simd);
  CHECK(contains(deserialize_error(engine, serialize(compiled_without_simd.ok())),
                 "enabled in this engine only: simd"));

  // An engine with a setting this build cannot honour says so, as compile does.
  Config fuel;
  fuel.consume_fuel(true);
  Engine fuel_engine(std::move(fuel));
  CHECK(contains(deserialize_error(fuel_engine, artifact), "consume_fuel"));
}

TEST_CASE("serialize: loaded code is announced to profilers like compiled code",
          "[api][serialize][profiler]") {
  auto perfmap_engine = [] {
    Config config;
    config.profiler(ProfilingStrategy::Perfmap);
    return Engine(std::move(config));
  };
  Engine compiling = perfmap_engine();
  const Module compiled = compile(compiling);  // alive: the loaded code lands elsewhere
  const std::vector<uint8_t> artifact = serialize(compiled);
  Engine loading = perfmap_engine();
  auto loaded = Module::deserialize(loading, artifact);
  REQUIRE(loaded);
  const runtime::Module& module = *loaded.ok().state()->rt;
  const uint32_t deep = 4;  // $deep: the import, $inc, $pick and run come before it
  const uintptr_t start = uintptr_t(module.function_code(deep - 1));

  std::ifstream in(detail::perfmap_path());
  std::istringstream map(std::string(std::istreambuf_iterator<char>(in), {}));
  std::string line;
  bool found = false;
  while (std::getline(map, line)) {
    unsigned long address = 0, size = 0;
    char name[128] = {};
    if (std::sscanf(line.c_str(), "%lx %lx %127s", &address, &size, name) == 3 &&
        address == start) {
      found = std::string(name) == "wasm::deep";
    }
  }
  CHECK(found);
}
