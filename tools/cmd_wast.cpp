// `kiln wast`: run WebAssembly spec scripts; the command line lives with the spec runner.
#include "spec-tests/runner.hpp"
#include "tools/commands.hpp"

namespace kiln::tools {

int cmd_wast(Args args) {
  return kiln::spec::wast_main(args, "kiln wast");
}

}  // namespace kiln::tools
