// The compile pipeline around the JIT (runtime/): functions compiled on worker threads into the
// same code as serially, the lowest failing function reported either way, the compiled-code
// cache (runtime/compile_cache.hpp) and the optimisation levels' layout and serialized header.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "runtime/compile_cache.hpp"
#include "runtime/compile_functions.hpp"
#include "runtime/runtime.hpp"
#include "runtime/serialize.hpp"
#include "runtime/sha256.hpp"
#include "text/wat.hpp"

using namespace kiln;
using namespace kiln::runtime;

namespace {

// A module of `count` functions of different sizes and shapes (loops, calls, memory, floats):
// enough work for several threads, and code whose layout depends on every function's size.
std::string many_functions(uint32_t count, uint32_t broken_at = UINT32_MAX,
                           uint32_t also_broken_at = UINT32_MAX, bool calls = true) {
  std::string wat = "(module (memory 1)\n";
  for (uint32_t i = 0; i < count; ++i) {
    const std::string n = std::to_string(i);
    wat += "(func $f" + n + " (export \"f" + n + "\") (param i32) (result i32) (local i32 f64)\n";
    for (uint32_t k = 0; k <= i % 7; ++k) {
      wat += "  (local.set 1 (i32.add (local.get 1) (i32.mul (local.get 0) (i32.const " +
             std::to_string(i * 7 + k) + "))))\n";
    }
    wat +=
        "  (block (loop (br_if 1 (i32.ge_u (local.get 1) (i32.const 1000)))\n"
        "    (local.set 1 (i32.add (local.get 1) (i32.const " +
        std::to_string(i + 1) +
        ")))\n"
        "    (br 0)))\n";
    wat += "  (local.set 2 (f64.mul (f64.convert_i32_u (local.get 1)) (f64.const 1.5)))\n";
    wat += "  (i32.store (i32.const " + std::to_string((i % 100) * 4) + ") (local.get 1))\n";
    if (i > 0 && calls) wat += "  (drop (call $f" + std::to_string(i - 1) + " (i32.const 0)))\n";
    // An invalid function: its body leaves an f64 where an i32 is expected.
    if (i == broken_at || i == also_broken_at)
      wat += "  (local.get 2))\n";
    else
      wat += "  (i32.add (i32.trunc_f64_u (local.get 2)) (i32.load (i32.const 0))))\n";
  }
  return wat + ")";
}

std::vector<uint8_t> binary(std::string_view wat) {
  auto bytes = text::wat_to_binary(wat);
  REQUIRE(bytes);
  return bytes.ok();
}

EngineConfig serial_config() {
  EngineConfig config;
  config.parallel_compilation = false;
  return config;
}

// Parallel even on a one-CPU machine and for small modules: four workers, no threshold.
EngineConfig parallel_config() {
  EngineConfig config;
  config.parallel_compilation = true;
  config.compile_threads = 4;
  config.parallel_min_body_bytes = 0;
  return config;
}

std::filesystem::path fresh_directory(const std::string& name) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("kiln-" + name + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

EngineConfig cache_in(const std::filesystem::path& dir) {
  EngineConfig config;
  config.cache_directory = dir.string();
  return config;
}

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

}  // namespace

TEST_CASE("parallel compilation gives the serial code, byte for byte", "[runtime][parallel]") {
  const std::vector<uint8_t> bytes = binary(many_functions(300));
  Engine serial(serial_config()), parallel(parallel_config());
  auto a = serial.compile(bytes);
  auto b = parallel.compile(bytes);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a.ok()->serialize() == b.ok()->serialize());
  CHECK(serial.statistics().functions_compiled == 300);
  CHECK(parallel.statistics().functions_compiled == 300);
  // The thread count the pool uses: several here; one when off, or below the threshold.
  CHECK(compile_thread_count({true, 4, 0}, 100000, 300) == 4);
  CHECK(compile_thread_count({false, 4, 0}, 100000, 300) == 1);
  CHECK(compile_thread_count({true, 4, 32 * 1024}, 1000, 300) == 1);
  CHECK(compile_thread_count({true, 4, 0}, 100000, 2) == 2);  // never more threads than chunks
}

TEST_CASE("parallel compilation of a real program gives the serial code", "[runtime][parallel]") {
  const std::filesystem::path sqlite =
      std::filesystem::path(KILN_SOURCE_ROOT) / "../shared/bench/sightglass/sqlite3/sqlite3.wasm";
  if (!std::filesystem::exists(sqlite)) {
    WARN("skipped: no " << sqlite.string());
    return;
  }
  const std::vector<uint8_t> bytes = read_file(sqlite);
  Engine serial(serial_config()), parallel(parallel_config());
  auto a = serial.compile(bytes);
  auto b = parallel.compile(bytes);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a.ok()->info().bodies.size() > 1000);
  CHECK(a.ok()->serialize() == b.ok()->serialize());
}

TEST_CASE("parallel compilation reports the lowest failing function, as serial does",
          "[runtime][parallel]") {
  // Two invalid functions far apart: whichever worker fails first, the report is function 40's.
  const std::vector<uint8_t> bytes = binary(many_functions(300, 250, 40));
  Engine serial(serial_config()), parallel(parallel_config());
  auto expected = serial.compile(bytes);
  REQUIRE_FALSE(expected);
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto got = parallel.compile(bytes);
    REQUIRE_FALSE(got);
    CHECK(got.err().to_string() == expected.err().to_string());
  }
  // A compiler that throws: the exception becomes the function's failure, not a dead process.
  auto throwing = [](const wasm::ModuleTypes&, uint32_t index, jit::CompileScratch& scratch,
                     const jit::CompileOptions& options) -> Result<jit::CompiledFunction> {
    if (index == 7 || index == 123) throw std::runtime_error("boom " + std::to_string(index));
    return jit::compile_function(index, scratch, options);
  };
  auto thrown = parallel.compile_with(binary(many_functions(300)), throwing);
  REQUIRE_FALSE(thrown);
  CHECK_THAT(thrown.err().message(), Catch::Contains("function 7: boom 7"));
}

TEST_CASE("SHA-256 matches the standard's examples", "[runtime][cache]") {
  auto hex = [](std::string_view text) {
    return to_hex(sha256(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size())));
  };
  CHECK(hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // A million 'a's, fed in pieces that straddle blocks.
  Sha256 hasher;
  const std::string piece(997, 'a');
  size_t left = 1000000;
  while (left > 0) {
    const size_t n = std::min(left, piece.size());
    hasher.update(std::span(reinterpret_cast<const uint8_t*>(piece.data()), n));
    left -= n;
  }
  CHECK(to_hex(hasher.finish()) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // The SHA extensions' code (where the CPU has them) and the portable code agree on every
  // length around the block and padding boundaries, and on a large odd-sized input.
  std::vector<uint8_t> data(300000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 131 + (i >> 7));
  auto digest = [&](Sha256::Implementation implementation, size_t length) {
    Sha256 h(implementation);
    h.update(std::span(data).first(length));
    return h.finish();
  };
  for (size_t length : {0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 299999}) {
    INFO(length);
    CHECK(digest(Sha256::Implementation::Hardware, length) ==
          digest(Sha256::Implementation::Portable, length));
  }
  Sha256 portable(Sha256::Implementation::Portable);
  portable.update(std::span(reinterpret_cast<const uint8_t*>("abc"), 3));
  CHECK(to_hex(portable.finish()) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("the cache: a second compile is a hit; other bytes or settings are misses",
          "[runtime][cache]") {
  const std::filesystem::path dir = fresh_directory("cache");
  const EngineConfig config = cache_in(dir);
  std::vector<uint8_t> bytes = binary(many_functions(20));
  {
    Engine engine(config);
    REQUIRE(engine.compile(bytes));
    CHECK(engine.statistics().cache_misses == 1);
    CHECK(engine.statistics().cache_writes == 1);
    CHECK(engine.statistics().modules_compiled == 1);
  }
  {
    // Another engine (as another process would): loaded, nothing compiled, the same code.
    Engine engine(config);
    auto module = engine.compile(bytes);
    REQUIRE(module);
    CHECK(engine.statistics().cache_hits == 1);
    CHECK(engine.statistics().modules_compiled == 0);
    CHECK(engine.statistics().functions_compiled == 0);
    CHECK(module.ok()->bodies_stripped());  // it came from an artifact
    Engine uncached;
    CHECK(module.ok()->serialize() == uncached.compile(bytes).ok()->serialize());
  }
  {
    // One byte of the module changed (a constant in a body): a miss.
    std::vector<uint8_t> other = binary(many_functions(20));
    static constexpr uint8_t kConst7[] = {0x41, 7};  // i32.const 7
    const auto at = std::search(other.begin(), other.end(), std::begin(kConst7), std::end(kConst7));
    Engine engine(config);
    REQUIRE(engine.compile(bytes));
    REQUIRE(at != other.end());
    *(at + 1) = 8;
    REQUIRE(engine.compile(other));
    CHECK(engine.statistics().cache_hits == 1);
    CHECK(engine.statistics().cache_misses == 1);
  }
  {
    // Each setting that shapes code: a miss, under its own entry.
    auto miss = [&](EngineConfig changed) {
      Engine engine(changed);
      REQUIRE(engine.compile(bytes));
      CHECK(engine.statistics().cache_misses == 1);
      CHECK(engine.statistics().cache_hits == 0);
    };
    EngineConfig opt = config;
    opt.compile.opt_level = jit::OptLevel::None;
    miss(opt);
    EngineConfig guard = config;
    guard.compile.guard_pages = false;
    miss(guard);
    EngineConfig features = config;
    features.features.set(wasm::Proposal::Simd, false);
    miss(features);
    // Settings that do not shape code share the entry.
    EngineConfig serial = config;
    serial.parallel_compilation = false;
    serial.max_wasm_stack = 4096 * 64;
    Engine engine(serial);
    REQUIRE(engine.compile(bytes));
    CHECK(engine.statistics().cache_hits == 1);
  }
  // The keys of distinct settings differ, those of the same settings agree.
  Engine engine(config);
  CodeSettings other = engine.code_settings();
  other.compile.consume_fuel = true;
  CHECK(CompileCache::key(bytes, engine.code_settings()) ==
        CompileCache::key(bytes, engine.code_settings()));
  CHECK(CompileCache::key(bytes, engine.code_settings()) != CompileCache::key(bytes, other));
  std::filesystem::remove_all(dir);
}

TEST_CASE("the cache: a corrupt, foreign or misplaced entry is a miss and is replaced",
          "[runtime][cache]") {
  const std::filesystem::path dir = fresh_directory("cache-corrupt");
  const EngineConfig config = cache_in(dir);
  const std::vector<uint8_t> bytes = binary(many_functions(10));
  Engine engine(config);
  REQUIRE(engine.compile(bytes));
  const std::filesystem::path entry =
      CompileCache(dir).entry_path(CompileCache::key(bytes, engine.code_settings()));
  REQUIRE(std::filesystem::exists(entry));
  const std::vector<uint8_t> good = read_file(entry);

  auto expect_refused_and_replaced = [&](const std::vector<uint8_t>& planted, uint64_t refusals) {
    write_file(entry, planted);
    chmod(entry.c_str(), 0600);
    Engine fresh(config);
    auto module = fresh.compile(bytes);
    REQUIRE(module);  // never an error
    CHECK(fresh.statistics().cache_hits == 0);
    CHECK(fresh.statistics().cache_misses == 1);
    CHECK(fresh.statistics().cache_entries_refused == refusals);
    CHECK(fresh.statistics().modules_compiled == 1);
    CHECK(read_file(entry) == good);  // replaced with the right code
    // And the module works: its first function ran through the compiled code.
    Store store(fresh);
    auto instance = store.instantiate(module.ok(), {});
    REQUIRE(instance);
  };
  std::vector<uint8_t> flipped = good;
  flipped[flipped.size() / 2] ^= 0x10;  // inside the artifact: its checksum refuses it
  expect_refused_and_replaced(flipped, 1);
  std::vector<uint8_t> truncated(good.begin(), good.begin() + ptrdiff_t(good.size() / 3));
  expect_refused_and_replaced(truncated, 1);
  expect_refused_and_replaced({}, 0);  // shorter than an entry's prefix: not an entry at all
  // Another entry's file under this name (its own key inside does not match).
  std::vector<uint8_t> misplaced = good;
  misplaced[8] ^= 1;
  expect_refused_and_replaced(misplaced, 0);
  // A whole artifact with a valid checksum, for other settings (opt level None).
  EngineConfig none = config;
  none.compile.opt_level = jit::OptLevel::None;
  Engine other(none);
  const std::vector<uint8_t> foreign_artifact = other.compile(bytes).ok()->serialize();
  std::vector<uint8_t> foreign(good.begin(), good.begin() + 40);
  foreign.insert(foreign.end(), foreign_artifact.begin(), foreign_artifact.end());
  expect_refused_and_replaced(foreign, 1);

  // An entry others may write is not trusted.
  REQUIRE(chmod(entry.c_str(), 0666) == 0);
  Engine shared(config);
  REQUIRE(shared.compile(bytes));
  CHECK(shared.statistics().cache_hits == 0);
  CHECK(shared.statistics().cache_misses == 1);
  // Writes leave no temporary files behind.
  size_t files = 0;
  for (const auto& item : std::filesystem::directory_iterator(dir)) {
    ++files;
    CHECK(item.path().filename().string().find(".tmp.") == std::string::npos);
  }
  CHECK(files == 2);  // this module's entry, and the None-level one's
  std::filesystem::remove_all(dir);
}

TEST_CASE("the cache: concurrent compiles of the same bytes never see a torn entry",
          "[runtime][cache]") {
  const std::filesystem::path dir = fresh_directory("cache-race");
  const EngineConfig config = cache_in(dir);
  const std::vector<uint8_t> bytes = binary(many_functions(40));
  Engine engine(config);
  std::vector<std::jthread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        if (!engine.compile(bytes)) ++failures;
      }
    });
  }
  threads.clear();  // joined
  CHECK(failures == 0);
  const CompileStatistics counts = engine.statistics();
  CHECK(counts.cache_hits + counts.cache_misses == 40);
  CHECK(counts.cache_entries_refused == 0);  // a reader never found a partial entry
  CHECK(counts.cache_hits >= 36);            // at most one miss per thread before the first write
  std::filesystem::remove_all(dir);
}

TEST_CASE("opt levels: SpeedAndSize lays functions out without padding; the header records it",
          "[runtime][opt-level]") {
  // Without calls: a call's rel32 depends on where its callee was placed.
  const std::vector<uint8_t> bytes = binary(many_functions(30, UINT32_MAX, UINT32_MAX, false));
  auto compile_at = [&](jit::OptLevel level) {
    EngineConfig config;
    config.compile.opt_level = level;
    auto engine = std::make_shared<Engine>(config);
    auto module = engine->compile(bytes);
    REQUIRE(module);
    return std::make_pair(engine, module.ok());
  };
  auto [speed_engine, speed] = compile_at(jit::OptLevel::Speed);
  auto [small_engine, small] = compile_at(jit::OptLevel::SpeedAndSize);
  auto [none_engine, none] = compile_at(jit::OptLevel::None);
  const auto& speed_functions = speed->code_info().functions;
  const auto& small_functions = small->code_info().functions;
  REQUIRE(speed_functions.size() == small_functions.size());
  bool unaligned = false;
  uint32_t speed_end = 0, small_end = 0;
  for (size_t i = 0; i < speed_functions.size(); ++i) {
    CHECK(speed_functions[i].code_offset % 16 == 0);
    // Back to back, each function's code unchanged.
    if (i > 0) {
      CHECK(small_functions[i].code_offset ==
            small_functions[i - 1].code_offset + small_functions[i - 1].code_size);
    }
    unaligned |= small_functions[i].code_offset % 16 != 0;
    REQUIRE(small_functions[i].code_size == speed_functions[i].code_size);
    CHECK(std::equal(
        speed->code().begin() + speed_functions[i].code_offset,
        speed->code().begin() + speed_functions[i].code_offset + speed_functions[i].code_size,
        small->code().begin() + small_functions[i].code_offset));
    speed_end = speed_functions[i].code_offset + speed_functions[i].code_size;
    small_end = small_functions[i].code_offset + small_functions[i].code_size;
  }
  CHECK(unaligned);
  CHECK(small_end < speed_end);
  // None's code is larger: locals are read from their homes, never from a register copy.
  uint32_t none_end = 0;
  for (const auto& f : none->code_info().functions) none_end = f.code_offset + f.code_size;
  CHECK(none_end > speed_end);

  // The header names the level; an engine at another level refuses the artifact, naming it.
  const std::vector<uint8_t> artifact = small->serialize();
  auto header = read_artifact_header(artifact);
  REQUIRE(header);
  CHECK(header.ok().settings.compile.opt_level == jit::OptLevel::SpeedAndSize);
  auto refused = speed_engine->deserialize(artifact);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.err().message(),
             Catch::Contains("the optimisation level (cranelift_opt_level) is SpeedAndSize in the "
                             "module, Speed in this engine"));
  CHECK(small_engine->deserialize(artifact));
  CHECK_FALSE(none_engine->deserialize(speed->serialize()));
}
