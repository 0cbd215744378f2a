#include "tools/commands.hpp"

namespace kiln::tools {

int cmd_wat2wasm(Args) {
  return not_implemented("wat2wasm", "needs the text-format parser (issue 4)");
}

}  // namespace kiln::tools
