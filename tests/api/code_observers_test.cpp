// Config::profiler (perf map, jitdump) and Config::debug_info (GDB's JIT interface).
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <sstream>

#include "api/code_observers.hpp"
#include "kiln/kiln.hpp"

using namespace kiln;

namespace {
const char* kModule = R"((module
  (func $alpha (export "alpha") (result i32) (i32.const 1))
  (func $beta (export "beta") (result i32) (i32.const 2))))";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
}  // namespace

TEST_CASE("profiler(Perfmap) writes a perf map line per function", "[api][profiler]") {
  Config config;
  config.profiler(ProfilingStrategy::Perfmap);
  Engine engine(std::move(config));
  auto module = Module::compile(engine, std::string_view(kModule));
  REQUIRE(module);
  std::istringstream map(read_file(detail::perfmap_path()));
  std::string line;
  bool alpha = false, beta = false;
  while (std::getline(map, line)) {
    unsigned long start = 0, size = 0;
    char name[128] = {};
    REQUIRE(std::sscanf(line.c_str(), "%lx %lx %127s", &start, &size, name) == 3);
    CHECK(size > 0);
    alpha |= std::string(name) == "wasm::alpha";
    beta |= std::string(name) == "wasm::beta";
  }
  CHECK(alpha);
  CHECK(beta);
}

TEST_CASE("profiler(Jitdump) writes perf's jitdump format", "[api][profiler]") {
  Config config;
  config.profiler(ProfilingStrategy::Jitdump);
  Engine engine(std::move(config));
  auto module = Module::compile(engine, std::string_view(kModule));
  REQUIRE(module);
  const std::string dump = read_file(detail::jitdump_path());
  REQUIRE(dump.size() >= 40);
  uint32_t magic, version, header_size;
  std::memcpy(&magic, dump.data(), 4);
  std::memcpy(&version, dump.data() + 4, 4);
  std::memcpy(&header_size, dump.data() + 8, 4);
  CHECK(magic == 0x4A695444);
  CHECK(version == 1);
  REQUIRE(header_size == 40);
  // Code-load records: id 0, total size, then pid/tid/addresses, the name and the code bytes.
  std::vector<std::string> names;
  size_t at = header_size;
  while (at + 16 <= dump.size()) {
    uint32_t id, size;
    std::memcpy(&id, dump.data() + at, 4);
    std::memcpy(&size, dump.data() + at + 4, 4);
    REQUIRE(size > 0);
    REQUIRE(at + size <= dump.size());
    CHECK(id == 0);
    uint64_t code_size;
    std::memcpy(&code_size, dump.data() + at + 40, 8);
    names.emplace_back(dump.data() + at + 56);
    CHECK(size == 56 + names.back().size() + 1 + code_size);
    at += size;
  }
  CHECK(at == dump.size());
  CHECK(std::find(names.begin(), names.end(), "wasm::alpha") != names.end());
  CHECK(std::find(names.begin(), names.end(), "wasm::beta") != names.end());
}

TEST_CASE("debug_info registers function symbols with GDB while the module lives",
          "[api][debug_info]") {
  auto count_named = [](std::string_view name) {
    size_t count = 0;
    for (const auto& [symbol, address] : detail::gdb_registered_symbols())
      count += symbol == name && address != 0;
    return count;
  };
  const size_t before = count_named("wasm::alpha");
  {
    Config config;
    config.debug_info(true);
    Engine engine(std::move(config));
    auto module = Module::compile(engine, std::string_view(kModule));
    REQUIRE(module);
    CHECK(count_named("wasm::alpha") == before + 1);
    CHECK(count_named("wasm::beta") >= 1);
    // The symbol's address is the function's code: calling through the module works as usual.
    Store store(engine);
    auto instance = Instance::create(store, module.ok(), {});
    REQUIRE(instance);
    CHECK(std::get<Func>(*instance.ok().get(store, "beta")).call(store, {}).ok()[0].i32() == 2);
  }
  CHECK(count_named("wasm::alpha") == before);  // unregistered with the module
}
