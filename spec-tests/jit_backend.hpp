// The spec runner's execution backend over Kiln's runtime (runtime/runtime.hpp): one store per
// script, the `spectest` module the testsuite imports from, module registration, invoke and get.
#pragma once

#include <memory>

#include "spec-tests/runner.hpp"

namespace kiln::spec {

// A fresh backend (a store with the spectest module registered). Bind it as
// `Toolchain::new_execution`.
std::unique_ptr<ExecutionBackend> new_jit_backend();

}  // namespace kiln::spec
