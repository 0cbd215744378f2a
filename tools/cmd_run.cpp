#include "tools/commands.hpp"

namespace kiln::tools {

int cmd_run(Args) {
  return not_implemented("run", "needs the x86-64 JIT and runtime (issue 6)");
}

}  // namespace kiln::tools
