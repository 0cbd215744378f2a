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
#include "tests/validator_reference.hpp"
#include "validator/validator.hpp"

using namespace kiln;
using namespace kiln::wasm;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  const Features features = Features::everything();
  auto result = decode_and_validate(bytes, features);
  (void)result;

  testing::compare_bodies(bytes, features, [](const testing::BodyOutcomes& body) {
    if (body.fused != body.general) {
      std::fprintf(stderr, "function %u: validate_body says \"%s\", read + visit \"%s\"\n",
                   body.defined_index, body.fused.c_str(), body.general.c_str());
      std::abort();
    }
  });
  return 0;
}
