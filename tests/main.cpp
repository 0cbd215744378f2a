// The one Catch2 main of Kiln's unit and API tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
