// libFuzzer target: decoding and validating arbitrary bytes must never crash, leak or hang,
// whatever the outcome. Built with -Dfuzz=true under clang (see README, "Fuzzing").
#include <cstddef>
#include <cstdint>
#include <span>

#include "validator/validator.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto result = kiln::decode_and_validate(std::span<const uint8_t>(data, size),
                                          kiln::wasm::Features::everything());
  (void)result;
  return 0;
}
