// Kiln's public C++ API: include this one header. Shaped after Wasmtime's C++ API so that
// code written for it compiles against Kiln with `namespace wasmtime = kiln;`.
#pragma once

#include "kiln/error.hpp"
#include "kiln/version.hpp"
#include "kiln/wat.hpp"
