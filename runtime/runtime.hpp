// The runtime core: Engine, Module, Store, Instance and the objects instances are made of
// (memories, tables, globals, tags, functions). Internal C++ classes: the public, Wasmtime-shaped
// API (include/kiln/) is built on them later.
//
// Ownership: a Module is immutable once compiled and shared (shared_ptr) by the instances of any
// number of stores and threads. A Store owns every object created in it (instances, memories,
// tables, globals, host functions); they live until the store is destroyed, so references
// between instances of one store (imports, funcrefs in tables) never dangle. GC objects live in
// the Store's GcHeap, also until the store is destroyed (no collector yet). A Store is used by
// one thread at a time.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "decoder/module.hpp"
#include "jit/compiler.hpp"
#include "jit/vmcontext.hpp"
#include "kiln/error.hpp"
#include "kiln/trap.hpp"
#include "runtime/code_memory.hpp"
#include "runtime/gc_heap.hpp"
#include "runtime/signals.hpp"
#include "validator/validator.hpp"

namespace kiln::runtime {

class Engine;
class Store;
class CompileCache;
class Instance;

struct EngineConfig {
  wasm::Features features = wasm::Features::all_standard();
  jit::CompileOptions compile;               // guard_pages / guard_size also shape linear memories
  uint64_t max_table_elements = 10'000'000;  // table.grow beyond this fails (returns -1)
  // Stack that wasm may use below the outermost host->wasm entry (0: the whole thread stack,
  // less the runtime's reserve). Exceeding it is the stack-overflow trap.
  uint64_t max_wasm_stack = 0;
  // Bytes of GC objects one store may hold. There is no collector yet (runtime/gc_heap.hpp):
  // allocating beyond this traps with AllocationTooLarge.
  uint64_t max_gc_heap_bytes = uint64_t(1) << 30;
  // Config::parallel_compilation: a module's functions compile on up to `compile_threads`
  // threads (0: one per CPU), unless their bodies total less than `parallel_min_body_bytes`,
  // where starting threads would cost more than it saves (runtime/compile_functions.hpp).
  bool parallel_compilation = true;
  unsigned compile_threads = 0;
  uint64_t parallel_min_body_bytes = 32 * 1024;
  // Config::cache: Engine::compile stores what it compiles in this directory and loads it from
  // there when the same bytes come again (runtime/compile_cache.hpp).
  std::optional<std::string> cache_directory;
};

// What an engine has compiled, counted since it was made (read with relaxed loads: each count
// is exact, a snapshot of several is not atomic).
struct CompileStatistics {
  uint64_t modules_compiled = 0;    // modules whose functions the JIT compiled
  uint64_t functions_compiled = 0;  // their defined functions
  // The compiled-code cache (EngineConfig::cache_directory): Engine::compile's lookups that
  // loaded an entry, those that did not (then compiled), the entries among the latter that were
  // there but refused (corrupt, another build's, not this user's: replaced), entries written.
  uint64_t cache_hits = 0, cache_misses = 0, cache_entries_refused = 0, cache_writes = 0;
};

// ---- Failures

// One frame of a trap's backtrace, innermost first.
class Module;
struct Frame {
  const Module* module = nullptr;  // the module whose code the frame runs
  uint32_t func_index = 0;
  std::string name;  // from the name section; empty when it has none
  std::optional<uint32_t> module_offset;
};

struct Trap {
  TrapCode code = TrapCode::UnreachableCodeReached;
  std::vector<Frame> frames;
  // IndirectCallToNull from call_indirect: the element index, for the reference interpreter's
  // wording "uninitialized element N".
  std::optional<uint64_t> element_index;
  // The spec's text for the trap (trap_message), with the element index when known.
  std::string message() const;
  // "wasm trap: <spec message>" followed by the backtrace, one frame a line.
  std::string describe() const;
};

// Why an instantiation or a call failed: a trap (with its code and frames), an import that does
// not link, or another error (compilation, resource exhaustion, a bad argument).
struct Failure {
  enum class Kind : uint8_t { Trap, Link, Error };
  Kind kind = Kind::Error;
  std::string message;       // Trap: the spec text (trap_message); otherwise the error
  std::optional<Trap> trap;  // Kind::Trap
  static Failure error(std::string message) { return {Kind::Error, std::move(message), {}}; }
  static Failure link(std::string message) { return {Kind::Link, std::move(message), {}}; }
  static Failure from_trap(Trap trap) {
    std::string message = trap.message();
    return {Kind::Trap, std::move(message), std::move(trap)};
  }
  // As a kiln::Error: the message (and the backtrace for a trap).
  Error to_error() const;
};

// ---- Types compared across modules: concrete heap indices replaced by canonical ids.

struct CanonicalValType {
  wasm::ValType type;  // type.heap.index is a canonical id when heap.kind == Concrete
  friend bool operator==(const CanonicalValType&, const CanonicalValType&) = default;
};
CanonicalValType canonicalize(const wasm::ModuleTypes& types, wasm::ValType type);
bool is_subtype(const wasm::TypeRegistry& registry, CanonicalValType sub, CanonicalValType super);
// The number of 8-byte slots a value of `type` takes in an args area (v128: 2).
uint32_t slot_count(wasm::ValType type);
uint32_t slot_count(std::span<const wasm::ValType> types);

// ---- Compiled code

// What a module's machine code depends on besides its wasm bytes and this build: recorded when
// it is compiled, written in a serialized module's header, and compared when one is loaded
// (runtime/serialize.hpp).
struct CodeSettings {
  wasm::Features features;  // which modules validate (function bodies are not validated again)
  jit::CompileOptions compile;
  uint64_t cpu_features = 0;  // jit::CpuFeature bits the code generator assumed
};

// Produces one defined function's code. The default is the JIT (jit::compile_function); tests
// pass hand-written code. With parallel compilation it is called from several threads at once
// (each with a scratch of its own).
using FunctionCompiler = std::function<Result<jit::CompiledFunction>(
    const wasm::ModuleTypes& types, uint32_t defined_index, jit::CompileScratch& scratch,
    const jit::CompileOptions& options)>;

class Module {
 public:
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  ~Module();

  const wasm::ModuleInfo& info() const { return info_; }
  const wasm::ModuleTypes& types() const { return *types_; }
  // The module's bytes. A deserialized module keeps them without its function bodies' operators
  // (bodies_stripped()): info().bodies still give the bodies' places in the module as compiled,
  // which backtraces report, but they do not index these bytes.
  std::span<const uint8_t> bytes() const { return bytes_; }
  bool bodies_stripped() const { return bodies_stripped_; }
  const CodeMemory& code() const { return code_; }
  const CodeInfo& code_info() const { return code_info_; }
  // Entry point of a defined function (index among defined functions).
  const uint8_t* function_code(uint32_t defined_index) const {
    return code_.begin() + function_offsets_[defined_index];
  }
  // The function's name from the name section, or "".
  std::string function_name(uint32_t func_index) const;
  // Where the fields of a struct or array type are (kind None for function types).
  const jit::GcLayout& gc_layout(uint32_t type_index) const { return gc_layouts_[type_index]; }
  const CodeSettings& settings() const { return settings_; }

  // The module as an artifact Engine::deserialize loads without compiling (docs/serialize.md).
  std::vector<uint8_t> serialize() const;

 private:
  friend class Engine;
  Module() = default;
  // Seals the code and registers it with the trap handler, once code_ holds it and code_info_
  // its tables: the last step of both compiling and deserializing.
  Result<void> publish_code();

  std::vector<uint8_t> bytes_;
  wasm::ModuleInfo info_;
  std::unique_ptr<wasm::ModuleTypes> types_;  // points into info_ and bytes_
  CodeMemory code_;
  CodeInfo code_info_;
  std::vector<uint32_t> function_offsets_;
  std::vector<jit::GcLayout> gc_layouts_;  // one per type index
  CodeSettings settings_;
  bool bodies_stripped_ = false;
  bool registered_ = false;
};

class Engine {
 public:
  explicit Engine(EngineConfig config = {});
  const EngineConfig& config() const { return config_; }
  wasm::TypeRegistry& registry() const { return wasm::TypeRegistry::global(); }
  const uint64_t* epoch_counter() const { return &epoch_; }
  // One atomic add: safe from any thread while compiled code reads the counter.
  void increment_epoch() const { std::atomic_ref<uint64_t>(epoch_).fetch_add(1); }
  uint64_t current_epoch() const { return std::atomic_ref<uint64_t>(epoch_).load(); }

  // Decodes, validates and compiles; the result can be instantiated in any store of this
  // engine, from any thread. With a cache directory, the code of bytes compiled before (by any
  // process of this build with these settings) is loaded from the cache instead.
  Result<std::shared_ptr<const Module>> compile(std::span<const uint8_t> bytes) const;
  Result<std::shared_ptr<const Module>> compile_with(std::span<const uint8_t> bytes,
                                                     const FunctionCompiler& compiler) const;
  // Loads what Module::serialize wrote, without compiling, after checking its header (format,
  // Kiln build, ISA, CPU features, this engine's code settings) and its checksum. Refusals say
  // why; a refused artifact's code is never mapped executable.
  Result<std::shared_ptr<const Module>> deserialize(std::span<const uint8_t> artifact) const;
  // The settings this engine compiles with (the host's CPU features included).
  CodeSettings code_settings() const;
  CompileStatistics statistics() const;

 private:
  // A module with its sections decoded (not the function bodies), the module-level rules
  // checked and its types canonicalised in this process: what both compile and deserialize
  // need before the code.
  Result<std::shared_ptr<Module>> decode_sections(std::span<const uint8_t> bytes) const;

  EngineConfig config_;
  alignas(8) mutable uint64_t epoch_ = 0;
  std::shared_ptr<const CompileCache> cache_;  // when EngineConfig::cache_directory is set
  mutable std::atomic<uint64_t> modules_compiled_{0}, functions_compiled_{0}, cache_hits_{0},
      cache_misses_{0}, cache_entries_refused_{0}, cache_writes_{0};
};

// ---- Store objects

// A linear memory. Its base never moves: the address space up to its maximum (or 4 GiB) is
// reserved when it is made, and growing only makes more of it accessible. A shared memory
// (threads) may be used by several stores and threads at once: it is owned through shared_ptr
// (every store and SharedMemory holding it keeps it alive), grows under a lock, and publishes
// its new size only once the pages are accessible, so concurrent readers never see a size
// whose bytes would fault.
class Memory : public std::enable_shared_from_this<Memory> {
 public:
  ~Memory();
  static Result<std::shared_ptr<Memory>> create(const wasm::MemoryType& type,
                                                const EngineConfig& config);
  jit::VMMemory* vm() { return &vm_; }
  const wasm::MemoryType& type() const { return type_; }
  bool is_shared() const { return type_.shared; }
  uint8_t* base() const { return vm_.base; }
  uint64_t size_bytes() const {
    // (atomic_ref<const T> is C++26: the load does not write.)
    return std::atomic_ref<uint64_t>(const_cast<uint64_t&>(vm_.size))
        .load(std::memory_order_acquire);
  }
  uint64_t pages() const { return size_bytes() >> type_.page_size_log2; }
  uint64_t max_pages() const { return max_pages_; }
  // memory.grow: the old size in pages, or -1 (as uint64) when it cannot grow. Thread-safe for
  // a shared memory (the only kind several threads may hold).
  uint64_t grow(uint64_t delta_pages);

 private:
  Memory() = default;
  uint64_t grow_locked(uint64_t delta_pages);
  jit::VMMemory vm_{};
  wasm::MemoryType type_;
  uint8_t* reservation_ = nullptr;
  size_t reservation_size_ = 0;
  uint64_t accessible_ = 0;  // bytes mapped read+write from base (page-rounded)
  uint64_t capacity_ = 0;    // bytes of the reservation usable as memory
  uint64_t max_pages_ = 0;
  std::mutex grow_lock_;  // shared memories: one grow at a time
};

class Table {
 public:
  Table(const wasm::TableType& type, CanonicalValType element, uint64_t max_elements);
  jit::VMTable* vm() { return &vm_; }
  const wasm::TableType& type() const { return type_; }
  CanonicalValType element_type() const { return element_; }
  uint64_t size() const { return vm_.size; }
  uint64_t max() const { return max_; }
  // table.grow: old size or -1 (as uint64).
  uint64_t grow(uint64_t delta, void* init);
  void** elements() { return vm_.elements; }

 private:
  jit::VMTable vm_{};
  wasm::TableType type_;
  CanonicalValType element_;
  uint64_t max_ = 0;
  std::vector<void*> storage_;
};

struct Global {
  jit::VMGlobal cell{};
  CanonicalValType type;
  bool mutable_ = false;
};

struct Tag {
  uint32_t type_id = 0;  // canonical id of the tag's function type
};

// A function as the runtime handles it: its VMFuncRef (code, vmctx, canonical type id) and its
// type, for marshalling host calls.
struct Function {
  jit::VMFuncRef* ref = nullptr;
  const wasm::FuncType* type = nullptr;
};

struct HostFunction;
// What a host function's VMFuncRef::vmctx points at: the host-call stub reads `callback` from
// offset 0.
struct HostCallData {
  jit::x64::HostCallback callback = nullptr;
  HostFunction* function = nullptr;
};
static_assert(offsetof(HostCallData, callback) == 0);

// What a host function learns about its call: the instance whose code called it (null when the
// host called the function directly, through Store::call).
struct HostCall {
  Instance* caller = nullptr;
};
// Reads the parameters from `slots` and writes the results into it, from slot 0. Returns a trap
// code to trap the calling wasm code.
using HostBody = std::function<std::optional<TrapCode>(const HostCall&, std::span<uint64_t>)>;

struct HostFunction {
  HostCallData call_data;
  wasm::FuncType type;
  uint32_t param_slots = 0, result_slots = 0;
  HostBody body;
  jit::VMFuncRef ref{};
  Function function;
};

// What an import resolves to and what an export is.
struct Extern {
  wasm::ExternKind kind = wasm::ExternKind::Func;
  Function func;
  Table* table = nullptr;
  Memory* memory = nullptr;
  Global* global = nullptr;
  Tag* tag = nullptr;
};

class Instance {
 public:
  const Module& module() const { return *module_; }
  jit::VMContext* vmctx() { return &vmctx_; }
  std::optional<Extern> export_named(std::string_view name) const;
  const std::vector<std::pair<std::string, Extern>>& exports() const { return exports_; }
  Store& store() const { return *store_; }

  // Builtins and instantiation reach these.
  Memory* memory(uint32_t index) const { return memories_[index]; }
  Table* table(uint32_t index) const { return tables_[index]; }
  Global* global(uint32_t index) const { return globals_[index]; }
  Function function(uint32_t index) const { return functions_[index]; }
  jit::VMFuncRef* func_ref(uint32_t index) const { return &func_refs_[index]; }

 private:
  friend class Store;
  friend struct InstanceBuilder;
  friend struct Builtins;
  Instance() = default;

  jit::VMContext vmctx_{};
  Store* store_ = nullptr;
  std::shared_ptr<const Module> module_;
  std::vector<Memory*> memories_;
  std::vector<jit::VMMemory*> vm_memories_;
  std::vector<Table*> tables_;
  std::vector<jit::VMTable*> vm_tables_;
  std::vector<Global*> globals_;
  std::vector<jit::VMGlobal*> vm_globals_;
  std::vector<Tag*> tags_;
  std::unique_ptr<jit::VMFuncRef[]> func_refs_;
  std::vector<Function> functions_;
  std::vector<uint32_t> type_ids_;
  // Element segments as values (VMFuncRef* or other references); dropped ones are empty.
  std::vector<std::vector<void*>> elements_;
  std::vector<uint8_t> data_dropped_;
  std::vector<std::pair<std::string, Extern>> exports_;
};

// The result of a call: the result slots (v128 takes two).
using CallResult = Result<std::vector<uint64_t>, Failure>;

// Decides how far a store's memories and tables may grow and how many instances, tables and
// memories it may hold (Wasmtime's ResourceLimiter). Asked before anything is allocated: a
// refused memory.grow/table.grow returns -1 and changes nothing; a refused instantiation fails
// with an error naming the limit.
class ResourceLimiter {
 public:
  virtual ~ResourceLimiter() = default;
  // Sizes in bytes for memories, in elements for tables; `maximum` is the type's, if any.
  virtual bool memory_growing(uint64_t current, uint64_t desired,
                              std::optional<uint64_t> maximum) = 0;
  virtual bool table_growing(uint64_t current, uint64_t desired,
                             std::optional<uint64_t> maximum) = 0;
  virtual uint64_t instances() const = 0;
  virtual uint64_t tables() const = 0;
  virtual uint64_t memories() const = 0;
};

// The usual limiter: fixed limits, each optional (Wasmtime's defaults: sizes unlimited, 10,000
// instances, tables and memories).
class StoreLimits final : public ResourceLimiter {
 public:
  std::optional<uint64_t> memory_size;     // bytes, per memory
  std::optional<uint64_t> table_elements;  // per table
  uint64_t instance_count = 10000, table_count = 10000, memory_count = 10000;

  bool memory_growing(uint64_t, uint64_t desired, std::optional<uint64_t>) override {
    return !memory_size || desired <= *memory_size;
  }
  bool table_growing(uint64_t, uint64_t desired, std::optional<uint64_t>) override {
    return !table_elements || desired <= *table_elements;
  }
  uint64_t instances() const override { return instance_count; }
  uint64_t tables() const override { return table_count; }
  uint64_t memories() const override { return memory_count; }
};

class Store {
 public:
  explicit Store(const Engine& engine);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const Engine& engine() const { return *engine_; }
  jit::VMStoreContext* vm() { return &vm_; }
  GcHeap& gc_heap() { return gc_heap_; }

  // Instantiates `module` with `imports` in import order. Link errors come back as
  // Failure::Kind::Link with the testsuite's wording ("unknown import", "incompatible import
  // type"); a trap while initialising (segments, start function) as Kind::Trap. An instance
  // whose initialisation trapped stays in the store (its effects on imported objects remain).
  Result<Instance*, Failure> instantiate(std::shared_ptr<const Module> module,
                                         std::span<const Extern> imports);

  // Calls a function with its parameters in slots (v128 takes two).
  CallResult call(const Function& function, std::span<const uint64_t> args);
  // The same without allocating: `slots` holds the parameters on entry and the results on
  // return, and has room for max(parameter slots, result slots, 1).
  Result<void, Failure> call_in_place(const Function& function, std::span<uint64_t> slots);
  // The hot path for callers that know the function's slot counts (the API caches them).
  Result<void, Failure> call_in_place(const Function& function, uint64_t* slots,
                                      uint32_t param_slots, uint32_t result_slots);

  Function new_host_function(wasm::FuncType type, HostBody body);
  // For a host function that does not need to know its caller.
  Function new_host_function(wasm::FuncType type,
                             std::function<std::optional<TrapCode>(std::span<uint64_t>)> body);
  Result<Memory*> new_memory(const wasm::MemoryType& type);
  // A shared memory made outside this store (or in another one), usable by this store's
  // instances as an import from now on; kept alive with the store.
  Memory* adopt_shared_memory(std::shared_ptr<Memory> memory);
  Result<Table*> new_table(const wasm::TableType& type, void* init);     // abstract elements only
  Global* new_global(wasm::ValType type, bool mutable_, uint64_t bits);  // abstract types only
  Tag* new_tag(const wasm::FuncType& type);                              // abstract types only

  // Limits (StoreLimits by default). The limiter decides every growth and every new object.
  void set_limiter(std::shared_ptr<ResourceLimiter> limiter) { limiter_ = std::move(limiter); }
  ResourceLimiter& limiter() const { return *limiter_; }
  // memory.grow / table.grow as wasm sees them, through the limiter: the old size, or -1 (as
  // uint64) with nothing changed.
  uint64_t grow_memory(Memory& memory, uint64_t delta_pages);
  uint64_t grow_table(Table& table, uint64_t delta, void* init);

  // Fuel (EngineConfig::compile.consume_fuel; docs/fuel-epochs.md): what is left.
  void set_fuel(uint64_t fuel);
  uint64_t fuel() const;
  // Adds to what is left, after what a block overran by (a refill may leave none).
  void add_fuel(uint64_t fuel);
  // Epochs (EngineConfig::compile.epoch_interruption): checks stop once the engine's epoch
  // reaches the current epoch + `ticks_beyond_current`.
  void set_epoch_deadline(uint64_t ticks_beyond_current);
  // What a failed check does instead of trapping: the hook may add fuel (set_fuel) or move the
  // deadline and return nothing to continue, or return the trap to raise. Continuing while
  // still out of fuel or past the deadline traps all the same (OutOfFuel, Interrupt).
  using InterruptHook = std::function<std::optional<TrapCode>(Store&)>;
  void set_out_of_fuel_hook(InterruptHook hook) { out_of_fuel_hook_ = std::move(hook); }
  void set_epoch_deadline_hook(InterruptHook hook) { epoch_deadline_hook_ = std::move(hook); }
  // Compiled code's slow path (jit::Builtin::InterruptCheck): continue (nullopt) or trap.
  std::optional<TrapCode> on_failed_check();

 private:
  friend struct InstanceBuilder;
  void refresh_stack_limit();
  // Whether one more memory/table of this initial size may be made; an error naming the limit.
  Result<void> admit_memory(const wasm::MemoryType& type);
  Result<void> admit_table(const wasm::TableType& type);

  const Engine* engine_;
  jit::VMStoreContext vm_{};
  std::shared_ptr<ResourceLimiter> limiter_ = std::make_shared<StoreLimits>();
  InterruptHook out_of_fuel_hook_, epoch_deadline_hook_;
  // Declared before the objects that may hold references into it, so it outlives them.
  GcHeap gc_heap_;
  std::deque<std::unique_ptr<Instance>> instances_;
  // shared_ptr: a shared memory may also be held by other stores and by the embedder.
  std::deque<std::shared_ptr<Memory>> memories_;
  // Shared memories this store's instances import (made elsewhere), kept alive with the store.
  std::vector<std::shared_ptr<Memory>> imported_shared_memories_;
  std::deque<std::unique_ptr<Table>> tables_;
  std::deque<std::unique_ptr<Global>> globals_;
  std::deque<std::unique_ptr<Tag>> tags_;
  std::deque<std::unique_ptr<HostFunction>> host_functions_;
};

// The builtins table compiled code reaches through VMContext::builtins.
const void* const* builtin_table();

}  // namespace kiln::runtime
