// libFuzzer target: every module that validates must also compile (or be refused with a clear
// "unsupported" error) without crashing the compiler.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "jit/compiler.hpp"
#include "validator/validator.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  auto module = kiln::decode_and_validate(bytes, kiln::wasm::Features::all_standard());
  if (!module) return 0;
  auto types = kiln::wasm::validate_module_sections(module.ok(), bytes,
                                                    kiln::wasm::Features::all_standard());
  if (!types) __builtin_trap();  // validated once already: must agree
  kiln::wasm::FuncValidator validator(types.ok());
  for (uint32_t i = 0; i < module.ok().bodies.size(); ++i) {
    auto compiled = kiln::jit::compile_function(types.ok(), i, validator);
    if (!compiled && compiled.err().message().find("unsupported") == std::string::npos) {
      __builtin_trap();  // a valid function may only be refused as unsupported
    }
  }
  return 0;
}
