// The JIT's interface to the runtime.
#pragma once

#include <string_view>

namespace kiln::jit {

// The instruction set this build emits code for, as asmjit sees the host.
std::string_view target_name();

}  // namespace kiln::jit
