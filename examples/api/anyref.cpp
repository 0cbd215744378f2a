// anyref values: i31s made by the host and GC objects made by wasm, through a host function,
// a global and a table.
#include <iostream>

#include <kiln/kiln.hpp>

namespace wasmtime = kiln;
using namespace wasmtime;

int main() {
  Config config;
  config.wasm_reference_types(true);
  config.wasm_function_references(true);
  config.wasm_gc(true);
  Engine engine(std::move(config));
  Store store(engine);
  Module module = Module::compile(engine, R"(
    (module
      (type $pair (struct (field i32) (field i32)))
      (import "host" "inspect" (func $inspect (param anyref) (result anyref)))
      (global $pair (export "pair") anyref (struct.new $pair (i32.const 1) (i32.const 2)))
      (table (export "table") 2 anyref)
      (func (export "pass") (param anyref) (result anyref) (call $inspect (local.get 0))))
  )")
                      .unwrap();
  Func inspect = Func::wrap(store, [](Caller caller, std::optional<AnyRef> value) {
    if (!value)
      std::cout << "host got null\n";
    else if (auto number = value->i31(caller))
      std::cout << "host got i31 " << *number << "\n";
    else if (value->is_struct(caller))
      std::cout << "host got a struct\n";
    return value;
  });
  Instance instance = Instance::create(store, module, {inspect}).unwrap();
  Func pass = std::get<Func>(*instance.get(store, "pass"));

  pass.call(store, {AnyRef::i31(store, 1234)}).unwrap();
  pass.call(store, {std::optional<AnyRef>()}).unwrap();
  Global pair = std::get<Global>(*instance.get(store, "pair"));
  std::optional<AnyRef> object = pair.get(store).anyref();
  auto back = pass.call(store, {object}).unwrap()[0].anyref();
  std::cout << "the same object came back: " << std::boolalpha << (back == object) << "\n";

  Table table = std::get<Table>(*instance.get(store, "table"));
  table.set(store, 0, *object).unwrap();
  table.set(store, 1, AnyRef::i31(store, 7)).unwrap();
  std::cout << "table[1] = " << *table.get(store, 1)->anyref()->i31(store) << "\n";
}
