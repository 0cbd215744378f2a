// The smallest embedding of Kiln, built by the tests against the installed kiln.pc.
#include <cstdio>

#include <kiln/kiln.hpp>

int main(int argc, char** argv) {
  std::printf("kiln %.*s on %.*s\n", int(kiln::version().size()), kiln::version().data(),
              int(kiln::jit_target().size()), kiln::jit_target().data());
  (void)argc;
  (void)argv;
  return kiln::version().empty() ? 1 : 0;
}
