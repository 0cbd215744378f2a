// The validator's reference path, shared by the differential test and the decode-validate
// fuzzer: one defined function's body through OperatorReader::read + FuncValidator::visit (the
// general path the JIT drives), with validate_function_body's own checks and wording, so that
// the fused loop (validate_body) can be compared with it outcome for outcome.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "decoder/decoder.hpp"
#include "validator/validator.hpp"

namespace kiln::wasm::testing {

inline Result<void> read_and_visit(const ModuleTypes& types, uint32_t defined_index,
                                   FuncValidator& validator) {
  if (auto r = begin_function_body(types, defined_index, validator); !r) return r;
  const FunctionBody& body = types.module().bodies[defined_index];
  OperatorReader reader(types.bytes(), body.code);
  Operator op;
  while (!reader.at_end()) {
    if (auto r = reader.read(op); !r) {
      if (r.err().message() == "unexpected end")
        return Error("unexpected end of section or function", r.err().offset().value_or(0));
      return r;
    }
    if (auto r = validator.visit(op); !r) return r;
  }
  return validator.finish(body.code.end());
}

inline std::string outcome(const Result<void>& r) {
  return r ? "ok" : r.err().to_string();
}

// One body's outcome through both paths.
struct BodyOutcomes {
  uint32_t defined_index = 0;
  std::string fused;    // validate_function_body
  std::string general;  // read_and_visit
};

// Calls `each(BodyOutcomes)` for every defined function of a module whose sections validate;
// returns false when the module does not decode or its sections do not validate (nothing to
// compare).
template <typename Each>
bool compare_bodies(std::span<const uint8_t> bytes, const Features& features, Each&& each) {
  auto module = decode_module(bytes, features);
  if (!module) return false;
  auto types = validate_module_sections(module.ok(), bytes, features);
  if (!types) return false;
  FuncValidator fused(types.ok());
  FuncValidator general(types.ok());
  for (uint32_t i = 0; i < module.ok().bodies.size(); ++i) {
    BodyOutcomes body{i, outcome(validate_function_body(types.ok(), i, fused)),
                      outcome(read_and_visit(types.ok(), i, general))};
    each(body);
  }
  return true;
}

}  // namespace kiln::wasm::testing
