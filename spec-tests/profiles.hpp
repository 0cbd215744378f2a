// The proposal set each part of the testsuite is written against. Most files test all of
// WebAssembly 3.0 at once; a proposal folder whose repository forked before 3.0 tests its
// proposal on that older base, and some of its assertions contradict 3.0 (e.g. the threads
// tests expect a second memory to be invalid, and u32 memory limits in the text format).
#pragma once

#include <string_view>

#include "decoder/features.hpp"

namespace kiln::spec {

// Features for a testsuite-relative path such as "proposals/threads/memory.wast".
wasm::Features features_for_path(std::string_view path);

}  // namespace kiln::spec
