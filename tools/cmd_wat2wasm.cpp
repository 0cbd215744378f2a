// `kiln wat2wasm IN.wat [-o OUT.wasm]`: the text format to binary.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "text/wat.hpp"
#include "tools/commands.hpp"

namespace kiln::tools {

namespace {

constexpr const char* kWat2WasmUsage =
    "Usage: kiln wat2wasm IN.wat [-o OUT.wasm]\n"
    "\n"
    "Translates a module in the WebAssembly text format to the binary format.\n"
    "Without -o, the output is IN with its extension replaced by .wasm.\n"
    "\n"
    "Options:\n"
    "  -o FILE     Write the binary to FILE ('-' for standard output)\n"
    "  -h, --help  Print this help\n";

}  // namespace

int cmd_wat2wasm(Args args) {
  std::string input, output;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kWat2WasmUsage, stdout);
      return 0;
    }
    if (arg == "-o") {
      if (i + 1 >= args.size()) {
        std::fputs("kiln wat2wasm: -o needs a file name\n", stderr);
        return 1;
      }
      output = args[++i];
      continue;
    }
    if (!arg.empty() && arg[0] == '-' && arg != "-") {
      std::fprintf(stderr, "kiln wat2wasm: unknown option '%s'\n", args[i]);
      return 1;
    }
    if (!input.empty()) {
      std::fputs("kiln wat2wasm: only one input file\n", stderr);
      return 1;
    }
    input = arg;
  }
  if (input.empty()) {
    std::fputs(kWat2WasmUsage, stderr);
    return 1;
  }
  std::ifstream in(input, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "kiln wat2wasm: cannot read '%s'\n", input.c_str());
    return 1;
  }
  std::string source((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto binary = text::wat_to_binary(source, input);
  if (!binary) {
    std::fprintf(stderr, "%s\n", binary.err().message().c_str());
    return 1;
  }
  if (output.empty()) {
    size_t dot = input.rfind('.');
    size_t slash = input.rfind('/');
    output = (dot != std::string::npos && (slash == std::string::npos || dot > slash))
                 ? input.substr(0, dot) + ".wasm"
                 : input + ".wasm";
  }
  const auto& bytes = binary.ok();
  if (output == "-") {
    std::fwrite(bytes.data(), 1, bytes.size(), stdout);
    return 0;
  }
  std::ofstream out(output, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "kiln wat2wasm: cannot write '%s'\n", output.c_str());
    return 1;
  }
  return 0;
}

}  // namespace kiln::tools
