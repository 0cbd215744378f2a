// The seed's "Module Compilation and Caching": compile a module from its .wasm file, serialize
// the compiled module to a cache file, load it back without compiling, and list its imports
// and exports.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <kiln/kiln.hpp>

namespace wasmtime = kiln;
using namespace wasmtime;

namespace {
const char* kind_of(const ImportType::Type& type) {
  if (std::holds_alternative<FuncType>(type)) return "func";
  if (std::holds_alternative<MemoryType>(type)) return "memory";
  if (std::holds_alternative<TableType>(type)) return "table";
  if (std::holds_alternative<GlobalType>(type)) return "global";
  return "tag";
}
}  // namespace

int main() {
  const auto dir = std::filesystem::temp_directory_path();
  const std::string wasm_path = dir / ("kiln-serialize-" + std::to_string(getpid()) + ".wasm");
  const std::string cache_path = dir / ("kiln-serialize-" + std::to_string(getpid()) + ".cwasm");
  std::vector<uint8_t> wasm = wat2wasm(R"(
    (module
      (import "env" "log" (func $log (param i32)))
      (memory (export "memory") 1)
      (global (export "answer") i32 (i32.const 42))
      (func (export "run") (param i32) (call $log (i32.mul (local.get 0) (i32.const 2)))))
  )")
                                  .unwrap();
  std::ofstream(wasm_path, std::ios::binary)
      .write(reinterpret_cast<const char*>(wasm.data()), std::streamsize(wasm.size()));

  Engine engine;
  Module module = Module::compile_file(engine, wasm_path).unwrap();
  std::vector<uint8_t> cached = module.serialize().unwrap();
  std::ofstream(cache_path, std::ios::binary)
      .write(reinterpret_cast<const char*>(cached.data()), std::streamsize(cached.size()));

  // Later: load from the cache (no compilation), and use it.
  Module loaded = Module::deserialize_file(engine, cache_path).unwrap();
  std::cout << "Module imports: " << loaded.imports().size() << "\n";
  for (const ImportType& import : loaded.imports())
    std::cout << "  Import: " << import.module() << "::" << import.name() << " ("
              << kind_of(import.type()) << ")\n";
  std::cout << "Module exports: " << loaded.exports().size() << "\n";
  for (const ExportType& export_ : loaded.exports())
    std::cout << "  Export: " << export_.name() << " (" << kind_of(export_.type()) << ")\n";

  Store store(engine);
  Func log = Func::wrap(store, [](int32_t value) { std::cout << "log " << value << "\n"; });
  Instance instance = Instance::create(store, loaded, {log}).unwrap();
  std::get<Func>(*instance.get(store, "run")).call(store, {21}).unwrap();
  std::remove(wasm_path.c_str());
  std::remove(cache_path.c_str());
}
