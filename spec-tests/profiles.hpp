// The proposal set each part of the testsuite is written against: the root folder tests
// WebAssembly 3.0 as released (proposals outside it are malformed there); a proposal folder adds
// its proposal to 3.0, except one whose repository forked before 3.0 and tests its proposal on
// that older base, where some assertions contradict 3.0 (the threads tests expect a second
// memory to be invalid, and u32 memory limits in the text format).
#pragma once

#include <string_view>

#include "decoder/features.hpp"

namespace kiln::spec {

// Features for a testsuite-relative path such as "proposals/threads/memory.wast".
wasm::Features features_for_path(std::string_view path);

}  // namespace kiln::spec
