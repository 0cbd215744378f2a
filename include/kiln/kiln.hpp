// Kiln's public C++ API: include this one header. Shaped after Wasmtime's C++ API so that
// code written for it compiles against Kiln with `namespace wasmtime = kiln;`.
#pragma once

#include "kiln/config.hpp"
#include "kiln/error.hpp"
#include "kiln/linker.hpp"
#include "kiln/module.hpp"
#include "kiln/store.hpp"
#include "kiln/trap.hpp"
#include "kiln/types.hpp"
#include "kiln/version.hpp"
#include "kiln/wasi.hpp"
#include "kiln/wat.hpp"
