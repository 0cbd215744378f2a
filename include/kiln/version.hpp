// Kiln's version and build facts.
#pragma once

#include <string_view>

namespace kiln {

// The release version, "MAJOR.MINOR.PATCH".
std::string_view version();
// The machine the JIT emits code for in this build ("x86-64", "aarch64").
std::string_view jit_target();

}  // namespace kiln
