// kiln-spec: the driver of the `spec` meson test; the same command line as `kiln wast`, in a
// program of its own so the spec-tests folder can register its test without the `kiln` tool.
#include <cstddef>
#include <span>

#include "spec-tests/runner.hpp"

int main(int argc, char** argv) {
  return kiln::spec::wast_main(std::span<const char* const>(argv + 1, size_t(argc - 1)),
                               "kiln-spec");
}
