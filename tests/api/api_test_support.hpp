// Helpers every API test file uses (tests/api/): substring checks on messages, and compiling a
// module that must compile (a failure fails the test case with the compiler's message).
#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

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

}  // namespace kiln::test
