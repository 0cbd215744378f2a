#include "spec-tests/runner.hpp"
