#include "tools/commands.hpp"

namespace kiln::tools {

int cmd_compile(Args) {
  return not_implemented("compile", "needs the x86-64 JIT (issue 6)");
}

}  // namespace kiln::tools
