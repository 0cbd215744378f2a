// libFuzzer target: decoding and validating arbitrary bytes must never crash, leak or hang,
// whatever the outcome; and the validator's fused loop (validate_body) must agree exactly with
// the general path it shortcuts (OperatorReader::read + visit) on every body. Built with
// -Dfuzz=true under clang (see README, "Fuzzing").
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

#include "decoder/decoder.hpp"
#include "validator/validator.hpp"

namespace {

using namespace kiln;
using namespace kiln::wasm;

Result<void> read_and_visit(const ModuleTypes& types, uint32_t defined_index,
                            FuncValidator& validator) {
  const ModuleInfo& module = types.module();
  const FunctionBody& body = module.bodies[defined_index];
  std::span<const uint8_t> bytes = types.bytes();
  if (uint64_t(body.code.offset) + body.code.size > bytes.size())
    return Error("unexpected end", body.code.offset);
  if (body.range.size > kMaxFunctionSize)
    return Error("function body too large (at most " + std::to_string(kMaxFunctionSize) + ")",
                 body.range.offset);
  if (auto r = validator.reset(module.imported_funcs + defined_index, body.locals); !r)
    return Error(r.err().message(), body.range.offset);
  OperatorReader reader(bytes, body.code);
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

std::string outcome(const Result<void>& r) {
  return r ? "ok" : r.err().to_string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  const Features features = Features::everything();
  auto result = decode_and_validate(bytes, features);
  (void)result;

  auto module = decode_module(bytes, features);
  if (!module) return 0;
  auto types = validate_module_sections(module.ok(), bytes, features);
  if (!types) return 0;
  FuncValidator fused(types.ok());
  FuncValidator general(types.ok());
  for (uint32_t i = 0; i < module.ok().bodies.size(); ++i) {
    std::string expected = outcome(read_and_visit(types.ok(), i, general));
    std::string actual = outcome(validate_function_body(types.ok(), i, fused));
    if (actual != expected) {
      std::fprintf(stderr, "function %u: validate_body says \"%s\", read + visit \"%s\"\n", i,
                   actual.c_str(), expected.c_str());
      std::abort();
    }
  }
  return 0;
}
