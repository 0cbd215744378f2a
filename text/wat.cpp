#include "text/wat.hpp"

#include "kiln/wat.hpp"
#include "text/module_parser.hpp"

namespace kiln::text {

Result<std::vector<uint8_t>> wat_to_binary(std::string_view source, std::string_view file,
                                           const wasm::Features& features) {
  return encode_source(source, file, 0, features);
}

}  // namespace kiln::text

namespace kiln {

Result<std::vector<uint8_t>> wat2wasm(std::string_view wat) {
  return text::wat_to_binary(wat, "<input>");
}

}  // namespace kiln
