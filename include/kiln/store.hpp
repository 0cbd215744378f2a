// Store and the objects that live in one: functions, memories, tables, globals, tags, instances.
//
// A Store owns everything created in it; the handles below (Func, Memory, Table, Global, Tag,
// Instance) are small values naming an object of one store, valid as long as that store. Using
// a handle with another store is an error (reported as one where the call can fail, otherwise
// the process aborts with a message: it is a bug in the embedder). A Store is used by one
// thread at a time; it may move between threads.
#pragma once

#include <any>
#include <array>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "kiln/config.hpp"
#include "kiln/error.hpp"
#include "kiln/module.hpp"
#include "kiln/trap.hpp"
#include "kiln/types.hpp"

namespace kiln {

namespace detail {
struct StoreState;
struct ExternBox;
struct SharedMemoryState;
struct AnyRefAccess;
}  // namespace detail

class Caller;
class Func;
class SharedMemory;
class WasiConfig;
class Val;
template <typename Params, typename Results>
class TypedFunc;

// Kiln: an embedder's own limits, asked before any memory or table grows and before any
// instance, table or memory is made (as Wasmtime's ResourceLimiter). A refused memory.grow or
// table.grow returns -1 to wasm and changes nothing; a refused instantiation is an error.
class ResourceLimiter {
 public:
  virtual ~ResourceLimiter() = default;
  // Sizes in bytes for memories, in elements for tables; `maximum` is the type's, if any.
  virtual bool memory_growing(uint64_t current, uint64_t desired,
                              std::optional<uint64_t> maximum) = 0;
  virtual bool table_growing(uint64_t current, uint64_t desired,
                             std::optional<uint64_t> maximum) = 0;
  virtual uint64_t instances() const { return 10000; }
  virtual uint64_t tables() const { return 10000; }
  virtual uint64_t memories() const { return 10000; }
};

class Store {
 public:
  explicit Store(const Engine& engine);
  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  // A borrowed view of a store, which every operation on its objects takes. Made implicitly
  // from a Store or a Caller, so both can be passed where a Context is expected.
  class Context {
   public:
    // Inline: made on every call through the API.
    Context(Store& store) : state_(store.state()) {}
    Context(Store* store) : state_(store->state()) {}
    Context(Caller& caller);
    Context(Caller* caller);

    // Fuel (Config::consume_fuel; docs/fuel-epochs.md): the fuel left. Compiled code charges
    // each operator's cost and, at function entries and loop headers, traps with
    // TrapCode::OutOfFuel once none is left. An error when fuel is not enabled.
    Result<std::monostate> set_fuel(uint64_t fuel);
    Result<uint64_t> get_fuel() const;
    // Instead of trapping when fuel runs out: the callback returns more fuel to go on with
    // (cooperative scheduling: yield to the host, then refill), or a Trap to stop. Replaces any
    // earlier callback; out_of_fuel_trap() goes back to trapping (the default).
    void out_of_fuel_callback(std::function<Result<uint64_t, Trap>(Store::Context)> callback);
    void out_of_fuel_trap();
    // The embedder's data: one value of any type per store.
    void set_data(std::any data) const;
    std::any& get_data() const;
    // Epochs (Config::epoch_interruption): the deadline, in ticks beyond the current epoch.
    // Compiled code compares Engine::increment_epoch's counter with it at function entries and
    // loop headers; once reached, it traps with TrapCode::Interrupt, or runs the callback below.
    // The deadline of a new store is 0: set one before calling wasm.
    void set_epoch_deadline(uint64_t ticks_beyond_current);
    // Wasmtime's epoch_deadline_callback: when the deadline is reached, the callback returns a
    // new deadline (ticks beyond the current epoch) to go on with, or a Trap to stop.
    // epoch_deadline_trap() goes back to trapping (the default).
    void epoch_deadline_callback(std::function<Result<uint64_t, Trap>(Store::Context)> callback);
    void epoch_deadline_trap();
    // WASI preview1 (kiln/wasi.hpp): the state the imports of Linker::define_wasi read. Consumes
    // the config; a later call replaces the state (closing what the previous one had open).
    Result<std::monostate> set_wasi(WasiConfig config);
    // Collects unreachable GC objects and external references. (Objects currently live until
    // their store is dropped; this always succeeds.)
    Result<std::monostate> gc();

    detail::StoreState* state() const { return state_; }

   private:
    detail::StoreState* state_;
  };

  Context context() { return Context(this); }
  Result<std::monostate> gc() { return context().gc(); }

  // Limits: bytes per memory, elements per table, and counts of instances, tables and memories
  // (a negative value keeps the default: sizes unlimited, 10,000 of each object).
  void limiter(int64_t memory_size, int64_t table_elements, int64_t instances, int64_t tables,
               int64_t memories);
  // Kiln: the embedder decides per request instead.
  void set_resource_limiter(std::shared_ptr<ResourceLimiter> limiter);

  detail::StoreState* state() const { return state_.get(); }

 private:
  std::unique_ptr<detail::StoreState> state_;
};

// 128 bits, little-endian.
struct V128 {
  uint8_t v128[16] = {};
  V128() = default;
  friend bool operator==(const V128&, const V128&) = default;
};

// ---- Handles

class Func {
 public:
  // A host function with an explicit type. `f` is called as
  //   Result<std::monostate, Trap> f(Caller caller, Span<const Val> params, Span<Val> results)
  // and returns std::monostate() or a Trap that traps the calling wasm code.
  template <typename F>
  Func(Store::Context cx, const FuncType& type, F f);

  // A host function whose wasm type comes from the C++ signature of `f` (see docs/embedding.md):
  // parameters int32_t/uint32_t, int64_t/uint64_t, float, double, V128, std::optional<Func>,
  // std::optional<ExternRef>, std::optional<AnyRef>, optionally preceded by a Caller; results
  // void, one of those, std::tuple of them, or Result<that, Trap>.
  template <typename F>
  static Func wrap(Store::Context cx, F f);

  // Calls the function. Errors: wrong argument count or types (Error), a trap (Trap).
  TrapResult<std::vector<Val>> call(Store::Context cx, const std::vector<Val>& params) const;
  TrapResult<std::vector<Val>> call(Store::Context cx,
                                    const std::initializer_list<Val>& params) const;
  template <typename I>
  TrapResult<std::vector<Val>> call(Store::Context cx, const I& begin, const I& end) const;

  FuncType type(Store::Context cx) const;

  // A statically typed view: Params and Results are one type, a std::tuple, or std::monostate
  // for none. Fails (with a Trap saying both signatures) when the types differ.
  template <typename Params, typename Results>
  Result<TypedFunc<Params, Results>, Trap> typed(Store::Context cx) const;

  // Kiln internals: the handle's store and index.
  Func(uint64_t store_id, uint32_t index) : store_id_(store_id), index_(index) {}
  uint64_t store_id() const { return store_id_; }
  uint32_t index() const { return index_; }
  friend bool operator==(const Func&, const Func&) = default;

 private:
  uint64_t store_id_;
  uint32_t index_;
};

class Memory {
 public:
  static Result<Memory> create(Store::Context cx, const MemoryType& type);
  MemoryType type(Store::Context cx) const;
  // Size in pages (of this memory's page size).
  uint64_t size(Store::Context cx) const;
  // The memory's bytes; the span is invalidated by growing the memory.
  Span<uint8_t> data(Store::Context cx) const;
  // Grows by `delta` pages; the previous size in pages, or an error when it cannot grow.
  Result<uint64_t> grow(Store::Context cx, uint64_t delta) const;
  uint64_t page_size(Store::Context cx) const;
  uint8_t page_size_log2(Store::Context cx) const;
  // Kiln: bounds-checked copies out of and into the memory.
  Result<std::monostate> read(Store::Context cx, uint64_t offset, Span<uint8_t> out) const;
  Result<std::monostate> write(Store::Context cx, uint64_t offset, Span<const uint8_t> bytes) const;
  // Kiln: a shared memory (its type says `shared`) as a SharedMemory, usable by other stores
  // and threads; nullopt for an unshared one.
  std::optional<SharedMemory> shared(Store::Context cx) const;

  Memory(uint64_t store_id, uint32_t index) : store_id_(store_id), index_(index) {}
  uint64_t store_id() const { return store_id_; }
  uint32_t index() const { return index_; }
  friend bool operator==(const Memory&, const Memory&) = default;

 private:
  uint64_t store_id_;
  uint32_t index_;
};

// A linear memory shared between threads (the threads proposal), owned by no store: made from
// an engine (or taken from a store, Memory::shared), it can be imported by instances of any
// store of that engine on any thread, and lives as long as a SharedMemory or a store using it.
// Its bytes never move: growing makes more of its reservation accessible and is safe while
// other threads run code using it. Copies refer to the same memory.
class SharedMemory {
 public:
  // Errors: a type that is not shared or has no maximum, threads disabled in the engine.
  static Result<SharedMemory> create(const Engine& engine, const MemoryType& type);
  MemoryType type() const;
  // Size in pages (of this memory's page size), as of now: another thread may grow it.
  uint64_t size() const;
  // The memory's bytes as of now (they stay valid as it grows; the span does not).
  Span<uint8_t> data() const;
  // Grows by `delta` pages; the previous size in pages, or an error when it cannot grow.
  Result<uint64_t> grow(uint64_t delta) const;
  // Kiln: this memory as a Memory handle of the store in `cx`, for Instance::create's imports
  // (the store keeps the memory alive). Error: a store of another engine.
  Result<Memory> memory(Store::Context cx) const;

  explicit SharedMemory(std::shared_ptr<detail::SharedMemoryState> state)
      : state_(std::move(state)) {}
  const std::shared_ptr<detail::SharedMemoryState>& state() const { return state_; }
  friend bool operator==(const SharedMemory& a, const SharedMemory& b);

 private:
  std::shared_ptr<detail::SharedMemoryState> state_;
};

class Table {
 public:
  static Result<Table> create(Store::Context cx, const TableType& type, const Val& init);
  TableType type(Store::Context cx) const;
  uint64_t size(Store::Context cx) const;
  // The element at `index`, or nullopt when out of bounds.
  std::optional<Val> get(Store::Context cx, uint64_t index) const;
  Result<std::monostate> set(Store::Context cx, uint64_t index, const Val& value) const;
  // The previous size, or an error when it cannot grow.
  Result<uint64_t> grow(Store::Context cx, uint64_t delta, const Val& init) const;

  Table(uint64_t store_id, uint32_t index) : store_id_(store_id), index_(index) {}
  uint64_t store_id() const { return store_id_; }
  uint32_t index() const { return index_; }
  friend bool operator==(const Table&, const Table&) = default;

 private:
  uint64_t store_id_;
  uint32_t index_;
};

class Global {
 public:
  static Result<Global> create(Store::Context cx, const GlobalType& type, const Val& init);
  GlobalType type(Store::Context cx) const;
  Val get(Store::Context cx) const;
  // Errors: an immutable global, a value of another type.
  Result<std::monostate> set(Store::Context cx, const Val& value) const;

  Global(uint64_t store_id, uint32_t index) : store_id_(store_id), index_(index) {}
  uint64_t store_id() const { return store_id_; }
  uint32_t index() const { return index_; }
  friend bool operator==(const Global&, const Global&) = default;

 private:
  uint64_t store_id_;
  uint32_t index_;
};

class Tag {
 public:
  static Result<Tag> create(Store::Context cx, const TagType& type);
  TagType type(Store::Context cx) const;
  bool eq(Store::Context cx, const Tag& other) const;

  Tag(uint64_t store_id, uint32_t index) : store_id_(store_id), index_(index) {}
  uint64_t store_id() const { return store_id_; }
  uint32_t index() const { return index_; }
  friend bool operator==(const Tag&, const Tag&) = default;

 private:
  uint64_t store_id_;
  uint32_t index_;
};

using Extern = std::variant<Func, Global, Memory, Table, Tag>;

// A host value of any type that wasm holds as an `externref`. Copies refer to the same value.
// (There is no collector yet: the value lives until its store is dropped.)
class ExternRef {
 public:
  ExternRef(Store::Context cx, std::any value);
  // The host value.
  std::any& data(Store::Context cx) const;

  ExternRef(uint64_t store_id, detail::ExternBox* box) : store_id_(store_id), box_(box) {}
  uint64_t store_id() const { return store_id_; }
  detail::ExternBox* box() const { return box_; }
  friend bool operator==(const ExternRef&, const ExternRef&) = default;

 private:
  uint64_t store_id_;
  detail::ExternBox* box_;
};

// A value of WebAssembly's `anyref` (the GC proposal's any hierarchy: eqref, i31ref, structref,
// arrayref and concrete struct and array types show as AnyRef): an unboxed 31-bit integer, a
// struct or array wasm made, or a host value wasm made internal (any.convert_extern). Copies
// refer to the same value; == compares as ref.eq does. GC objects live until their store is
// dropped (no collector yet), so an AnyRef stays valid as long as its store.
class AnyRef {
 public:
  // An i31ref holding the low 31 bits of `value`.
  static AnyRef i31(Store::Context cx, uint32_t value);
  // The i31's value, zero- or sign-extended; nullopt when this is not an i31.
  std::optional<uint32_t> u31(Store::Context cx) const;
  std::optional<int32_t> i31(Store::Context cx) const;
  bool is_i31(Store::Context cx) const;
  // An eqref: an i31, a struct or an array (not an internalized host value).
  bool is_eqref(Store::Context cx) const;
  bool is_struct(Store::Context cx) const;
  bool is_array(Store::Context cx) const;

  uint64_t store_id() const { return store_id_; }
  friend bool operator==(const AnyRef&, const AnyRef&) = default;

 private:
  friend struct detail::AnyRefAccess;
  AnyRef(uint64_t store_id, uint64_t bits) : store_id_(store_id), bits_(bits) {}
  uint64_t store_id_;
  uint64_t bits_;  // the reference as compiled code holds it (docs/jit-abi.md)
};

// ---- Values

class Val {
 public:
  Val(int32_t i32) : kind_(ValKind::I32) { bits_.i32 = i32; }
  Val(int64_t i64) : kind_(ValKind::I64) { bits_.i64 = i64; }
  Val(float f32) : kind_(ValKind::F32) { bits_.f32 = f32; }
  Val(double f64) : kind_(ValKind::F64) { bits_.f64 = f64; }
  Val(const V128& v128) : kind_(ValKind::V128) { bits_.v128 = v128; }
  Val(std::optional<Func> func) : kind_(ValKind::FuncRef), func_(func) {}
  Val(Func func) : kind_(ValKind::FuncRef), func_(func) {}
  Val(std::optional<ExternRef> ref) : kind_(ValKind::ExternRef), extern_(ref) {}
  Val(ExternRef ref) : kind_(ValKind::ExternRef), extern_(ref) {}
  Val(std::optional<AnyRef> ref) : kind_(ValKind::AnyRef), any_(ref) {}
  Val(AnyRef ref) : kind_(ValKind::AnyRef), any_(ref) {}

  ValKind kind() const { return kind_; }
  // Each accessor aborts when the value is of another kind (a bug in the embedder).
  int32_t i32() const { return check(ValKind::I32).bits_.i32; }
  int64_t i64() const { return check(ValKind::I64).bits_.i64; }
  float f32() const { return check(ValKind::F32).bits_.f32; }
  double f64() const { return check(ValKind::F64).bits_.f64; }
  V128 v128() const { return check(ValKind::V128).bits_.v128; }
  std::optional<Func> funcref() const { return check(ValKind::FuncRef).func_; }
  std::optional<ExternRef> externref() const { return check(ValKind::ExternRef).extern_; }
  std::optional<AnyRef> anyref() const { return check(ValKind::AnyRef).any_; }

  // Kiln: a null reference of a reference kind (externref, anyref, exnref or funcref).
  static Val null_of(ValKind kind) {
    Val value(std::optional<Func>{});
    value.kind_ = kind;
    return value;
  }

 private:
  const Val& check(ValKind kind) const;
  ValKind kind_;
  union {
    int32_t i32;
    int64_t i64;
    float f32;
    double f64;
    V128 v128;
  } bits_{};
  std::optional<Func> func_;
  std::optional<ExternRef> extern_;
  std::optional<AnyRef> any_;
};

// ---- Instances

class Instance {
 public:
  // Instantiates `module` with `imports` given in the module's import order. Errors: a missing
  // or mismatched import (Error), a trap in the start function or a segment (Trap).
  static TrapResult<Instance> create(Store::Context cx, const Module& module,
                                     const std::vector<Extern>& imports);
  // The export named `name`.
  std::optional<Extern> get(Store::Context cx, std::string_view name);
  // The export at `index` in the module's export order (name and item), or nullopt past the end.
  std::optional<std::pair<std::string_view, Extern>> get(Store::Context cx, size_t index);
  // The shared memory exported as `name` (nullopt: no such export, or not a shared memory).
  std::optional<SharedMemory> get_shared_memory(Store::Context cx, std::string_view name);

  Instance(uint64_t store_id, uint32_t index) : store_id_(store_id), index_(index) {}
  uint64_t store_id() const { return store_id_; }
  uint32_t index() const { return index_; }

 private:
  uint64_t store_id_;
  uint32_t index_;
};

// What a host function knows about its call: the instance that called it and its store.
class Caller {
 public:
  // The export named `name` of the calling instance (nullopt when the host, not wasm, called).
  std::optional<Extern> get_export(std::string_view name);
  Store::Context context() { return Store::Context(*this); }

  Caller(detail::StoreState* store, void* caller_instance)
      : store_(store), instance_(caller_instance) {}
  detail::StoreState* state() const { return store_; }

 private:
  detail::StoreState* store_;
  void* instance_;  // runtime::Instance*, or null
};

// ---- The machinery behind Func's templates (not part of the API)

namespace detail {

// A host function's body over the runtime's argument slots (8 bytes each; v128 takes two):
// parameters from slot 0, results written from slot 0. A returned Trap traps the caller.
using RawHostFn = std::function<std::optional<Trap>(Caller, uint64_t* slots)>;
Func new_host_func(Store::Context cx, const FuncType& type, RawHostFn body);
// Calls with parameters and results in slots (as above); `slots` holds max(params, results).
TrapResult<std::monostate> call_raw(Store::Context cx, const Func& func, uint64_t* slots);

// funcref slots hold the runtime's function reference; these convert to and from handles.
uint64_t func_to_slot(Store::Context cx, const std::optional<Func>& func);
std::optional<Func> func_from_slot(Store::Context cx, uint64_t slot);
// externref slots hold the host value's box (a pointer, 8-byte aligned, or 0 for null).
uint64_t extern_to_slot(Store::Context cx, const std::optional<ExternRef>& ref);
std::optional<ExternRef> extern_from_slot(Store::Context cx, uint64_t slot);
// anyref slots hold the reference's bits (an i31, a GC object's address, an internalized value).
uint64_t any_to_slot(Store::Context cx, const std::optional<AnyRef>& ref);
std::optional<AnyRef> any_from_slot(Store::Context cx, uint64_t slot);

// Val <-> slots by the value's type (shared by Func(cx, type, f) and Func::call).
void val_to_slots(Store::Context cx, const Val& value, uint64_t* slots);
Val val_from_slots(Store::Context cx, ValKind kind, const uint64_t* slots);
size_t slot_count(ValKind kind);
size_t slot_count(ValType::ListRef types);

template <typename T>
struct WasmType;  // no mapping: the type cannot cross the host boundary
template <>
struct WasmType<int32_t> {
  static constexpr ValKind kind = ValKind::I32;
  static constexpr size_t slots = 1;
  static int32_t load(Store::Context, const uint64_t* s) { return int32_t(uint32_t(*s)); }
  static void store(Store::Context, uint64_t* s, int32_t v) { *s = uint32_t(v); }
};
template <>
struct WasmType<uint32_t> {
  static constexpr ValKind kind = ValKind::I32;
  static constexpr size_t slots = 1;
  static uint32_t load(Store::Context, const uint64_t* s) { return uint32_t(*s); }
  static void store(Store::Context, uint64_t* s, uint32_t v) { *s = v; }
};
template <>
struct WasmType<int64_t> {
  static constexpr ValKind kind = ValKind::I64;
  static constexpr size_t slots = 1;
  static int64_t load(Store::Context, const uint64_t* s) { return int64_t(*s); }
  static void store(Store::Context, uint64_t* s, int64_t v) { *s = uint64_t(v); }
};
template <>
struct WasmType<uint64_t> {
  static constexpr ValKind kind = ValKind::I64;
  static constexpr size_t slots = 1;
  static uint64_t load(Store::Context, const uint64_t* s) { return *s; }
  static void store(Store::Context, uint64_t* s, uint64_t v) { *s = v; }
};
template <>
struct WasmType<float> {
  static constexpr ValKind kind = ValKind::F32;
  static constexpr size_t slots = 1;
  static float load(Store::Context, const uint64_t* s) {
    float v;
    uint32_t bits = uint32_t(*s);
    std::memcpy(&v, &bits, 4);
    return v;
  }
  static void store(Store::Context, uint64_t* s, float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    *s = bits;
  }
};
template <>
struct WasmType<double> {
  static constexpr ValKind kind = ValKind::F64;
  static constexpr size_t slots = 1;
  static double load(Store::Context, const uint64_t* s) {
    double v;
    std::memcpy(&v, s, 8);
    return v;
  }
  static void store(Store::Context, uint64_t* s, double v) { std::memcpy(s, &v, 8); }
};
template <>
struct WasmType<V128> {
  static constexpr ValKind kind = ValKind::V128;
  static constexpr size_t slots = 2;
  static V128 load(Store::Context, const uint64_t* s) {
    V128 v;
    std::memcpy(v.v128, s, 16);
    return v;
  }
  static void store(Store::Context, uint64_t* s, const V128& v) { std::memcpy(s, v.v128, 16); }
};
// References travel as one slot, converted by the store's functions above.
template <typename Handle, ValKind Kind, std::optional<Handle> (*FromSlot)(Store::Context, uint64_t),
          uint64_t (*ToSlot)(Store::Context, const std::optional<Handle>&)>
struct ReferenceWasmType {
  static constexpr ValKind kind = Kind;
  static constexpr size_t slots = 1;
  static std::optional<Handle> load(Store::Context cx, const uint64_t* s) {
    return FromSlot(cx, *s);
  }
  static void store(Store::Context cx, uint64_t* s, const std::optional<Handle>& v) {
    *s = ToSlot(cx, v);
  }
};
template <>
struct WasmType<std::optional<Func>>
    : ReferenceWasmType<Func, ValKind::FuncRef, func_from_slot, func_to_slot> {};
template <>
struct WasmType<std::optional<ExternRef>>
    : ReferenceWasmType<ExternRef, ValKind::ExternRef, extern_from_slot, extern_to_slot> {};
template <>
struct WasmType<std::optional<AnyRef>>
    : ReferenceWasmType<AnyRef, ValKind::AnyRef, any_from_slot, any_to_slot> {};

// A list of wasm-mappable C++ types: their kinds and slot offsets.
template <typename... T>
struct TypeList {
  static constexpr size_t count = sizeof...(T);
  static constexpr size_t slots = (size_t(0) + ... + WasmType<T>::slots);
  static std::vector<ValType> types() { return {ValType(WasmType<T>::kind)...}; }
  static constexpr std::array<size_t, sizeof...(T) + 1> offsets() {
    std::array<size_t, sizeof...(T) + 1> out{};
    size_t sizes[] = {WasmType<T>::slots..., 0};
    for (size_t i = 0; i < sizeof...(T); ++i) out[i + 1] = out[i] + sizes[i];
    return out;
  }
};

// Params/Results of TypedFunc and of Func::wrap's results: a single type, a tuple, or none.
template <typename T>
struct AsTuple {
  using type = std::tuple<T>;
};
template <typename... T>
struct AsTuple<std::tuple<T...>> {
  using type = std::tuple<T...>;
};
template <>
struct AsTuple<std::monostate> {
  using type = std::tuple<>;
};
template <>
struct AsTuple<void> {
  using type = std::tuple<>;
};
template <typename Tuple>
struct TupleList;
template <typename... T>
struct TupleList<std::tuple<T...>> {
  using type = TypeList<T...>;
};

template <typename Tuple, size_t... I>
void store_tuple(Store::Context cx, uint64_t* slots, const Tuple& values,
                 std::index_sequence<I...>) {
  using List = typename TupleList<Tuple>::type;
  constexpr auto offsets = List::offsets();
  (WasmType<std::tuple_element_t<I, Tuple>>::store(cx, slots + offsets[I], std::get<I>(values)),
   ...);
}
template <typename Tuple, size_t... I>
Tuple load_tuple(Store::Context cx, const uint64_t* slots, std::index_sequence<I...>) {
  using List = typename TupleList<Tuple>::type;
  constexpr auto offsets = List::offsets();
  return Tuple{WasmType<std::tuple_element_t<I, Tuple>>::load(cx, slots + offsets[I])...};
}

// What Func::wrap accepts as results: R is void, monostate, T, tuple<T...>, or Result<X, Trap>.
template <typename R>
struct HostResult {
  using Tuple = typename AsTuple<R>::type;
  static std::optional<Trap> store(Store::Context cx, uint64_t* slots, R&& value) {
    if constexpr (std::is_same_v<R, std::monostate>) {
      (void)cx, (void)slots, (void)value;
    } else if constexpr (std::tuple_size_v<Tuple> == 1 && !std::is_same_v<R, Tuple>) {
      WasmType<R>::store(cx, slots, value);
    } else {
      store_tuple(cx, slots, value, std::make_index_sequence<std::tuple_size_v<Tuple>>());
    }
    return std::nullopt;
  }
};
template <typename R>
struct HostResult<Result<R, Trap>> {
  using Tuple = typename AsTuple<R>::type;
  static std::optional<Trap> store(Store::Context cx, uint64_t* slots, Result<R, Trap>&& value) {
    if (!value) return std::move(value).err();
    return HostResult<R>::store(cx, slots, std::move(value).ok());
  }
};

// Func::wrap's view of a callable: its parameters (after an optional leading Caller) and result.
template <typename F>
struct HostFnTraits : HostFnTraits<decltype(&F::operator())> {};
template <typename R, typename... A>
struct HostFnTraits<R (*)(A...)> {
  using Result = R;
  using Params = std::tuple<A...>;
  static constexpr bool takes_caller = false;
};
template <typename R, typename... A>
struct HostFnTraits<R (*)(Caller, A...)> {
  using Result = R;
  using Params = std::tuple<A...>;
  static constexpr bool takes_caller = true;
};
template <typename C, typename R, typename... A>
struct HostFnTraits<R (C::*)(A...)> : HostFnTraits<R (*)(A...)> {};
template <typename C, typename R, typename... A>
struct HostFnTraits<R (C::*)(A...) const> : HostFnTraits<R (*)(A...)> {};

template <typename F, size_t... I>
std::optional<Trap> invoke_host(F& f, Caller caller, uint64_t* slots, std::index_sequence<I...>) {
  using Traits = HostFnTraits<F>;
  using Params = typename Traits::Params;
  using R = typename Traits::Result;
  Store::Context cx(caller);
  constexpr auto offsets = TupleList<Params>::type::offsets();
  auto call = [&]() -> decltype(auto) {
    if constexpr (Traits::takes_caller) {
      return f(caller, WasmType<std::tuple_element_t<I, Params>>::load(cx, slots + offsets[I])...);
    } else {
      (void)caller;
      return f(WasmType<std::tuple_element_t<I, Params>>::load(cx, slots + offsets[I])...);
    }
  };
  if constexpr (std::is_void_v<R>) {
    call();
    return std::nullopt;
  } else {
    return HostResult<R>::store(cx, slots, call());
  }
}

// A C++ exception must not unwind through compiled code: it becomes a trap with its message.
template <typename Body>
std::optional<Trap> catch_at_boundary(Body&& body) {
  try {
    return body();
  } catch (const std::exception& exception) {
    return Trap(std::string("host function threw an exception: ") + exception.what());
  } catch (...) {
    return Trap(std::string_view("host function threw an exception"));
  }
}

// A host function's result types: Result<R, Trap> has those of R.
template <typename R>
struct StripTrap {
  using type = R;
};
template <typename R>
struct StripTrap<Result<R, Trap>> {
  using type = R;
};
template <typename Results>
std::vector<ValType> result_types() {
  using Tuple = typename AsTuple<typename StripTrap<Results>::type>::type;
  return TupleList<Tuple>::type::types();
}

std::string signature_mismatch(const FuncType& expected, const FuncType& actual);
// A typed view passes arguments without looking at them: refused (with the reason) for a
// function with a reference parameter narrower than its hierarchy's nullable top (an i31ref,
// a `(ref $t)`, a non-nullable funcref), whose values Func::call checks one by one.
Result<std::monostate, Trap> typed_params_unchecked(Store::Context cx, const Func& func);

// Func(cx, type, f)'s callback shape, and its adaptation to slots: parameters become Vals,
// results are checked against the type (a wrong kind traps) and exceptions become traps.
using UntypedHostFn =
    std::function<Result<std::monostate, Trap>(Caller, Span<const Val>, Span<Val>)>;
RawHostFn make_untyped_body(FuncType type, UntypedHostFn f);

}  // namespace detail

// A function called through its static C++ signature: arguments and results travel in slots,
// never as Vals.
template <typename Params, typename Results>
class TypedFunc {
 public:
  explicit TypedFunc(Func func) : func_(func) {}
  TrapResult<Results> call(Store::Context cx, const Params& params) const {
    using In = typename detail::AsTuple<Params>::type;
    using Out = typename detail::AsTuple<Results>::type;
    using InList = typename detail::TupleList<In>::type;
    using OutList = typename detail::TupleList<Out>::type;
    std::array<uint64_t, std::max<size_t>({InList::slots, OutList::slots, 1})> slots{};
    if constexpr (InList::count == 1 && !std::is_same_v<Params, In>) {
      detail::WasmType<Params>::store(cx, slots.data(), params);
    } else if constexpr (InList::count > 0) {
      detail::store_tuple(cx, slots.data(), params, std::make_index_sequence<InList::count>());
    }
    auto called = detail::call_raw(cx, func_, slots.data());
    if (!called) return std::move(called).err();
    if constexpr (std::is_same_v<Results, std::monostate> || OutList::count == 0) {
      return Results{};
    } else if constexpr (OutList::count == 1 && !std::is_same_v<Results, Out>) {
      return detail::WasmType<Results>::load(cx, slots.data());
    } else {
      return detail::load_tuple<Out>(cx, slots.data(), std::make_index_sequence<OutList::count>());
    }
  }
  const Func& func() const { return func_; }

 private:
  Func func_;
};

// ---- Func's templates

template <typename F>
Func::Func(Store::Context cx, const FuncType& type, F f)
    : Func(detail::new_host_func(cx, type, detail::make_untyped_body(type, std::move(f)))) {}

template <typename F>
Func Func::wrap(Store::Context cx, F f) {
  using Traits = detail::HostFnTraits<F>;
  using Params = typename Traits::Params;
  using ParamList = typename detail::TupleList<Params>::type;
  FuncType type(ParamList::types(), detail::result_types<typename Traits::Result>());
  return detail::new_host_func(
      cx, type, [f = std::move(f)](Caller caller, uint64_t* slots) mutable {
        return detail::catch_at_boundary([&] {
          return detail::invoke_host(f, caller, slots,
                                     std::make_index_sequence<ParamList::count>());
        });
      });
}

template <typename I>
TrapResult<std::vector<Val>> Func::call(Store::Context cx, const I& begin, const I& end) const {
  return call(cx, std::vector<Val>(begin, end));
}

template <typename Params, typename Results>
Result<TypedFunc<Params, Results>, Trap> Func::typed(Store::Context cx) const {
  using In = typename detail::AsTuple<Params>::type;
  FuncType expected(detail::TupleList<In>::type::types(), detail::result_types<Results>());
  FuncType actual = type(cx);
  if (!(expected == actual)) return Trap(detail::signature_mismatch(expected, actual));
  if (auto refused = detail::typed_params_unchecked(cx, *this); !refused)
    return std::move(refused).err();
  return TypedFunc<Params, Results>(*this);
}

}  // namespace kiln
