// libFuzzer target: the text format. Parsing arbitrary text as a .wast script (which encodes
// every text module it holds) must never crash, leak or hang, and a quoted module must encode
// or fail cleanly as well. Seeded with the spec testsuite's scripts (scripts/fuzz wast).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "text/wast.hpp"
#include "text/wat.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto script = kiln::text::parse_wast(text, "fuzz.wast");
  if (script) {
    for (const kiln::text::Command& command : script.ok().commands) {
      if (command.module && command.module->form == kiln::text::ScriptModule::Form::Quote) {
        auto encoded = kiln::text::wat_to_binary(command.module->quote, "quote.wat");
        (void)encoded;
      }
    }
  }
  auto as_module = kiln::text::wat_to_binary(text, "fuzz.wat");
  (void)as_module;
  return 0;
}
