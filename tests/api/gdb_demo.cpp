// Run under GDB by tests/api/gdb-backtrace: a host function called from wasm stops the program;
// with Config::debug_info, GDB's backtrace names the wasm functions and unwinds through them.
#include <csignal>

#include "kiln/kiln.hpp"

using namespace kiln;

int main() {
  Config config;
  config.debug_info(true);
  Engine engine(std::move(config));
  Module module = Module::compile(engine, R"((module
    (import "" "stop" (func $stop))
    (func $inner_wasm (call $stop))
    (func $outer_wasm (export "run") (call $inner_wasm))))")
                      .unwrap();
  Store store(engine);
  Func stop = Func::wrap(store, [] { std::raise(SIGTRAP); });
  Instance instance = Instance::create(store, module, {stop}).unwrap();
  std::get<Func>(*instance.get(store, "run")).call(store, {}).unwrap();
}
