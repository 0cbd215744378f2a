// The subcommands of the `kiln` program. Each lives in its own file (tools/cmd_*.cpp) and
// receives the arguments after its name; it returns the process exit code.
#pragma once

#include <span>
#include <string_view>

namespace kiln::tools {

using Args = std::span<const char* const>;

int cmd_run(Args args);
int cmd_wast(Args args);
int cmd_compile(Args args);
int cmd_inspect(Args args);
int cmd_wat2wasm(Args args);

// The uniform message of a subcommand whose machinery has not landed yet (exit code 2).
int not_implemented(std::string_view command, std::string_view what_is_missing);

}  // namespace kiln::tools
