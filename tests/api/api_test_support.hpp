// Helpers the API test files share (tests/api/, one file per class of include/kiln/): substring
// checks on messages, compiling a module that must compile (a failure fails the test case with
// the compiler's message), a shared memory type, and the anyref module and fixture that
// anyref_test.cpp and externref_test.cpp both use.
#pragma once

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/kiln.hpp"

namespace kiln::test {

inline bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

inline Module compile(Engine& engine, std::string_view wat) {
  auto module = Module::compile(engine, wat);
  if (!module) FAIL(module.err().message());
  return module.ok();
}

// A shared memory type that must build (SharedMemory and atomics tests).
inline MemoryType shared_type(uint64_t min, uint64_t max) {
  return MemoryType::Builder().min(min).max(max).shared(true).build().unwrap();
}

// GC objects are made by constant expressions (the JIT does not lower struct.new yet); the
// functions pass them around.
inline const char* const kAnyRefModule = R"((module
  (type $point (struct (field i32) (field i32)))
  (type $bytes (array (mut i8)))
  (import "host" "echo" (func $echo (param anyref) (result anyref)))
  (global $point (export "point") eqref (struct.new $point (i32.const 1) (i32.const 2)))
  (global $bytes (export "bytes") (ref null $bytes) (array.new_default $bytes (i32.const 3)))
  (global (export "seven") i31ref (ref.i31 (i32.const 7)))
  (global (export "slot") (mut anyref) (ref.null any))
  (global (export "eq_slot") (mut eqref) (ref.null eq))
  (global (export "converted") externref (extern.convert_any (ref.i31 (i32.const 9))))
  (table (export "table") 2 anyref)
  (func (export "get_point") (result anyref) (global.get $point))
  (func (export "get_bytes") (result anyref) (global.get $bytes))
  (func (export "roundtrip") (param anyref) (result anyref) (call $echo (local.get 0)))
  (func (export "same") (param eqref eqref) (result i32) (ref.eq (local.get 0) (local.get 1)))
  (func (export "is_point") (param eqref) (result i32) (ref.eq (local.get 0) (global.get $point)))
  (func (export "take_i31") (param i31ref) (result i32) (ref.is_null (local.get 0)))
  (func (export "take_point") (param (ref $point)) (result i32) (i32.const 1))))";

struct AnyRefFixture {
  Engine engine;
  Store store{engine};
  int echoes = 0;
  Instance instance = make();

  Instance make() {
    Func echo = Func::wrap(store, [this](std::optional<AnyRef> value) {
      ++echoes;
      return value;
    });
    return Instance::create(store, compile(engine, kAnyRefModule), {echo}).unwrap();
  }
  Func func(const char* name) { return std::get<Func>(*instance.get(store, name)); }
  Global global(const char* name) { return std::get<Global>(*instance.get(store, name)); }
  std::optional<AnyRef> call_any(const char* name, std::vector<Val> args = {}) {
    return func(name).call(store, args).unwrap()[0].anyref();
  }
};

}  // namespace kiln::test
