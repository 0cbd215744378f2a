// Binds the spec runner to Kiln's own machinery: the text parser and encoder, the decoder, the
// validator and the JIT runtime. (The runner library itself knows none of them: tests drive it
// with fakes.)
#include "decoder/decoder.hpp"
#include "spec-tests/jit_backend.hpp"
#include "spec-tests/runner.hpp"
#include "text/wast.hpp"
#include "text/wat.hpp"
#include "validator/validator.hpp"

namespace kiln::spec {

Toolchain kiln_toolchain() {
  Toolchain toolchain;
  toolchain.parse_script = [](std::string_view source, std::string_view file,
                              const wasm::Features& features) {
    return text::parse_wast(source, file, features);
  };
  toolchain.encode_text = [](std::string_view source, std::string_view file,
                             const wasm::Features& features) {
    return text::wat_to_binary(source, file, features);
  };
  toolchain.decode = [](std::span<const uint8_t> binary,
                        const wasm::Features& features) -> Result<void> {
    auto decoded = wasm::decode_module(binary, features);
    if (!decoded) return std::move(decoded.err());
    return {};
  };
  toolchain.decode_and_validate = [](std::span<const uint8_t> binary,
                                     const wasm::Features& features) -> Result<void> {
    auto validated = decode_and_validate(binary, features);
    if (!validated) return std::move(validated.err());
    return {};
  };
  toolchain.new_execution = new_jit_backend;
  return toolchain;
}

}  // namespace kiln::spec
