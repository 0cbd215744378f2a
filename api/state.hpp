// The state behind the public API's handles (include/kiln/): what an Engine, Module and Store
// are made of. Internal to the api/ library.
#pragma once

#include <any>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "kiln/config.hpp"
#include "kiln/module.hpp"
#include "kiln/store.hpp"
#include "runtime/runtime.hpp"

namespace kiln::wasi {
class WasiCtx;
}

namespace kiln::detail {

struct EngineState {
  Config::Settings settings;
  // A setting this build cannot honour, named: reported by Engine::create and every compile.
  std::optional<Error> config_error;
  runtime::Engine rt;

  EngineState(const Config::Settings& settings, runtime::EngineConfig config)
      : settings(settings), rt(std::move(config)) {}
};

struct GdbRegistration;
struct ModuleState {
  std::shared_ptr<EngineState> engine;
  std::shared_ptr<const runtime::Module> rt;
  std::shared_ptr<GdbRegistration> gdb;  // Config::debug_info: registered while the module lives
};

// A failure a host function raised, waiting for the call that reaches the host boundary.
struct PendingHostTrap {
  Trap trap;
};

// An externref's host value. Boxes are 16-byte aligned (operator new), so a box pointer is
// never mistaken for an i31 or a tagged reference (docs/jit-abi.md). A box may also stand for
// an externref wasm made from an anyref (extern.convert_any): `wasm_bits` then holds the
// reference's own bits, which go back to wasm unchanged, and `data` the AnyRef.
struct ExternBox {
  std::any data;
  std::optional<uint64_t> wasm_bits;
};

// A shared memory outside any store: the runtime memory (shared with every store that uses it)
// and the engine whose code settings (guard pages) it was made for.
struct SharedMemoryState {
  std::shared_ptr<EngineState> engine;
  std::shared_ptr<runtime::Memory> memory;
};

struct StoreState {
  uint64_t id;
  std::shared_ptr<EngineState> engine;
  runtime::Store rt;
  std::any data;

  // The objects handles name, by index; and the reverse maps that keep one handle per object.
  std::vector<runtime::Function> funcs;
  std::vector<std::pair<uint32_t, uint32_t>> func_slots;  // (parameter, result) slots per func
  std::unordered_map<const void*, uint32_t> func_index;   // VMFuncRef* -> index
  std::vector<runtime::Memory*> memories;
  std::unordered_map<const void*, uint32_t> memory_index;
  std::vector<runtime::Table*> tables;
  std::unordered_map<const void*, uint32_t> table_index;
  std::vector<runtime::Global*> globals;
  std::unordered_map<const void*, uint32_t> global_index;
  std::vector<runtime::Tag*> tags;
  std::unordered_map<const void*, uint32_t> tag_index;
  std::vector<runtime::Instance*> instances;
  // The modules instantiated here: their state (GDB registration, …) lives as long as their code.
  std::vector<std::shared_ptr<const ModuleState>> modules;
  std::unordered_map<const void*, uint32_t> instance_index;
  // Host functions' bodies, kept alive with the store.
  std::vector<std::shared_ptr<RawHostFn>> host_bodies;

  std::optional<Trap> pending_host_trap;
  // WASI (Store::Context::set_wasi), and the status of a proc_exit unwinding to the host
  // boundary, where it becomes an Error with i32_exit().
  std::shared_ptr<wasi::WasiCtx> wasi;
  std::optional<int32_t> pending_exit;
  // externref values, owned by the store (no collector yet).
  std::vector<std::unique_ptr<ExternBox>> extern_boxes;
  std::unordered_map<const void*, uint32_t> extern_index;
  // Boxes standing for converted anyrefs, by their bits (one box per value keeps identity).
  std::unordered_map<uint64_t, ExternBox*> converted_any_boxes;

  explicit StoreState(std::shared_ptr<EngineState> engine);

  // Handles for runtime objects (made once per object).
  Func func_handle(const runtime::Function& function);
  Memory memory_handle(runtime::Memory* memory);
  Table table_handle(runtime::Table* table);
  Global global_handle(runtime::Global* global);
  Tag tag_handle(runtime::Tag* tag);
  Instance instance_handle(runtime::Instance* instance);
  Extern extern_handle(const runtime::Extern& item);
};

// The store behind a context, checked against a handle's store id: a handle of another store
// is an embedder bug with no error channel, so it aborts with a message.
StoreState& store_of(Store::Context cx, uint64_t handle_store_id);
// As above, but as an error for calls that can fail.
Result<StoreState*> checked_store(Store::Context cx, uint64_t handle_store_id);

// AnyRef's internals for the API's implementation.
struct AnyRefAccess {
  static AnyRef make(uint64_t store_id, uint64_t bits) { return AnyRef(store_id, bits); }
  static uint64_t bits(const AnyRef& ref) { return ref.bits_; }
};

// Whether the reference `bits` (of the store) is a value of the reference type `type` (its
// concrete heap type canonical): null only for a nullable type, an i31 for i31ref, a GC object
// of a subtype for a concrete type, and so on. Values that enter wasm from the host are
// checked: wasm code relies on its types without checking.
Result<std::monostate> check_reference(const runtime::CanonicalValType& type, uint64_t bits);
// The canonical type of a function's parameter (a concrete index resolved in its module).
runtime::CanonicalValType canonical_param(const runtime::Function& function, size_t index);

// Conversions between the API's types and the decoder's.
ValType val_type_of(const wasm::ValType& type);
Result<wasm::ValType> wasm_val_type(const ValType& type);
FuncType func_type_of(const wasm::FuncType& type);
Result<wasm::FuncType> wasm_func_type(const FuncType& type);
MemoryType memory_type_of(const wasm::MemoryType& type);
TableType table_type_of(const wasm::TableType& type);
GlobalType global_type_of(const wasm::GlobalType& type);

// A runtime failure as the API reports it: traps become Trap (with frames), the rest Error.
TrapError failure_to_trap_error(StoreState& store, runtime::Failure failure);

// A reference value of another store is an error (it would dangle in this one).
Result<std::monostate> check_same_store(const StoreState& store, const Val& value);

// The runtime extern a handle names (checked against the store).
Result<runtime::Extern> runtime_extern(StoreState& store, const Extern& item);

}  // namespace kiln::detail
