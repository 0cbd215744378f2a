// The spec runner's execution backend over Kiln's runtime (runtime/runtime.hpp): one store per
// script, the `spectest` module the testsuite imports from, module registration, invoke and get.
#pragma once

#include <memory>

#include "jit/compiler.hpp"
#include "spec-tests/runner.hpp"

namespace kiln::spec {

// A fresh backend (a store with the spectest module registered). Bind it as
// `Toolchain::new_execution`.
std::unique_ptr<ExecutionBackend> new_jit_backend();

// The JIT's optimisation level for every module the backends compile (`kiln wast --opt-level`);
// set before the first backend is made.
void set_jit_opt_level(jit::OptLevel level);

}  // namespace kiln::spec
