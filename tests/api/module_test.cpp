// The public API: Module (include/kiln/module.hpp): compiling, validating, its imports, exports
// (ImportType, ExportType, ExternType), custom sections and name. Serialization is in
// serialize_test.cpp.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "kiln/kiln.hpp"
#include "tests/api/api_test_support.hpp"

using namespace kiln;
using test::compile;
using test::contains;

TEST_CASE("Module: compile from text and binary, validate, errors", "[api][module]") {
  Engine engine;
  auto from_text = Module::compile(engine, std::string_view("(module (func (export \"f\")))"));
  REQUIRE(from_text);
  auto bytes = wat2wasm("(module (func (export \"f\")))");
  REQUIRE(bytes);
  auto from_binary = Module::compile(engine, Span<const uint8_t>(bytes.ok()));
  REQUIRE(from_binary);
  CHECK(Module::validate(engine, bytes.ok()));

  const std::vector<uint8_t> garbage = {0x00, 0x61, 0x73, 0x6d, 0x02, 0, 0, 0};
  auto invalid = Module::validate(engine, garbage);
  REQUIRE_FALSE(invalid);
  CHECK(contains(invalid.err().message(), "unknown binary version"));
  auto bad_text = Module::compile(engine, std::string_view("(module (func (i32.add)))"));
  REQUIRE_FALSE(bad_text);
  CHECK(contains(bad_text.err().message(), "type mismatch"));
  auto unparsable = Module::compile(engine, std::string_view("(module (fun))"));
  REQUIRE_FALSE(unparsable);
  CHECK(contains(unparsable.err().message(), "<input>:1:"));
}

TEST_CASE("Module: imports and exports with their types, custom sections, name", "[api][module]") {
  Engine engine;
  auto module = Module::compile(engine, std::string_view(R"(
    (module $m
      (import "env" "f" (func (param i32 f64) (result i64)))
      (import "env" "mem" (memory 1 2))
      (import "env" "table" (table 3 funcref))
      (import "env" "g" (global (mut f32)))
      (func (export "run") (param i64) (result i32 i32) (i32.const 1) (i32.const 2))
      (memory (export "memory") 2)
      (global (export "answer") i32 (i32.const 42))
      (@custom "meta" "hello")
      (@custom "meta" "again"))
  )"));
  REQUIRE(module);
  const auto imports = module.ok().imports();
  REQUIRE(imports.size() == 4);
  CHECK(imports[0].module() == "env");
  CHECK(imports[0].name() == "f");
  ExternType::Ref first = ExternType::from_import(imports[0]);
  auto func = std::get_if<FuncType>(&first);
  REQUIRE(func);
  REQUIRE(func->params().size() == 2);
  CHECK(func->params()[0].kind() == ValKind::I32);
  CHECK(func->params()[1].kind() == ValKind::F64);
  CHECK(func->results()[0].kind() == ValKind::I64);
  auto memory = std::get_if<MemoryType>(&imports[1].type());
  REQUIRE(memory);
  CHECK(memory->min() == 1);
  CHECK(memory->max() == 2);
  CHECK_FALSE(memory->is_64());
  auto table = std::get_if<TableType>(&imports[2].type());
  REQUIRE(table);
  CHECK(table->element().kind() == ValKind::FuncRef);
  CHECK(table->min() == 3);
  auto global = std::get_if<GlobalType>(&imports[3].type());
  REQUIRE(global);
  CHECK(global->is_mutable());
  CHECK(global->content().kind() == ValKind::F32);

  const auto exports = module.ok().exports();
  REQUIRE(exports.size() == 3);
  CHECK(exports[0].name() == "run");
  auto run = std::get<FuncType>(exports[0].type());
  CHECK(run.results().size() == 2);
  CHECK(std::get<MemoryType>(exports[1].type()).min() == 2);
  CHECK_FALSE(std::get<GlobalType>(exports[2].type()).is_mutable());

  auto meta = module.ok().custom_sections("meta");
  REQUIRE(meta.size() == 2);
  CHECK(std::string(meta[0].begin(), meta[0].end()) == "hello");
  CHECK(std::string(meta[1].begin(), meta[1].end()) == "again");
  CHECK(module.ok().custom_sections("none").empty());
  CHECK(module.ok().name() == "m");
}

TEST_CASE("Module::compile_file: binary or text files (the seed's Module.from_file)",
          "[api][module]") {
  Engine engine;
  const auto dir = std::filesystem::temp_directory_path();
  const std::string stem = "kiln-compile-file-" + std::to_string(getpid());
  const std::string wasm_path = dir / (stem + ".wasm"), wat_path = dir / (stem + ".wat");
  const char* text = "(module (func (export \"five\") (result i32) (i32.const 5)))";
  std::vector<uint8_t> wasm = wat2wasm(text).unwrap();
  std::ofstream(wasm_path, std::ios::binary)
      .write(reinterpret_cast<const char*>(wasm.data()), std::streamsize(wasm.size()));
  std::ofstream(wat_path) << text;
  for (const std::string& path : {wasm_path, wat_path}) {
    INFO(path);
    auto module = Module::compile_file(engine, path);
    REQUIRE(module);
    Store store(engine);
    auto instance = Instance::create(store, module.ok(), {});
    REQUIRE(instance);
    CHECK(std::get<Func>(*instance.ok().get(store, "five")).call(store, {}).unwrap()[0].i32() == 5);
  }
  std::remove(wasm_path.c_str());
  std::remove(wat_path.c_str());
  auto missing = Module::compile_file(engine, wasm_path);
  REQUIRE_FALSE(missing);
  CHECK(contains(missing.err().message(), "cannot open"));
}
