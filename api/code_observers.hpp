// Telling outside tools about compiled code: perf (Config::profiler: a perf map or a jitdump
// file) and GDB (Config::debug_info: its JIT interface, so backtraces show wasm function names).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kiln/config.hpp"
#include "runtime/runtime.hpp"

namespace kiln::detail {

struct GdbRegistration;

// Reports a newly compiled module's functions as the settings ask. The result (null when GDB
// is not told) unregisters the module from GDB when the last reference goes: keep it as long as
// the module's code.
std::shared_ptr<GdbRegistration> observe_new_code(const Config::Settings& settings,
                                                  const runtime::Module& module);

// Where this process writes them.
std::string perfmap_path();
std::string jitdump_path();
// The symbols registered with GDB's JIT interface now (name, address), read back from the
// in-memory object files: for tests.
std::vector<std::pair<std::string, uintptr_t>> gdb_registered_symbols();

}  // namespace kiln::detail
