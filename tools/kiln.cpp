// `kiln`: the command-line program. Dispatches to one subcommand per file (tools/cmd_*.cpp).
#include <cstdio>
#include <cstring>
#include <string_view>

#include "kiln/version.hpp"
#include "tools/commands.hpp"

namespace {

constexpr const char* kUsage =
    "kiln - a WebAssembly runtime with its own JIT\n"
    "\n"
    "Usage: kiln <COMMAND> [OPTIONS] [ARGS...]\n"
    "\n"
    "Commands:\n"
    "  run       Run a WebAssembly module (FILE.wasm or FILE.wat)\n"
    "  wast      Run WebAssembly spec scripts (FILE.wast...)\n"
    "  compile   Compile a module ahead of time; --disassemble prints the machine code\n"
    "  inspect   Print a module's imports, exports and sections\n"
    "  wat2wasm  Translate the text format to binary\n"
    "\n"
    "Options:\n"
    "  -h, --help     Print this help (or `kiln <COMMAND> --help` for a command's)\n"
    "  -V, --version  Print the version\n";

struct Subcommand {
  std::string_view name;
  int (*run)(kiln::tools::Args);
};

constexpr Subcommand kSubcommands[] = {
    {"run", kiln::tools::cmd_run},           {"wast", kiln::tools::cmd_wast},
    {"compile", kiln::tools::cmd_compile},   {"inspect", kiln::tools::cmd_inspect},
    {"wat2wasm", kiln::tools::cmd_wat2wasm},
};

}  // namespace

namespace kiln::tools {

int not_implemented(std::string_view command, std::string_view what_is_missing) {
  std::fprintf(stderr, "kiln %.*s: not implemented yet (%.*s)\n", int(command.size()),
               command.data(), int(what_is_missing.size()), what_is_missing.data());
  return 2;
}

}  // namespace kiln::tools

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string_view first = argv[1];
  if (first == "-h" || first == "--help" || first == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (first == "-V" || first == "--version") {
    std::printf("kiln %.*s (%.*s)\n", int(kiln::version().size()), kiln::version().data(),
                int(kiln::jit_target().size()), kiln::jit_target().data());
    return 0;
  }
  for (const Subcommand& sub : kSubcommands) {
    if (sub.name == first) return sub.run(kiln::tools::Args(argv + 2, size_t(argc - 2)));
  }
  std::fprintf(stderr, "kiln: unknown command '%s' (see `kiln --help`)\n", argv[1]);
  return 2;
}
