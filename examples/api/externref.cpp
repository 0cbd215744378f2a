// Host values held by wasm as externrefs: in a table, in a global, through calls.
#include <iostream>
#include <string>

#include <kiln/kiln.hpp>

namespace wasmtime = kiln;
using namespace wasmtime;

int main() {
  Engine engine;
  Module module = Module::compile(engine, R"(
    (module
      (table (export "table") 10 externref)
      (global (export "global") (mut externref) (ref.null extern))
      (func (export "func") (param externref) (result externref) (local.get 0)))
  )")
                      .unwrap();
  Store store(engine);
  Instance instance = Instance::create(store, module, {}).unwrap();

  ExternRef externref(store, std::string("Hello, world!"));
  std::cout << "the host value: " << std::any_cast<std::string>(externref.data(store)) << "\n";

  Table table = std::get<Table>(*instance.get(store, "table"));
  table.set(store, 3, externref).unwrap();
  ExternRef from_table = *table.get(store, 3)->externref();
  std::cout << "from the table: " << std::any_cast<std::string>(from_table.data(store)) << "\n";

  Global global = std::get<Global>(*instance.get(store, "global"));
  global.set(store, externref).unwrap();
  ExternRef from_global = *global.get(store).externref();
  std::cout << "from the global: " << std::any_cast<std::string>(from_global.data(store)) << "\n";

  Func func = std::get<Func>(*instance.get(store, "func"));
  auto results = func.call(store, {externref}).unwrap();
  ExternRef returned = *results[0].externref();
  std::cout << "through a call: " << std::any_cast<std::string>(returned.data(store)) << "\n";
  std::cout << "same value: " << (returned == externref ? "yes" : "no") << "\n";

  std::any_cast<std::string&>(externref.data(store)) = "changed";
  std::cout << "a copy sees changes: " << std::any_cast<std::string>(from_table.data(store))
            << "\n";
  if (!store.context().gc()) return 1;
}
