#include "kiln/version.hpp"

#include "jit/jit.hpp"

namespace kiln {

std::string_view version() {
  return KILN_VERSION;
}
std::string_view jit_target() {
  return jit::target_name();
}

}  // namespace kiln
