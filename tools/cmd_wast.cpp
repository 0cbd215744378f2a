#include "tools/commands.hpp"

namespace kiln::tools {

int cmd_wast(Args) {
  return not_implemented("wast", "needs the spec runner (issue 4)");
}

}  // namespace kiln::tools
