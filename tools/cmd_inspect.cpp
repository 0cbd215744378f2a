#include "tools/commands.hpp"

namespace kiln::tools {

int cmd_inspect(Args) {
  return not_implemented("inspect", "needs the binary decoder (issue 5)");
}

}  // namespace kiln::tools
