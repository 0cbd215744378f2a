#include <catch2/catch.hpp>

#include "spec-tests/runner.hpp"
