// The seed's "Basic Engine and Store Setup": a configured engine and a store carrying the
// embedder's data, read back from a host function through its caller. (The seed's fuel lines
// are in the fuel example.)
#include <iostream>
#include <map>
#include <string>

#include <kiln/kiln.hpp>

namespace wasmtime = kiln;
using namespace wasmtime;

using UserData = std::map<std::string, std::string>;

int main() {
  Config config;
  config.debug_info(true);  // wasm frames named in debuggers and profilers
  config.wasm_simd(true);
  Engine engine(std::move(config));

  Store store(engine);
  store.context().set_data(UserData{{"request_id", "123"}, {"user", "alice"}});

  Module module = Module::compile(engine, R"(
    (module
      (import "host" "greet" (func $greet))
      (func (export "run") (call $greet)))
  )")
                      .unwrap();
  Func greet = Func::wrap(store, [](Caller caller) {
    auto& data = std::any_cast<UserData&>(caller.context().get_data());
    std::cout << "request " << data["request_id"] << " from " << data["user"] << "\n";
  });
  Instance instance = Instance::create(store, module, {greet}).unwrap();
  std::get<Func>(*instance.get(store, "run")).call(store, {}).unwrap();
  auto& data = std::any_cast<UserData&>(store.context().get_data());
  std::cout << "store data has " << data.size() << " entries\n";
}
