// Store, its objects' handles, values, calls and host functions.
#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "api/state.hpp"

namespace kiln {

namespace detail {

namespace {
std::atomic<uint64_t> next_store_id{1};

[[noreturn]] void abort_with(const std::string& message) {
  std::fprintf(stderr, "kiln: %s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}

template <typename Handle, typename Object>
Handle remember(uint64_t store_id, Object* object, std::vector<Object*>& objects,
                std::unordered_map<const void*, uint32_t>& index) {
  auto [it, inserted] = index.emplace(object, uint32_t(objects.size()));
  if (inserted) objects.push_back(object);
  return Handle(store_id, it->second);
}
}  // namespace

StoreState::StoreState(std::shared_ptr<EngineState> engine_state)
    : id(next_store_id.fetch_add(1)), engine(std::move(engine_state)), rt(engine->rt) {}

Func StoreState::func_handle(const runtime::Function& function) {
  auto [it, inserted] = func_index.emplace(function.ref, uint32_t(funcs.size()));
  if (inserted) {
    funcs.push_back(function);
    func_slots.emplace_back(runtime::slot_count(function.type->params),
                            runtime::slot_count(function.type->results));
  }
  return Func(id, it->second);
}
Memory StoreState::memory_handle(runtime::Memory* memory) {
  return remember<Memory>(id, memory, memories, memory_index);
}
Table StoreState::table_handle(runtime::Table* table) {
  return remember<Table>(id, table, tables, table_index);
}
Global StoreState::global_handle(runtime::Global* global) {
  return remember<Global>(id, global, globals, global_index);
}
Tag StoreState::tag_handle(runtime::Tag* tag) {
  return remember<Tag>(id, tag, tags, tag_index);
}
Instance StoreState::instance_handle(runtime::Instance* instance) {
  return remember<Instance>(id, instance, instances, instance_index);
}

Extern StoreState::extern_handle(const runtime::Extern& item) {
  switch (item.kind) {
    case wasm::ExternKind::Func:
      return func_handle(item.func);
    case wasm::ExternKind::Table:
      return table_handle(item.table);
    case wasm::ExternKind::Memory:
      return memory_handle(item.memory);
    case wasm::ExternKind::Global:
      return global_handle(item.global);
    case wasm::ExternKind::Tag:
      return tag_handle(item.tag);
  }
  abort_with("unknown extern kind");
}

StoreState& store_of(Store::Context cx, uint64_t handle_store_id) {
  StoreState* state = cx.state();
  if (state == nullptr) abort_with("a handle was used with an empty store context");
  if (state->id != handle_store_id)
    abort_with("an object of one store was used with another store");
  return *state;
}

Result<StoreState*> checked_store(Store::Context cx, uint64_t handle_store_id) {
  StoreState* state = cx.state();
  if (state == nullptr || state->id != handle_store_id)
    return Error("an object of one store was used with another store");
  return state;
}

Result<runtime::Extern> runtime_extern(StoreState& store, const Extern& item) {
  runtime::Extern out;
  uint64_t id = std::visit([](const auto& handle) { return handle.store_id(); }, item);
  if (id != store.id) return Error("an import belongs to another store");
  if (const Func* func = std::get_if<Func>(&item)) {
    out.kind = wasm::ExternKind::Func;
    out.func = store.funcs[func->index()];
  } else if (const Memory* memory = std::get_if<Memory>(&item)) {
    out.kind = wasm::ExternKind::Memory;
    out.memory = store.memories[memory->index()];
  } else if (const Table* table = std::get_if<Table>(&item)) {
    out.kind = wasm::ExternKind::Table;
    out.table = store.tables[table->index()];
  } else if (const Global* global = std::get_if<Global>(&item)) {
    out.kind = wasm::ExternKind::Global;
    out.global = store.globals[global->index()];
  } else {
    out.kind = wasm::ExternKind::Tag;
    out.tag = store.tags[std::get<Tag>(item).index()];
  }
  return out;
}

TrapError failure_to_trap_error(StoreState& store, runtime::Failure failure) {
  if (failure.kind != runtime::Failure::Kind::Trap || !failure.trap) {
    return Error(failure.message);
  }
  std::vector<FrameRef> frames;
  for (const runtime::Frame& frame : failure.trap->frames) {
    std::optional<std::string> func_name, module_name;
    if (!frame.name.empty()) func_name = frame.name;
    size_t module_offset = frame.module_offset.value_or(0);
    size_t func_offset = 0;
    if (frame.module) {
      const wasm::ModuleInfo& info = frame.module->info();
      module_name = info.names.module;
      if (frame.func_index >= info.imported_funcs &&
          frame.func_index - info.imported_funcs < info.bodies.size()) {
        const uint32_t body_start =
            info.bodies[frame.func_index - info.imported_funcs].range.offset;
        if (module_offset >= body_start) func_offset = module_offset - body_start;
      }
    }
    frames.emplace_back(frame.func_index, std::move(func_name), std::move(module_name), func_offset,
                        module_offset);
  }
  if (store.pending_exit) {
    // WASI's proc_exit unwound the wasm frames: an exit, not a trap.
    const int32_t status = *store.pending_exit;
    store.pending_exit.reset();
    store.pending_host_trap.reset();
    return Error::exit(status);
  }
  if (store.pending_host_trap) {
    // The host function's own trap, with the wasm frames it unwound through.
    Trap host = std::move(*store.pending_host_trap);
    store.pending_host_trap.reset();
    return Trap(host.code(), host.message(), std::move(frames));
  }
  return Trap(failure.trap->code, "wasm trap: " + failure.trap->message(), std::move(frames));
}

size_t slot_count(ValKind kind) {
  return kind == ValKind::V128 ? 2 : 1;
}

size_t slot_count(ValType::ListRef types) {
  size_t total = 0;
  for (const ValType& type : types) total += slot_count(type.kind());
  return total;
}

uint64_t func_to_slot(Store::Context cx, const std::optional<Func>& func) {
  if (!func) return 0;
  StoreState& store = store_of(cx, func->store_id());
  return reinterpret_cast<uint64_t>(store.funcs[func->index()].ref);
}

std::optional<Func> func_from_slot(Store::Context cx, uint64_t slot) {
  if (slot == 0) return std::nullopt;
  StoreState& store = *cx.state();
  auto* ref = reinterpret_cast<jit::VMFuncRef*>(slot);
  auto found = store.func_index.find(ref);
  if (found != store.func_index.end()) return Func(store.id, found->second);
  // A function the store has not handed out yet (a table element, a funcref result): its type
  // comes from the instance that owns it, found through its VMContext.
  const jit::VMContext* vmctx = static_cast<const jit::VMContext*>(ref->vmctx);
  const wasm::FuncType* type = nullptr;
  if (vmctx != nullptr && vmctx->magic == jit::kVMContextMagic) {
    const auto* instance = static_cast<const runtime::Instance*>(vmctx->instance);
    const wasm::ModuleInfo& info = instance->module().info();
    for (uint32_t i = 0; i < info.func_count(); ++i) {
      if (instance->func_ref(i) == ref || instance->function(i).ref == ref) {
        type = instance->function(i).type;
        break;
      }
    }
  } else {
    // A host function: its VMFuncRef's vmctx is its HostCallData.
    type = &static_cast<const runtime::HostCallData*>(ref->vmctx)->function->type;
  }
  if (type == nullptr) abort_with("a function reference the store does not know");
  return store.func_handle(runtime::Function{ref, type});
}

runtime::CanonicalValType canonical_param(const runtime::Function& function, size_t index) {
  const wasm::ValType& type = function.type->params[index];
  if (!type.is_ref() || type.heap.kind != wasm::HeapKind::Concrete) return {type};
  // A concrete type index is the defining module's: a wasm function's VMContext leads to it.
  // (Host functions have abstract types only: the API has no concrete ones.)
  const auto* vmctx = static_cast<const jit::VMContext*>(function.ref->vmctx);
  const auto* instance = static_cast<const runtime::Instance*>(vmctx->instance);
  return runtime::canonicalize(instance->module().types(), type);
}

Result<std::monostate, Trap> typed_params_unchecked(Store::Context cx, const Func& func) {
  StoreState& store = store_of(cx, func.store_id());
  const wasm::FuncType& type = *store.funcs[func.index()].type;
  for (size_t i = 0; i < type.params.size(); ++i) {
    const wasm::ValType& param = type.params[i];
    if (!param.is_ref()) continue;
    const wasm::HeapKind heap = param.heap.kind;
    const bool top = heap == wasm::HeapKind::Any || heap == wasm::HeapKind::Func ||
                     heap == wasm::HeapKind::Extern || heap == wasm::HeapKind::Exn;
    if (!param.nullable || !top) {
      return Trap("parameter " + std::to_string(i) +
                  " is a reference type narrower than its hierarchy's nullable top, which a "
                  "typed view cannot check: call the function with Func::call");
    }
  }
  return std::monostate();
}

Result<std::monostate> check_same_store(const StoreState& store, const Val& value) {
  if (value.kind() == ValKind::FuncRef && value.funcref() &&
      value.funcref()->store_id() != store.id)
    return Error("a function of another store");
  if (value.kind() == ValKind::ExternRef && value.externref() &&
      value.externref()->store_id() != store.id)
    return Error("an externref of another store");
  if (value.kind() == ValKind::AnyRef && value.anyref() && value.anyref()->store_id() != store.id)
    return Error("an anyref of another store");
  return std::monostate();
}

uint64_t extern_to_slot(Store::Context cx, const std::optional<ExternRef>& ref) {
  if (!ref) return 0;
  store_of(cx, ref->store_id());
  if (ref->box()->wasm_bits) return *ref->box()->wasm_bits;  // a converted anyref
  return reinterpret_cast<uint64_t>(ref->box());
}

std::optional<ExternRef> extern_from_slot(Store::Context cx, uint64_t slot) {
  if (slot == 0) return std::nullopt;
  StoreState& store = *cx.state();
  const bool converted_any = jit::is_i31(slot) || (slot & jit::kExternalizedAnyTag) != 0;
  if (!converted_any) {
    auto* box = reinterpret_cast<ExternBox*>(slot);
    if (!store.extern_index.count(box)) abort_with("an externref the store does not know");
    return ExternRef(store.id, box);
  }
  // extern.convert_any of an i31 or a GC object: a box of its own that remembers the bits.
  auto [found, inserted] = store.converted_any_boxes.emplace(slot, nullptr);
  if (inserted) {
    auto box = std::make_unique<ExternBox>();
    box->data = AnyRefAccess::make(store.id, jit::any_convert_extern(slot));
    box->wasm_bits = slot;
    found->second = box.get();
    store.extern_index.emplace(box.get(), uint32_t(store.extern_boxes.size()));
    store.extern_boxes.push_back(std::move(box));
  }
  return ExternRef(store.id, found->second);
}

uint64_t any_to_slot(Store::Context cx, const std::optional<AnyRef>& ref) {
  if (!ref) return 0;
  store_of(cx, ref->store_id());
  return AnyRefAccess::bits(*ref);
}

std::optional<AnyRef> any_from_slot(Store::Context cx, uint64_t slot) {
  if (slot == 0) return std::nullopt;
  return AnyRefAccess::make(cx.state()->id, slot);
}

Result<std::monostate> check_reference(const runtime::CanonicalValType& canonical, uint64_t bits) {
  const wasm::ValType& type = canonical.type;
  if (type.kind != wasm::ValKind::Ref) return std::monostate();
  if (bits == 0) {
    if (type.nullable) return std::monostate();
    return Error("null for a non-nullable reference");
  }
  // An any-hierarchy value's shape: an i31, a GC object (untagged), or an internalized host value.
  const bool i31 = jit::is_i31(bits);
  const bool object = !i31 && (bits & jit::kInternalizedExternTag) == 0;
  auto object_kind = [&] { return reinterpret_cast<const jit::VMGcHeader*>(bits)->kind; };
  const wasm::TypeRegistry& registry = wasm::TypeRegistry::global();
  bool fits = false;
  std::string expected;
  switch (type.heap.kind) {
    case wasm::HeapKind::Any:
    case wasm::HeapKind::Func:
    case wasm::HeapKind::Extern:
    case wasm::HeapKind::Exn:
      return std::monostate();  // every value of the hierarchy
    case wasm::HeapKind::Eq:
      fits = i31 || object;
      expected = "an eqref (an i31, a struct or an array)";
      break;
    case wasm::HeapKind::I31:
      fits = i31;
      expected = "an i31ref";
      break;
    case wasm::HeapKind::Struct:
      fits = object && object_kind() == jit::GcKind::Struct;
      expected = "a structref";
      break;
    case wasm::HeapKind::Array:
      fits = object && object_kind() == jit::GcKind::Array;
      expected = "an arrayref";
      break;
    case wasm::HeapKind::Concrete: {
      const uint32_t id = type.heap.index;
      if (registry.entry(id).type.kind == wasm::CompositeKind::Func) {
        fits = registry.is_subtype(reinterpret_cast<const jit::VMFuncRef*>(bits)->type_id, id);
        expected = "a function of the parameter's type (or a subtype)";
      } else {
        fits = object && registry.is_subtype(reinterpret_cast<const jit::VMGcHeader*>(bits)->type_id,
                                             id);
        expected = "a GC object of the parameter's type (or a subtype)";
      }
      break;
    }
    default:  // none, nofunc, noextern, noexn: only null
      expected = "null (a bottom reference type)";
      break;
  }
  if (fits) return std::monostate();
  return Error("the reference is not " + expected);
}

void val_to_slots(Store::Context cx, const Val& value, uint64_t* slots) {
  switch (value.kind()) {
    case ValKind::I32:
      WasmType<int32_t>::store(cx, slots, value.i32());
      return;
    case ValKind::I64:
      WasmType<int64_t>::store(cx, slots, value.i64());
      return;
    case ValKind::F32:
      WasmType<float>::store(cx, slots, value.f32());
      return;
    case ValKind::F64:
      WasmType<double>::store(cx, slots, value.f64());
      return;
    case ValKind::V128:
      WasmType<V128>::store(cx, slots, value.v128());
      return;
    case ValKind::FuncRef:
      *slots = func_to_slot(cx, value.funcref());
      return;
    case ValKind::ExternRef:
      *slots = extern_to_slot(cx, value.externref());
      return;
    case ValKind::AnyRef:
      *slots = any_to_slot(cx, value.anyref());
      return;
    default:
      *slots = 0;
      return;  // null references of the other hierarchies
  }
}

Val val_from_slots(Store::Context cx, ValKind kind, const uint64_t* slots) {
  switch (kind) {
    case ValKind::I32:
      return WasmType<int32_t>::load(cx, slots);
    case ValKind::I64:
      return WasmType<int64_t>::load(cx, slots);
    case ValKind::F32:
      return WasmType<float>::load(cx, slots);
    case ValKind::F64:
      return WasmType<double>::load(cx, slots);
    case ValKind::V128:
      return WasmType<V128>::load(cx, slots);
    case ValKind::FuncRef:
      return func_from_slot(cx, *slots);
    case ValKind::ExternRef:
      return extern_from_slot(cx, *slots);
    case ValKind::AnyRef:
      return any_from_slot(cx, *slots);
    default:
      if (*slots != 0)
        abort_with(std::string("non-null ") + std::string(to_string(kind)) +
                   " values cannot cross the API yet");
      return Val::null_of(kind);
  }
}

Func new_host_func(Store::Context cx, const FuncType& type, RawHostFn body) {
  StoreState& store = *cx.state();
  auto converted = wasm_func_type(type);
  if (!converted) abort_with("host function type: " + converted.err().message());
  auto shared = std::make_shared<RawHostFn>(std::move(body));
  store.host_bodies.push_back(shared);
  StoreState* state = &store;
  runtime::Function function = store.rt.new_host_function(
      std::move(converted).ok(),
      [state, shared](const runtime::HostCall& call,
                      std::span<uint64_t> slots) -> std::optional<TrapCode> {
        std::optional<Trap> trapped = (*shared)(Caller(state, call.caller), slots.data());
        if (!trapped) return std::nullopt;
        // The runtime unwinds with a code; the Trap itself waits in the store for the call that
        // reaches the host boundary (failure_to_trap_error).
        std::optional<TrapCode> code = trapped->code();
        state->pending_host_trap = std::move(*trapped);
        return code.value_or(TrapCode::UnreachableCodeReached);
      });
  return store.func_handle(function);
}

TrapResult<std::monostate> call_raw(Store::Context cx, const Func& func, uint64_t* slots) {
  // The store check inline (the common case), the error built only when it fails.
  StoreState* state = cx.state();
  if (state == nullptr || state->id != func.store_id()) {
    auto checked = checked_store(cx, func.store_id());
    return TrapError(std::move(checked).err());
  }
  StoreState& store = *state;
  const auto [params, results] = store.func_slots[func.index()];
  auto called = store.rt.call_in_place(store.funcs[func.index()], slots, params, results);
  if (!called) return failure_to_trap_error(store, std::move(called).err());
  return std::monostate();
}

std::string signature_mismatch(const FuncType& expected, const FuncType& actual) {
  auto describe = [](const FuncType& type) {
    std::string text = "(";
    for (size_t i = 0; i < type.params().size(); ++i)
      text += (i ? ", " : "") + std::string(to_string(type.params()[i].kind()));
    text += ") -> (";
    for (size_t i = 0; i < type.results().size(); ++i)
      text += (i ? ", " : "") + std::string(to_string(type.results()[i].kind()));
    return text + ")";
  };
  return "static type " + describe(expected) + " does not match the function's type " +
         describe(actual);
}

RawHostFn make_untyped_body(FuncType type, UntypedHostFn f) {
  return [type = std::move(type), f = std::move(f)](Caller caller,
                                                    uint64_t* slots) -> std::optional<Trap> {
    return catch_at_boundary([&]() -> std::optional<Trap> {
      Store::Context cx(caller);
      std::vector<Val> params, results;
      params.reserve(type.params().size());
      const uint64_t* in = slots;
      for (const ValType& param : type.params()) {
        params.push_back(val_from_slots(cx, param.kind(), in));
        in += slot_count(param.kind());
      }
      // Results start as zero (or null) of their kind, so a callback that fills nothing still
      // returns well-typed values.
      results.reserve(type.results().size());
      for (const ValType& result : type.results()) {
        const uint64_t zero[2] = {0, 0};
        results.push_back(val_from_slots(cx, result.kind(), zero));
      }
      Result<std::monostate, Trap> outcome = f(caller, Span<const Val>(params), Span<Val>(results));
      if (!outcome) return std::move(outcome).err();
      uint64_t* out = slots;
      for (size_t i = 0; i < results.size(); ++i) {
        const ValKind expected = type.results()[i].kind();
        if (results[i].kind() != expected) {
          return Trap("host function result " + std::to_string(i) + " is " +
                      std::string(to_string(results[i].kind())) + ", its type says " +
                      std::string(to_string(expected)));
        }
        val_to_slots(cx, results[i], out);
        out += slot_count(expected);
      }
      return std::nullopt;
    });
  };
}

}  // namespace detail

// ---- Store

Store::Store(const Engine& engine) : state_(std::make_unique<detail::StoreState>(engine.state())) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

void Store::limiter(int64_t memory_size, int64_t table_elements, int64_t instances, int64_t tables,
                    int64_t memories) {
  auto limits = std::make_shared<runtime::StoreLimits>();
  if (memory_size >= 0) limits->memory_size = uint64_t(memory_size);
  if (table_elements >= 0) limits->table_elements = uint64_t(table_elements);
  if (instances >= 0) limits->instance_count = uint64_t(instances);
  if (tables >= 0) limits->table_count = uint64_t(tables);
  if (memories >= 0) limits->memory_count = uint64_t(memories);
  state_->rt.set_limiter(std::move(limits));
}

namespace {
// The embedder's limiter, as the runtime asks it.
class EmbedderLimiter final : public runtime::ResourceLimiter {
 public:
  explicit EmbedderLimiter(std::shared_ptr<kiln::ResourceLimiter> limiter)
      : limiter_(std::move(limiter)) {}
  bool memory_growing(uint64_t current, uint64_t desired,
                      std::optional<uint64_t> maximum) override {
    return limiter_->memory_growing(current, desired, maximum);
  }
  bool table_growing(uint64_t current, uint64_t desired, std::optional<uint64_t> maximum) override {
    return limiter_->table_growing(current, desired, maximum);
  }
  uint64_t instances() const override { return limiter_->instances(); }
  uint64_t tables() const override { return limiter_->tables(); }
  uint64_t memories() const override { return limiter_->memories(); }

 private:
  std::shared_ptr<kiln::ResourceLimiter> limiter_;  // not the runtime's base class
};
}  // namespace

void Store::set_resource_limiter(std::shared_ptr<ResourceLimiter> limiter) {
  state_->rt.set_limiter(std::make_shared<EmbedderLimiter>(std::move(limiter)));
}

Store::Context::Context(Caller& caller) : state_(caller.state()) {}
Store::Context::Context(Caller* caller) : state_(caller->state()) {}

namespace {
// Fuel exists only in engines that compile it in: the error every fuel operation gives otherwise.
std::optional<Error> fuel_disabled(const detail::StoreState& state) {
  if (state.engine->settings.consume_fuel) return std::nullopt;
  return Error("fuel is not enabled: use Config::consume_fuel(true)");
}

// A callback's Trap unwinds like a host function's: the runtime traps with its code (or
// `otherwise`), the Trap itself waits in the store for the host boundary.
TrapCode record_callback_trap(detail::StoreState& state, Trap trap, TrapCode otherwise) {
  const TrapCode code = trap.code().value_or(otherwise);
  state.pending_host_trap = std::move(trap);
  return code;
}
}  // namespace

Result<std::monostate> Store::Context::set_fuel(uint64_t fuel) {
  if (auto disabled = fuel_disabled(*state_)) return *disabled;
  state_->rt.set_fuel(fuel);
  return std::monostate();
}

Result<uint64_t> Store::Context::get_fuel() const {
  if (auto disabled = fuel_disabled(*state_)) return *disabled;
  return state_->rt.fuel();
}

namespace {
using StoreCallback = std::function<Result<uint64_t, Trap>(Store::Context)>;

// The runtime's hook for an embedder's callback: its number goes to `apply` (more fuel, a new
// deadline) and the check continues; its Trap stops wasm with that trap (or `otherwise`).
runtime::Store::InterruptHook hook_for(detail::StoreState* state, StoreCallback callback,
                                       void (runtime::Store::*apply)(uint64_t),
                                       TrapCode otherwise) {
  return [state, callback = std::move(callback), apply,
          otherwise](runtime::Store& rt) -> std::optional<TrapCode> {
    Caller caller(state, nullptr);
    Result<uint64_t, Trap> decided = callback(Store::Context(caller));
    if (!decided) return record_callback_trap(*state, std::move(decided).err(), otherwise);
    (rt.*apply)(decided.ok());
    return std::nullopt;
  };
}
}  // namespace

void Store::Context::out_of_fuel_callback(StoreCallback callback) {
  state_->rt.set_out_of_fuel_hook(
      hook_for(state_, std::move(callback), &runtime::Store::add_fuel, TrapCode::OutOfFuel));
}

void Store::Context::out_of_fuel_trap() {
  state_->rt.set_out_of_fuel_hook(nullptr);
}

void Store::Context::epoch_deadline_callback(StoreCallback callback) {
  state_->rt.set_epoch_deadline_hook(hook_for(state_, std::move(callback),
                                              &runtime::Store::set_epoch_deadline,
                                              TrapCode::Interrupt));
}

void Store::Context::epoch_deadline_trap() {
  state_->rt.set_epoch_deadline_hook(nullptr);
}

void Store::Context::set_data(std::any data) const {
  state_->data = std::move(data);
}
std::any& Store::Context::get_data() const {
  return state_->data;
}

void Store::Context::set_epoch_deadline(uint64_t ticks_beyond_current) {
  state_->rt.set_epoch_deadline(ticks_beyond_current);
}

Result<std::monostate> Store::Context::gc() {
  return std::monostate();
}

// ---- Values

ExternRef::ExternRef(Store::Context cx, std::any value) {
  detail::StoreState& store = *cx.state();
  auto box = std::make_unique<detail::ExternBox>();
  box->data = std::move(value);
  store_id_ = store.id;
  box_ = box.get();
  store.extern_index.emplace(box_, uint32_t(store.extern_boxes.size()));
  store.extern_boxes.push_back(std::move(box));
}

std::any& ExternRef::data(Store::Context cx) const {
  detail::store_of(cx, store_id_);
  return box_->data;
}

AnyRef AnyRef::i31(Store::Context cx, uint32_t value) {
  return AnyRef(cx.state()->id, jit::i31_from_i32(value));
}

std::optional<uint32_t> AnyRef::u31(Store::Context cx) const {
  detail::store_of(cx, store_id_);
  if (!jit::is_i31(bits_)) return std::nullopt;
  return jit::i31_get_u(bits_);
}

std::optional<int32_t> AnyRef::i31(Store::Context cx) const {
  detail::store_of(cx, store_id_);
  if (!jit::is_i31(bits_)) return std::nullopt;
  return jit::i31_get_s(bits_);
}

bool AnyRef::is_i31(Store::Context cx) const {
  detail::store_of(cx, store_id_);
  return jit::is_i31(bits_);
}

namespace {
// The kind of GC object an anyref's bits point at (None: an i31 or an internalized host value).
jit::GcKind object_kind(uint64_t bits) {
  if (jit::is_i31(bits) || (bits & jit::kInternalizedExternTag) != 0) return jit::GcKind::None;
  return reinterpret_cast<const jit::VMGcHeader*>(bits)->kind;
}
}  // namespace

bool AnyRef::is_eqref(Store::Context cx) const {
  return is_i31(cx) || object_kind(bits_) != jit::GcKind::None;
}
bool AnyRef::is_struct(Store::Context cx) const {
  detail::store_of(cx, store_id_);
  return object_kind(bits_) == jit::GcKind::Struct;
}
bool AnyRef::is_array(Store::Context cx) const {
  detail::store_of(cx, store_id_);
  return object_kind(bits_) == jit::GcKind::Array;
}

const Val& Val::check(ValKind kind) const {
  if (kind_ != kind) {
    detail::abort_with_message(std::string("Val: asked for ") + std::string(to_string(kind)) +
                               " of a " + std::string(to_string(kind_)) + " value");
  }
  return *this;
}

// ---- Func

FuncType Func::type(Store::Context cx) const {
  detail::StoreState& store = detail::store_of(cx, store_id_);
  return detail::func_type_of(*store.funcs[index_].type);
}

TrapResult<std::vector<Val>> Func::call(Store::Context cx, const std::vector<Val>& params) const {
  auto checked = detail::checked_store(cx, store_id_);
  if (!checked) return TrapError(std::move(checked).err());
  detail::StoreState& store = *checked.ok();
  const runtime::Function& function = store.funcs[index_];
  const wasm::FuncType& type = *function.type;
  if (params.size() != type.params.size()) {
    return TrapError(Error("the function takes " + std::to_string(type.params.size()) +
                           " arguments, got " + std::to_string(params.size())));
  }
  std::vector<uint64_t> slots(std::max<size_t>(runtime::slot_count(type.params), 1));
  uint64_t* at = slots.data();
  for (size_t i = 0; i < params.size(); ++i) {
    const ValKind expected = detail::val_type_of(type.params[i]).kind();
    if (params[i].kind() != expected) {
      return TrapError(Error("argument " + std::to_string(i) + " is " +
                             std::string(to_string(params[i].kind())) + ", the function takes " +
                             std::string(to_string(expected))));
    }
    if (auto foreign = detail::check_same_store(store, params[i]); !foreign)
      return TrapError(Error("argument " + std::to_string(i) + ": " + foreign.err().message()));
    detail::val_to_slots(cx, params[i], at);
    if (type.params[i].is_ref()) {
      auto fits = detail::check_reference(detail::canonical_param(function, i), *at);
      if (!fits)
        return TrapError(Error("argument " + std::to_string(i) + ": " + fits.err().message()));
    }
    at += detail::slot_count(expected);
  }
  slots.resize(runtime::slot_count(type.params));
  runtime::CallResult called = store.rt.call(function, slots);
  if (!called) return detail::failure_to_trap_error(store, std::move(called).err());
  std::vector<Val> results;
  results.reserve(type.results.size());
  const uint64_t* out = called.ok().data();
  for (const wasm::ValType& result : type.results) {
    const ValKind kind = detail::val_type_of(result).kind();
    results.push_back(detail::val_from_slots(cx, kind, out));
    out += detail::slot_count(kind);
  }
  return results;
}

TrapResult<std::vector<Val>> Func::call(Store::Context cx,
                                        const std::initializer_list<Val>& params) const {
  return call(cx, std::vector<Val>(params));
}

// ---- Memory

namespace {
wasm::MemoryType wasm_memory_type(const MemoryType& type) {
  wasm::MemoryType rt;
  rt.limits.min = type.min();
  rt.limits.max = type.max();
  rt.index_type = type.is_64() ? wasm::IndexType::I64 : wasm::IndexType::I32;
  rt.shared = type.is_shared();
  rt.page_size_log2 = type.page_size_log2();
  return rt;
}

Error grow_failed(const runtime::Memory& memory, uint64_t delta) {
  return Error("failed to grow memory by " + std::to_string(delta) + " pages (size " +
               std::to_string(memory.pages()) + ", maximum " +
               std::to_string(memory.max_pages()) + ")");
}
}  // namespace

Result<Memory> Memory::create(Store::Context cx, const MemoryType& type) {
  detail::StoreState& store = *cx.state();
  auto memory = store.rt.new_memory(wasm_memory_type(type));
  if (!memory) return std::move(memory).err();
  return store.memory_handle(memory.ok());
}

MemoryType Memory::type(Store::Context cx) const {
  return detail::memory_type_of(detail::store_of(cx, store_id_).memories[index_]->type());
}

uint64_t Memory::size(Store::Context cx) const {
  return detail::store_of(cx, store_id_).memories[index_]->pages();
}

Span<uint8_t> Memory::data(Store::Context cx) const {
  runtime::Memory* memory = detail::store_of(cx, store_id_).memories[index_];
  return Span<uint8_t>(memory->base(), size_t(memory->size_bytes()));
}

Result<uint64_t> Memory::grow(Store::Context cx, uint64_t delta) const {
  auto checked = detail::checked_store(cx, store_id_);
  if (!checked) return std::move(checked).err();
  runtime::Memory* memory = checked.ok()->memories[index_];
  const uint64_t old = checked.ok()->rt.grow_memory(*memory, delta);
  if (old == UINT64_MAX) return grow_failed(*memory, delta);
  return old;
}

uint64_t Memory::page_size(Store::Context cx) const {
  return type(cx).page_size();
}
uint8_t Memory::page_size_log2(Store::Context cx) const {
  return type(cx).page_size_log2();
}

Result<std::monostate> Memory::read(Store::Context cx, uint64_t offset, Span<uint8_t> out) const {
  auto checked = detail::checked_store(cx, store_id_);
  if (!checked) return std::move(checked).err();
  runtime::Memory* memory = checked.ok()->memories[index_];
  if (offset > memory->size_bytes() || out.size() > memory->size_bytes() - offset)
    return Error("memory read of " + std::to_string(out.size()) + " bytes at " +
                 std::to_string(offset) + " is out of bounds (size " +
                 std::to_string(memory->size_bytes()) + ")");
  std::memcpy(out.data(), memory->base() + offset, out.size());
  return std::monostate();
}

Result<std::monostate> Memory::write(Store::Context cx, uint64_t offset,
                                     Span<const uint8_t> bytes) const {
  auto checked = detail::checked_store(cx, store_id_);
  if (!checked) return std::move(checked).err();
  runtime::Memory* memory = checked.ok()->memories[index_];
  if (offset > memory->size_bytes() || bytes.size() > memory->size_bytes() - offset)
    return Error("memory write of " + std::to_string(bytes.size()) + " bytes at " +
                 std::to_string(offset) + " is out of bounds (size " +
                 std::to_string(memory->size_bytes()) + ")");
  std::memcpy(memory->base() + offset, bytes.data(), bytes.size());
  return std::monostate();
}

std::optional<SharedMemory> Memory::shared(Store::Context cx) const {
  detail::StoreState& store = detail::store_of(cx, store_id_);
  runtime::Memory* memory = store.memories[index_];
  if (!memory->is_shared()) return std::nullopt;
  return SharedMemory(std::make_shared<detail::SharedMemoryState>(
      detail::SharedMemoryState{store.engine, memory->shared_from_this()}));
}

// ---- SharedMemory

Result<SharedMemory> SharedMemory::create(const Engine& engine, const MemoryType& type) {
  if (!type.is_shared())
    return Error("SharedMemory::create: the memory type is not shared (MemoryType::Builder's "
                 "shared(true))");
  if (!type.max()) return Error("SharedMemory::create: a shared memory needs a maximum");
  if (!engine.settings().threads)
    return Error("SharedMemory::create: the threads proposal is disabled in the engine's config");
  const std::shared_ptr<detail::EngineState>& state = engine.state();
  auto memory = runtime::Memory::create(wasm_memory_type(type), state->rt.config());
  if (!memory) return std::move(memory).err();
  return SharedMemory(std::make_shared<detail::SharedMemoryState>(
      detail::SharedMemoryState{state, std::move(memory).ok()}));
}

MemoryType SharedMemory::type() const {
  return detail::memory_type_of(state_->memory->type());
}

uint64_t SharedMemory::size() const {
  return state_->memory->pages();
}

Span<uint8_t> SharedMemory::data() const {
  const runtime::Memory& memory = *state_->memory;
  return Span<uint8_t>(memory.base(), size_t(memory.size_bytes()));
}

Result<uint64_t> SharedMemory::grow(uint64_t delta) const {
  // No store, so no store's limiter: the type's maximum is the only bound.
  const uint64_t old = state_->memory->grow(delta);
  if (old == UINT64_MAX) return grow_failed(*state_->memory, delta);
  return old;
}

Result<Memory> SharedMemory::memory(Store::Context cx) const {
  detail::StoreState* store = cx.state();
  // Compiled code assumes its engine's guard regions around every memory it accesses.
  if (store->engine != state_->engine)
    return Error("a shared memory of another engine than the store's");
  return store->memory_handle(store->rt.adopt_shared_memory(state_->memory));
}

bool operator==(const SharedMemory& a, const SharedMemory& b) {
  return a.state_->memory == b.state_->memory;
}

// ---- Table

namespace {
Result<void*> table_value(Store::Context cx, const runtime::Table& table, const Val& value) {
  if (auto foreign = detail::check_same_store(*cx.state(), value); !foreign)
    return std::move(foreign).err();
  const ValKind kind = detail::val_type_of(table.type().element).kind();
  if (value.kind() != kind)
    return Error("a " + std::string(to_string(value.kind())) + " value for a table of " +
                 std::string(to_string(kind)));
  uint64_t slot = 0;
  detail::val_to_slots(cx, value, &slot);
  if (auto fits = detail::check_reference(table.element_type(), slot); !fits)
    return std::move(fits).err();
  return reinterpret_cast<void*>(slot);
}
}  // namespace

Result<Table> Table::create(Store::Context cx, const TableType& type, const Val& init) {
  detail::StoreState& store = *cx.state();
  auto element = detail::wasm_val_type(type.element());
  if (!element) return std::move(element).err();
  if (auto foreign = detail::check_same_store(store, init); !foreign)
    return std::move(foreign).err();
  if (init.kind() != type.element().kind())
    return Error("a " + std::string(to_string(init.kind())) + " initial value for a table of " +
                 std::string(to_string(type.element().kind())));
  wasm::TableType rt;
  rt.element = element.ok();
  rt.limits.min = type.min();
  rt.limits.max = type.max();
  rt.index_type = type.is_64() ? wasm::IndexType::I64 : wasm::IndexType::I32;
  uint64_t slot = 0;
  detail::val_to_slots(cx, init, &slot);
  auto table = store.rt.new_table(rt, reinterpret_cast<void*>(slot));
  if (!table) return std::move(table).err();
  return store.table_handle(table.ok());
}

TableType Table::type(Store::Context cx) const {
  return detail::table_type_of(detail::store_of(cx, store_id_).tables[index_]->type());
}

uint64_t Table::size(Store::Context cx) const {
  return detail::store_of(cx, store_id_).tables[index_]->size();
}

std::optional<Val> Table::get(Store::Context cx, uint64_t index) const {
  runtime::Table* table = detail::store_of(cx, store_id_).tables[index_];
  if (index >= table->size()) return std::nullopt;
  const uint64_t slot = reinterpret_cast<uint64_t>(table->elements()[index]);
  return detail::val_from_slots(cx, detail::val_type_of(table->type().element).kind(), &slot);
}

Result<std::monostate> Table::set(Store::Context cx, uint64_t index, const Val& value) const {
  auto checked = detail::checked_store(cx, store_id_);
  if (!checked) return std::move(checked).err();
  runtime::Table* table = checked.ok()->tables[index_];
  if (index >= table->size())
    return Error("table index " + std::to_string(index) + " is out of bounds (size " +
                 std::to_string(table->size()) + ")");
  auto element = table_value(cx, *table, value);
  if (!element) return std::move(element).err();
  table->elements()[index] = element.ok();
  return std::monostate();
}

Result<uint64_t> Table::grow(Store::Context cx, uint64_t delta, const Val& init) const {
  auto checked = detail::checked_store(cx, store_id_);
  if (!checked) return std::move(checked).err();
  runtime::Table* table = checked.ok()->tables[index_];
  auto element = table_value(cx, *table, init);
  if (!element) return std::move(element).err();
  const uint64_t old = checked.ok()->rt.grow_table(*table, delta, element.ok());
  if (old == UINT64_MAX)
    return Error("failed to grow table by " + std::to_string(delta) + " elements");
  return old;
}

// ---- Global

Result<Global> Global::create(Store::Context cx, const GlobalType& type, const Val& init) {
  detail::StoreState& store = *cx.state();
  auto content = detail::wasm_val_type(type.content());
  if (!content) return std::move(content).err();
  if (auto foreign = detail::check_same_store(store, init); !foreign)
    return std::move(foreign).err();
  if (init.kind() != type.content().kind())
    return Error("a " + std::string(to_string(init.kind())) + " initial value for a global of " +
                 std::string(to_string(type.content().kind())));
  uint64_t slots[2] = {0, 0};
  detail::val_to_slots(cx, init, slots);
  runtime::Global* global = store.rt.new_global(content.ok(), type.is_mutable(), slots[0]);
  if (init.kind() == ValKind::V128) std::memcpy(&global->cell, slots, 16);
  return store.global_handle(global);
}

GlobalType Global::type(Store::Context cx) const {
  runtime::Global* global = detail::store_of(cx, store_id_).globals[index_];
  return GlobalType(detail::val_type_of(global->type.type), global->mutable_);
}

Val Global::get(Store::Context cx) const {
  runtime::Global* global = detail::store_of(cx, store_id_).globals[index_];
  uint64_t slots[2];
  std::memcpy(slots, &global->cell, sizeof(slots) <= sizeof(global->cell) ? 16 : 8);
  return detail::val_from_slots(cx, detail::val_type_of(global->type.type).kind(), slots);
}

Result<std::monostate> Global::set(Store::Context cx, const Val& value) const {
  auto checked = detail::checked_store(cx, store_id_);
  if (!checked) return std::move(checked).err();
  runtime::Global* global = checked.ok()->globals[index_];
  if (!global->mutable_) return Error("the global is immutable");
  if (auto foreign = detail::check_same_store(*checked.ok(), value); !foreign)
    return std::move(foreign).err();
  const ValKind kind = detail::val_type_of(global->type.type).kind();
  if (value.kind() != kind)
    return Error("a " + std::string(to_string(value.kind())) + " value for a global of " +
                 std::string(to_string(kind)));
  uint64_t slots[2] = {0, 0};
  detail::val_to_slots(cx, value, slots);
  if (auto fits = detail::check_reference(global->type, slots[0]); !fits)
    return std::move(fits).err();
  std::memcpy(&global->cell, slots, kind == ValKind::V128 ? 16 : 8);
  return std::monostate();
}

// ---- Tag

Result<Tag> Tag::create(Store::Context cx, const TagType& type) {
  if (!type.functype().results().empty())
    return Error("a tag's type has no results (exception tags carry parameters only)");
  auto converted = detail::wasm_func_type(type.functype());
  if (!converted) return std::move(converted).err();
  detail::StoreState& store = *cx.state();
  return store.tag_handle(store.rt.new_tag(converted.ok()));
}

TagType Tag::type(Store::Context cx) const {
  runtime::Tag* tag = detail::store_of(cx, store_id_).tags[index_];
  const wasm::SubType sub = wasm::TypeRegistry::global().entry(tag->type_id).type;
  return TagType(detail::func_type_of(sub.func));
}

bool Tag::eq(Store::Context cx, const Tag& other) const {
  detail::StoreState& store = detail::store_of(cx, store_id_);
  return other.store_id_ == store_id_ && store.tags[index_] == store.tags[other.index_];
}

// ---- Instance

TrapResult<Instance> Instance::create(Store::Context cx, const Module& module,
                                      const std::vector<Extern>& imports) {
  detail::StoreState& store = *cx.state();
  if (module.state()->engine != store.engine)
    return TrapError(Error("the module was compiled by another engine than the store's"));
  std::vector<runtime::Extern> resolved;
  resolved.reserve(imports.size());
  for (const Extern& item : imports) {
    auto converted = detail::runtime_extern(store, item);
    if (!converted) return TrapError(std::move(converted).err());
    resolved.push_back(converted.ok());
  }
  auto instance = store.rt.instantiate(module.state()->rt, resolved);
  if (store.modules.empty() || store.modules.back() != module.state())
    store.modules.push_back(module.state());
  if (!instance) return detail::failure_to_trap_error(store, std::move(instance).err());
  return store.instance_handle(instance.ok());
}

std::optional<Extern> Instance::get(Store::Context cx, std::string_view name) {
  detail::StoreState& store = detail::store_of(cx, store_id_);
  auto item = store.instances[index_]->export_named(name);
  if (!item) return std::nullopt;
  return store.extern_handle(*item);
}

std::optional<std::pair<std::string_view, Extern>> Instance::get(Store::Context cx, size_t index) {
  detail::StoreState& store = detail::store_of(cx, store_id_);
  const auto& exports = store.instances[index_]->exports();
  if (index >= exports.size()) return std::nullopt;
  return std::pair<std::string_view, Extern>(exports[index].first,
                                             store.extern_handle(exports[index].second));
}

std::optional<SharedMemory> Instance::get_shared_memory(Store::Context cx, std::string_view name) {
  auto item = get(cx, name);
  if (!item) return std::nullopt;
  const Memory* memory = std::get_if<Memory>(&*item);
  if (memory == nullptr) return std::nullopt;
  return memory->shared(cx);
}

// ---- Caller

std::optional<Extern> Caller::get_export(std::string_view name) {
  if (instance_ == nullptr) return std::nullopt;
  auto* instance = static_cast<runtime::Instance*>(instance_);
  auto item = instance->export_named(name);
  if (!item) return std::nullopt;
  return store_->extern_handle(*item);
}

}  // namespace kiln
