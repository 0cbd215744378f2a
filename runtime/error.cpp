#include <cstdio>
#include <cstdlib>

#include "kiln/error.hpp"

namespace kiln::detail {

void abort_with_message(const std::string& message) {
  std::fprintf(stderr, "kiln: unwrap() on an error: %s\n", message.c_str());
  std::abort();
}

}  // namespace kiln::detail
