#include "jit/jit.hpp"

#include <asmjit/core.h>

namespace kiln::jit {

std::string_view target_name() {
  switch (asmjit::Environment::host().arch()) {
    case asmjit::Arch::kX64:
      return "x86-64";
    case asmjit::Arch::kAArch64:
      return "aarch64";
    default:
      return "unsupported";
  }
}

}  // namespace kiln::jit
