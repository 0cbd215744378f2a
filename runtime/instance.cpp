// Stores, instantiation (imports, constant expressions, segments, start), the builtins compiled
// code calls, and calls from the host with traps turned into backtraces.
#include <algorithm>
#include <cstring>

#include "decoder/operators.hpp"
#include "runtime/atomics.hpp"
#include "runtime/runtime.hpp"

namespace kiln::runtime {

namespace {

using wasm::ExternKind;
using wasm::Op;

uint32_t trap_result(TrapCode code) {
  return uint32_t(code) + 1;
}

// [start, start + length) lies inside [0, size), without overflow.
bool in_bounds(uint64_t start, uint64_t length, uint64_t size) {
  return start <= size && length <= size - start;
}

Instance& instance_of(jit::VMContext* vmctx) {
  return *static_cast<Instance*>(vmctx->instance);
}

}  // namespace

// ---- Builtins (signatures: jit/vmcontext.hpp)

struct Builtins {
  static uint64_t memory_grow(jit::VMContext* vmctx, uint32_t memory, uint64_t delta) {
    Instance& instance = instance_of(vmctx);
    return instance.store().grow_memory(*instance.memories_[memory], delta);
  }

  static uint32_t memory_fill(jit::VMContext* vmctx, uint32_t memory, uint64_t dst, uint32_t value,
                              uint64_t length) {
    Memory& target = *instance_of(vmctx).memories_[memory];
    if (!in_bounds(dst, length, target.size_bytes()))
      return trap_result(TrapCode::MemoryOutOfBounds);
    std::memset(target.base() + dst, int(uint8_t(value)), size_t(length));
    return 0;
  }

  static uint32_t memory_copy(jit::VMContext* vmctx, uint32_t dst_memory, uint32_t src_memory,
                              uint64_t dst, uint64_t src, uint64_t length) {
    Instance& instance = instance_of(vmctx);
    Memory& to = *instance.memories_[dst_memory];
    Memory& from = *instance.memories_[src_memory];
    if (!in_bounds(dst, length, to.size_bytes()) || !in_bounds(src, length, from.size_bytes())) {
      return trap_result(TrapCode::MemoryOutOfBounds);
    }
    std::memmove(to.base() + dst, from.base() + src, size_t(length));
    return 0;
  }

  static uint32_t memory_init(jit::VMContext* vmctx, uint32_t memory, uint32_t data, uint64_t dst,
                              uint32_t src, uint32_t length) {
    Instance& instance = instance_of(vmctx);
    Memory& target = *instance.memories_[memory];
    const wasm::DataSegment& segment = instance.module_->info().data[data];
    const uint64_t available = instance.data_dropped_[data] ? 0 : segment.bytes.size;
    if (!in_bounds(src, length, available) || !in_bounds(dst, length, target.size_bytes())) {
      return trap_result(TrapCode::MemoryOutOfBounds);
    }
    if (length != 0) {
      std::memcpy(target.base() + dst,
                  instance.module_->bytes().data() + segment.bytes.offset + src, length);
    }
    return 0;
  }

  static void data_drop(jit::VMContext* vmctx, uint32_t data) {
    instance_of(vmctx).data_dropped_[data] = 1;
  }

  static uint64_t table_grow(jit::VMContext* vmctx, uint32_t table, void* init, uint64_t delta) {
    Instance& instance = instance_of(vmctx);
    return instance.store().grow_table(*instance.tables_[table], delta, init);
  }

  static uint32_t table_fill(jit::VMContext* vmctx, uint32_t table, uint64_t dst, void* value,
                             uint64_t length) {
    Table& target = *instance_of(vmctx).tables_[table];
    if (!in_bounds(dst, length, target.size())) return trap_result(TrapCode::TableOutOfBounds);
    std::fill_n(target.elements() + dst, size_t(length), value);
    return 0;
  }

  static uint32_t table_copy(jit::VMContext* vmctx, uint32_t dst_table, uint32_t src_table,
                             uint64_t dst, uint64_t src, uint64_t length) {
    Instance& instance = instance_of(vmctx);
    Table& to = *instance.tables_[dst_table];
    Table& from = *instance.tables_[src_table];
    if (!in_bounds(dst, length, to.size()) || !in_bounds(src, length, from.size())) {
      return trap_result(TrapCode::TableOutOfBounds);
    }
    if (length != 0) {
      std::memmove(to.elements() + dst, from.elements() + src, size_t(length) * sizeof(void*));
    }
    return 0;
  }

  static uint32_t table_init(jit::VMContext* vmctx, uint32_t table, uint32_t elem, uint64_t dst,
                             uint32_t src, uint32_t length) {
    Instance& instance = instance_of(vmctx);
    Table& target = *instance.tables_[table];
    const std::vector<void*>& segment = instance.elements_[elem];
    if (!in_bounds(src, length, segment.size()) || !in_bounds(dst, length, target.size())) {
      return trap_result(TrapCode::TableOutOfBounds);
    }
    std::copy_n(segment.begin() + src, length, target.elements() + dst);
    return 0;
  }

  static void elem_drop(jit::VMContext* vmctx, uint32_t elem) {
    std::vector<void*>().swap(instance_of(vmctx).elements_[elem]);
  }

  // Only reached when the type ids differ: walking the supertype chain takes the registry's
  // lock, which the inline exact compare keeps off the common path.
  static const jit::VMFuncRef* func_ref_subtype(jit::VMContext* vmctx, const jit::VMFuncRef* callee,
                                                uint32_t expected) {
    const wasm::TypeRegistry& registry = instance_of(vmctx).store().engine().registry();
    return registry.is_subtype(callee->type_id, expected) ? callee : nullptr;
  }

  // A fuel or epoch check failed (reached through the interrupt stub): the store decides.
  static uint32_t interrupt_check(jit::VMContext* vmctx) {
    std::optional<TrapCode> trap = instance_of(vmctx).store().on_failed_check();
    if (!trap) return 0;
    if (Activation* activation = current_activation()) activation->pending_host_trap = *trap;
    return 1;
  }

  static uint64_t atomic(jit::VMContext*, uint32_t code, uint8_t* address, uint64_t operand,
                         uint64_t replacement) {
    return atomic_operation(code, address, operand, replacement);
  }
};

const void* const* builtin_table() {
  static const void* const table[size_t(jit::Builtin::Count)] = {
      reinterpret_cast<const void*>(&Builtins::memory_grow),
      reinterpret_cast<const void*>(&Builtins::memory_fill),
      reinterpret_cast<const void*>(&Builtins::memory_copy),
      reinterpret_cast<const void*>(&Builtins::memory_init),
      reinterpret_cast<const void*>(&Builtins::data_drop),
      reinterpret_cast<const void*>(&Builtins::table_grow),
      reinterpret_cast<const void*>(&Builtins::table_fill),
      reinterpret_cast<const void*>(&Builtins::table_copy),
      reinterpret_cast<const void*>(&Builtins::table_init),
      reinterpret_cast<const void*>(&Builtins::elem_drop),
      reinterpret_cast<const void*>(&Builtins::func_ref_subtype),
      reinterpret_cast<const void*>(&Builtins::interrupt_check),
      trampolines().interrupt_stub,
      reinterpret_cast<const void*>(&Builtins::atomic),
  };
  return table;
}

// ---- Traps and backtraces

namespace {

Trap trap_from(const Activation& activation) {
  Trap trap;
  trap.code = activation.trap_code;
  if (trap.code == TrapCode::IndirectCallToNull && activation.trap_rax) {
    trap.element_index = *activation.trap_rax;
  }
  for (uint32_t i = 0; i < activation.trap_frame_count; ++i) {
    const uintptr_t pc = activation.trap_frames[i];
    const CodeInfo* info = find_code(pc);
    if (!info) break;  // the entry trampoline's caller: the walk is over
    const uint32_t offset = uint32_t(pc - info->start);
    const CodeFunction* function = info->find_function(i == 0 ? offset : offset - 1);
    if (!function) continue;  // a host-call stub or the trampoline
    Frame frame;
    frame.func_index = function->func_index;
    if (info->owner) {
      frame.module = static_cast<const Module*>(info->owner);
      frame.name = frame.module->function_name(function->func_index);
    }
    if (i == 0) {
      if (const jit::TrapSite* site = info->find_trap_site(offset)) {
        frame.module_offset = site->wasm_offset;
      }
    } else {
      frame.module_offset = info->wasm_offset_at(offset - 1);  // the call, not what follows
    }
    trap.frames.push_back(std::move(frame));
  }
  return trap;
}

uint32_t host_call(void* caller_vmctx, void* data, uint64_t* args) {
  HostFunction* host = static_cast<HostCallData*>(data)->function;
  std::span<uint64_t> slots(args, std::max(host->param_slots, host->result_slots));
  // Called from wasm, the caller's frame holds its VMContext; called straight from the entry
  // trampoline (Store::call of a host function), it holds this function's own HostCallData,
  // whose first word is a code pointer, never the VMContext magic.
  HostCall call;
  const auto* vmctx = static_cast<const jit::VMContext*>(caller_vmctx);
  if (vmctx != nullptr && vmctx != data && vmctx->magic == jit::kVMContextMagic) {
    call.caller = static_cast<Instance*>(vmctx->instance);
  }
  std::optional<TrapCode> trapped = host->body(call, slots);
  if (!trapped) return 0;
  if (Activation* activation = current_activation()) activation->pending_host_trap = *trapped;
  return 1;
}

}  // namespace

// ---- Store

Store::Store(const Engine& engine) : engine_(&engine), gc_heap_(engine.config().max_gc_heap_bytes) {
  vm_.stack_limit = 0;
}

Store::~Store() = default;

// ---- Fuel and epochs (docs/fuel-epochs.md)

void Store::set_fuel(uint64_t fuel) {
  vm_.fuel_consumed = -int64_t(std::min<uint64_t>(fuel, uint64_t(INT64_MAX)));
}

void Store::add_fuel(uint64_t fuel) {
  const uint64_t room = uint64_t(vm_.fuel_consumed) - uint64_t(INT64_MIN);  // to INT64_MIN
  vm_.fuel_consumed -= int64_t(std::min(fuel, room));
}

uint64_t Store::fuel() const {
  // Positive once a block's charge went past the last fuel (checks are at function entries and
  // loop headers only): nothing is left then.
  return vm_.fuel_consumed < 0 ? uint64_t(-vm_.fuel_consumed) : 0;
}

void Store::set_epoch_deadline(uint64_t ticks_beyond_current) {
  const uint64_t now = engine_->current_epoch();
  vm_.epoch_deadline = now > UINT64_MAX - ticks_beyond_current ? UINT64_MAX
                                                               : now + ticks_beyond_current;
}

std::optional<TrapCode> Store::on_failed_check() {
  const jit::CompileOptions& compiled = engine_->config().compile;
  if (compiled.consume_fuel && vm_.fuel_consumed >= 0) {
    if (!out_of_fuel_hook_) return TrapCode::OutOfFuel;
    if (std::optional<TrapCode> trap = out_of_fuel_hook_(*this)) return trap;
    if (vm_.fuel_consumed >= 0) return TrapCode::OutOfFuel;
  }
  if (compiled.epoch_interruption) {
    if (engine_->current_epoch() >= vm_.epoch_deadline) {
      if (!epoch_deadline_hook_) return TrapCode::Interrupt;
      if (std::optional<TrapCode> trap = epoch_deadline_hook_(*this)) return trap;
      if (engine_->current_epoch() >= vm_.epoch_deadline) return TrapCode::Interrupt;
    }
  }
  return std::nullopt;
}

void Store::refresh_stack_limit() {
  uintptr_t limit = thread_stack_limit();
  // max_wasm_stack counts from the outermost entry; nested entries (a host function calling
  // wasm again) keep the limit that entry set.
  const uint64_t max_stack = engine_->config().max_wasm_stack;
  if (max_stack != 0) {
    if (current_activation() != nullptr) return;
    const uintptr_t here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    if (here > max_stack) limit = std::max<uintptr_t>(limit, here - max_stack);
  }
  if (vm_.stack_limit == limit) return;
  vm_.stack_limit = limit;
  for (auto& instance : instances_) instance->vmctx_.stack_limit = limit;
}

CallResult Store::call(const Function& function, std::span<const uint64_t> args) {
  if (!function.ref || !function.type) return Failure::error("call of an empty function");
  const uint32_t param_slots = slot_count(function.type->params);
  const uint32_t result_slots = slot_count(function.type->results);
  if (args.size() != param_slots) {
    return Failure::error("the function takes " + std::to_string(param_slots) +
                          " parameter slots, got " + std::to_string(args.size()));
  }
  std::vector<uint64_t> values(std::max<size_t>({param_slots, result_slots, 1}));
  std::copy(args.begin(), args.end(), values.begin());
  auto called = call_in_place(function, values);
  if (!called) return std::move(called).err();
  values.resize(result_slots);
  return values;
}

Result<void, Failure> Store::call_in_place(const Function& function, std::span<uint64_t> slots) {
  if (!function.ref || !function.type) return Failure::error("call of an empty function");
  const uint32_t param_slots = slot_count(function.type->params);
  const uint32_t result_slots = slot_count(function.type->results);
  if (slots.size() < std::max<size_t>({param_slots, result_slots, 1}))
    return Failure::error("the slots cannot hold the function's parameters and results");
  return call_in_place(function, slots.data(), param_slots, result_slots);
}

Result<void, Failure> Store::call_in_place(const Function& function, uint64_t* slots,
                                           uint32_t param_slots, uint32_t result_slots) {
  refresh_stack_limit();
  Activation activation;
  if (!call_wasm(function.ref->code, function.ref->vmctx, slots, param_slots, result_slots,
                 activation)) {
    return Failure::from_trap(trap_from(activation));
  }
  return {};
}

Function Store::new_host_function(
    wasm::FuncType type, std::function<std::optional<TrapCode>(std::span<uint64_t>)> body) {
  return new_host_function(
      std::move(type),
      [body = std::move(body)](const HostCall&, std::span<uint64_t> slots) { return body(slots); });
}

Tag* Store::new_tag(const wasm::FuncType& type) {
  // As for host functions: a type of abstract types is its own canonical one-type rec group.
  wasm::SubType sub;
  sub.kind = wasm::CompositeKind::Func;
  sub.func = type;
  const uint32_t no_earlier = 0;
  auto tag = std::make_unique<Tag>();
  tag->type_id = engine_->registry().intern_group(std::span<const wasm::SubType>(&sub, 1), 0,
                                                  std::span<const uint32_t>(&no_earlier, 0));
  tags_.push_back(std::move(tag));
  return tags_.back().get();
}

Function Store::new_host_function(wasm::FuncType type, HostBody body) {
  auto host = std::make_unique<HostFunction>();
  host->call_data = {&host_call, host.get()};
  host->param_slots = slot_count(type.params);
  host->result_slots = slot_count(type.results);
  host->type = std::move(type);
  host->body = std::move(body);
  // Host function types use abstract types only, so their one-type rec group is canonical
  // without a module around it.
  wasm::SubType sub;
  sub.kind = wasm::CompositeKind::Func;
  sub.func = host->type;
  const uint32_t no_earlier = 0;
  host->ref.code = trampolines().host_stub;
  host->ref.vmctx = &host->call_data;
  host->ref.type_id = engine_->registry().intern_group(std::span<const wasm::SubType>(&sub, 1), 0,
                                                       std::span<const uint32_t>(&no_earlier, 0));
  host->function = {&host->ref, &host->type};
  Function function = host->function;
  host_functions_.push_back(std::move(host));
  return function;
}

uint64_t Store::grow_memory(Memory& memory, uint64_t delta_pages) {
  const uint64_t pages = memory.pages();
  if (delta_pages > memory.max_pages() - pages) return UINT64_MAX;  // past the type's maximum
  const unsigned log2 = memory.type().page_size_log2;
  // pages + delta <= max_pages, which fits the index type, so the byte count cannot overflow
  // except for a 64-bit memory of 64 KiB pages near 2^48 pages: saturate then.
  const uint64_t desired_pages = pages + delta_pages;
  const uint64_t desired =
      desired_pages > (UINT64_MAX >> log2) ? UINT64_MAX : desired_pages << log2;
  std::optional<uint64_t> maximum;
  if (memory.type().limits.max) maximum = *memory.type().limits.max << log2;
  if (!limiter_->memory_growing(memory.size_bytes(), desired, maximum)) return UINT64_MAX;
  return memory.grow(delta_pages);
}

uint64_t Store::grow_table(Table& table, uint64_t delta, void* init) {
  const uint64_t size = table.size();
  if (delta > table.max() - size) return UINT64_MAX;
  if (!limiter_->table_growing(size, size + delta, table.type().limits.max)) return UINT64_MAX;
  return table.grow(delta, init);
}

Result<void> Store::admit_memory(const wasm::MemoryType& type) {
  if (memories_.size() >= limiter_->memories()) {
    return Error("the store's limit of " + std::to_string(limiter_->memories()) +
                 " memories is reached (limit: memories)");
  }
  const unsigned log2 = type.page_size_log2;
  const uint64_t bytes =
      type.limits.min > (UINT64_MAX >> log2) ? UINT64_MAX : type.limits.min << log2;
  std::optional<uint64_t> maximum;
  if (type.limits.max) maximum = *type.limits.max << log2;
  if (!limiter_->memory_growing(0, bytes, maximum)) {
    return Error("a memory of " + std::to_string(bytes) +
                 " bytes exceeds the store's limit (limit: memory_size)");
  }
  return {};
}

Result<void> Store::admit_table(const wasm::TableType& type) {
  if (tables_.size() >= limiter_->tables()) {
    return Error("the store's limit of " + std::to_string(limiter_->tables()) +
                 " tables is reached (limit: tables)");
  }
  if (!limiter_->table_growing(0, type.limits.min, type.limits.max)) {
    return Error("a table of " + std::to_string(type.limits.min) +
                 " elements exceeds the store's limit (limit: table_elements)");
  }
  return {};
}

Result<Memory*> Store::new_memory(const wasm::MemoryType& type) {
  if (auto admitted = admit_memory(type); !admitted) return std::move(admitted).err();
  auto memory = Memory::create(type, engine_->config());
  if (!memory) return std::move(memory.err());
  memories_.push_back(std::move(memory.ok()));
  return memories_.back().get();
}

Memory* Store::adopt_shared_memory(std::shared_ptr<Memory> memory) {
  Memory* raw = memory.get();
  for (const auto& held : imported_shared_memories_)
    if (held.get() == raw) return raw;
  for (const auto& owned : memories_)
    if (owned.get() == raw) return raw;
  imported_shared_memories_.push_back(std::move(memory));
  return raw;
}

Result<Table*> Store::new_table(const wasm::TableType& type, void* init) {
  if (auto admitted = admit_table(type); !admitted) return std::move(admitted).err();
  auto table = std::make_unique<Table>(type, CanonicalValType{type.element},
                                       engine_->config().max_table_elements);
  if (type.limits.min > table->max() || table->grow(type.limits.min, init) == UINT64_MAX)
    return Error("cannot allocate a table of " + std::to_string(type.limits.min) + " elements");
  tables_.push_back(std::move(table));
  return tables_.back().get();
}

Global* Store::new_global(wasm::ValType type, bool mutable_, uint64_t bits) {
  auto global = std::make_unique<Global>();
  global->type = {type};
  global->mutable_ = mutable_;
  std::memcpy(global->cell.bytes, &bits, sizeof bits);
  globals_.push_back(std::move(global));
  return globals_.back().get();
}

// ---- Instantiation

struct ConstValue {
  uint64_t bits = 0;
  std::array<uint8_t, 16> v128{};
};

struct InstanceBuilder {
  Store& store;
  Instance& instance;
  const Module& module;
  const wasm::ModuleInfo& info;

  Result<ConstValue, Failure> evaluate(const wasm::ConstExpr& expr) {
    wasm::OperatorReader reader(module.bytes(), expr.range);
    std::vector<ConstValue> stack;
    wasm::Operator op;
    auto binary = [&](auto apply) -> bool {
      if (stack.size() < 2) return false;
      const uint64_t rhs = stack.back().bits;
      stack.pop_back();
      stack.back().bits = apply(stack.back().bits, rhs);
      return true;
    };
    while (!reader.at_end()) {
      if (auto read = reader.read(op); !read) return Failure::error(read.err().to_string());
      bool ok = true;
      switch (op.op) {
        case Op::I32Const:
          stack.push_back({uint64_t(uint32_t(op.value)), {}});
          break;
        case Op::I64Const:
        case Op::F32Const:
        case Op::F64Const:
          stack.push_back({op.value, {}});
          break;
        case Op::V128Const: {
          ConstValue value;
          value.v128 = op.bytes;
          std::memcpy(&value.bits, op.bytes.data(), 8);
          stack.push_back(value);
          break;
        }
        case Op::RefNull:
          stack.push_back({0, {}});
          break;
        case Op::RefFunc:
          stack.push_back({uint64_t(uintptr_t(instance.func_ref(op.index))), {}});
          break;
        case Op::GlobalGet: {
          ConstValue value;
          std::memcpy(value.v128.data(), instance.globals_[op.index]->cell.bytes, 16);
          std::memcpy(&value.bits, value.v128.data(), 8);
          stack.push_back(value);
          break;
        }
        case Op::RefI31:
          if (stack.empty()) {
            ok = false;
            break;
          }
          stack.back().bits = jit::i31_from_i32(uint32_t(stack.back().bits));
          break;
        case Op::AnyConvertExtern:
        case Op::ExternConvertAny:
          if (stack.empty()) {
            ok = false;
            break;
          }
          stack.back().bits = op.op == Op::AnyConvertExtern
                                  ? jit::any_convert_extern(stack.back().bits)
                                  : jit::extern_convert_any(stack.back().bits);
          break;
        case Op::StructNew:
        case Op::StructNewDefault:
        case Op::ArrayNew:
        case Op::ArrayNewDefault:
        case Op::ArrayNewFixed: {
          auto allocated = evaluate_allocation(op, stack);
          if (!allocated) return std::move(allocated.err());
          ok = allocated.ok();
          break;
        }
        case Op::I32Add:
          ok = binary([](uint64_t a, uint64_t b) { return uint64_t(uint32_t(a + b)); });
          break;
        case Op::I32Sub:
          ok = binary([](uint64_t a, uint64_t b) { return uint64_t(uint32_t(a - b)); });
          break;
        case Op::I32Mul:
          ok = binary([](uint64_t a, uint64_t b) { return uint64_t(uint32_t(a * b)); });
          break;
        case Op::I64Add:
          ok = binary([](uint64_t a, uint64_t b) { return a + b; });
          break;
        case Op::I64Sub:
          ok = binary([](uint64_t a, uint64_t b) { return a - b; });
          break;
        case Op::I64Mul:
          ok = binary([](uint64_t a, uint64_t b) { return a * b; });
          break;
        case Op::End:
          if (stack.size() != 1) ok = false;
          if (ok) return stack.back();
          break;
        default:
          // Worded "unsupported: ..." as every missing feature is, so callers (the spec
          // runner) can tell a gap from a broken module.
          return Failure::error("unsupported: constant expressions with " +
                                std::string(wasm::opcode_info(op.op).mnemonic) +
                                " (not yet implemented by the runtime)");
      }
      if (!ok) return Failure::error("malformed constant expression");
    }
    return Failure::error("constant expression without end");
  }

  // The GC allocations of constant expressions: pops the operands, pushes the new object.
  // False when the operands are not there (a malformed expression); a trap when the heap refuses
  // the object (too large, or the store's GC heap is full).
  Result<bool, Failure> evaluate_allocation(const wasm::Operator& op,
                                            std::vector<ConstValue>& stack) {
    if (op.index >= info.types.size()) return false;
    const jit::GcLayout& layout = module.gc_layout(op.index);
    const uint32_t type_id = instance.type_ids_[op.index];
    GcHeap& heap = store.gc_heap();
    auto trap = [](TrapCode code) { return Failure::from_trap(Trap{code, {}, {}}); };
    auto write = [](uint8_t* at, jit::GcStorage storage, const ConstValue& value) {
      write_gc_value(at, storage, value.bits, value.v128.data());
    };
    uint8_t* object = nullptr;
    size_t operands = 0;
    if (op.op == Op::StructNew || op.op == Op::StructNewDefault) {
      if (layout.kind != jit::GcKind::Struct) return false;
      operands = op.op == Op::StructNew ? layout.fields.size() : 0;
      if (stack.size() < operands) return false;
      auto allocated = heap.new_struct(type_id, layout);
      if (!allocated) return trap(allocated.err());
      object = reinterpret_cast<uint8_t*>(allocated.ok());
      const size_t first = stack.size() - operands;
      for (size_t i = 0; i < operands; ++i) {
        write(object + layout.fields[i].offset, layout.fields[i].storage, stack[first + i]);
      }
    } else {
      if (layout.kind != jit::GcKind::Array) return false;
      const jit::GcField element = layout.fields.front();
      const uint32_t element_size = jit::storage_size(element.storage);
      // array.new: [value length]; array.new_default: [length]; array.new_fixed N: N values.
      operands = op.op == Op::ArrayNew ? 2 : op.op == Op::ArrayNewDefault ? 1 : op.index2;
      if (stack.size() < operands) return false;
      const uint32_t length = op.op == Op::ArrayNewFixed ? op.index2 : uint32_t(stack.back().bits);
      auto allocated = heap.new_array(type_id, layout, length);
      if (!allocated) return trap(allocated.err());
      object = reinterpret_cast<uint8_t*>(allocated.ok());
      uint8_t* elements = object + element.offset;
      if (op.op == Op::ArrayNewFixed) {
        const size_t first = stack.size() - operands;
        for (uint32_t i = 0; i < length; ++i) {
          write(elements + size_t(i) * element_size, element.storage, stack[first + i]);
        }
      } else if (op.op == Op::ArrayNew) {
        const ConstValue& value = stack[stack.size() - 2];
        // The heap hands out zeroed memory, which is already every element's default.
        const bool zero = value.bits == 0 && (element.storage != jit::GcStorage::V128 ||
                                              value.v128 == std::array<uint8_t, 16>{});
        if (!zero) {
          for (uint32_t i = 0; i < length; ++i) {
            write(elements + size_t(i) * element_size, element.storage, value);
          }
        }
      }
    }
    stack.resize(stack.size() - operands);
    stack.push_back({uint64_t(uintptr_t(object)), {}});
    return true;
  }

  Result<uint64_t, Failure> evaluate_offset(const wasm::ConstExpr& expr) {
    auto value = evaluate(expr);
    if (!value) return std::move(value.err());
    return value.ok().bits;
  }

  Failure incompatible(const wasm::Import& import, const std::string& why) {
    return Failure::link("incompatible import type for " + import.module + "::" + import.name +
                         ": " + why);
  }

  Result<void, Failure> link_import(const wasm::Import& import, const Extern& value) {
    const wasm::TypeRegistry& registry = store.engine().registry();
    const wasm::ModuleTypes& types = module.types();
    if (value.kind != import.kind) return incompatible(import, "wrong kind of extern");
    const bool present = (value.kind == ExternKind::Func && value.func.ref && value.func.type) ||
                         (value.kind == ExternKind::Table && value.table) ||
                         (value.kind == ExternKind::Memory && value.memory) ||
                         (value.kind == ExternKind::Global && value.global) ||
                         (value.kind == ExternKind::Tag && value.tag);
    if (!present) {
      return Failure::link("unknown import " + import.module + "::" + import.name +
                           ": the extern is empty");
    }
    auto limits_match = [](uint64_t current, std::optional<uint64_t> declared_max,
                           const wasm::Limits& expected) {
      if (current < expected.min) return false;
      if (!expected.max) return true;
      return declared_max && *declared_max <= *expected.max;
    };
    switch (import.kind) {
      case ExternKind::Func: {
        const uint32_t expected = types.canonical_id(import.func_type);
        const uint32_t actual = value.func.ref->type_id;
        if (actual != expected && !registry.is_subtype(actual, expected)) {
          return incompatible(import, "function type mismatch");
        }
        const uint32_t index = uint32_t(instance.functions_.size());
        instance.func_refs_[index] = *value.func.ref;
        instance.functions_.push_back({&instance.func_refs_[index], value.func.type});
        return {};
      }
      case ExternKind::Table: {
        Table& table = *value.table;
        if (table.type().index_type != import.table.index_type ||
            !(table.element_type() == canonicalize(types, import.table.element)) ||
            !limits_match(table.size(), table.type().limits.max, import.table.limits)) {
          return incompatible(import, "table type mismatch");
        }
        instance.tables_.push_back(&table);
        return {};
      }
      case ExternKind::Memory: {
        Memory& memory = *value.memory;
        const wasm::MemoryType& type = memory.type();
        if (type.index_type != import.memory.index_type || type.shared != import.memory.shared ||
            type.page_size_log2 != import.memory.page_size_log2 ||
            !limits_match(memory.pages(), type.limits.max, import.memory.limits)) {
          return incompatible(import, "memory type mismatch");
        }
        // A shared memory may come from another store: this one keeps it alive too.
        if (type.shared) store.adopt_shared_memory(memory.shared_from_this());
        instance.memories_.push_back(&memory);
        return {};
      }
      case ExternKind::Global: {
        Global& global = *value.global;
        const CanonicalValType expected = canonicalize(types, import.global.type);
        const bool matches = global.mutable_ == import.global.mutable_ &&
                             (global.mutable_ ? global.type == expected
                                              : is_subtype(registry, global.type, expected));
        if (!matches) return incompatible(import, "global type mismatch");
        instance.globals_.push_back(&global);
        return {};
      }
      case ExternKind::Tag: {
        if (value.tag->type_id != types.canonical_id(import.tag.type_index)) {
          return incompatible(import, "tag type mismatch");
        }
        instance.tags_.push_back(value.tag);
        return {};
      }
    }
    return incompatible(import, "unknown extern kind");
  }

  Result<void, Failure> build(std::span<const Extern> imports) {
    const wasm::ModuleTypes& types = module.types();
    if (imports.size() != info.imports.size()) {
      return Failure::link("unknown import: expected " + std::to_string(info.imports.size()) +
                           " imports, got " + std::to_string(imports.size()));
    }
    instance.type_ids_.resize(info.types.size());
    for (uint32_t i = 0; i < info.types.size(); ++i) instance.type_ids_[i] = types.canonical_id(i);
    instance.func_refs_ = std::make_unique<jit::VMFuncRef[]>(info.func_count());
    instance.functions_.reserve(info.func_count());
    for (size_t i = 0; i < imports.size(); ++i) {
      if (auto linked = link_import(info.imports[i], imports[i]); !linked) return linked;
    }
    for (uint32_t i = info.imported_funcs; i < info.func_count(); ++i) {
      jit::VMFuncRef& ref = instance.func_refs_[i];
      ref.code = module.function_code(i - info.imported_funcs);
      ref.vmctx = &instance.vmctx_;
      ref.type_id = instance.type_ids_[info.func_types[i]];
      instance.functions_.push_back({&ref, &types.func_type(i)});
    }
    for (const wasm::Global& definition : info.globals) {
      auto value = evaluate(definition.init);
      if (!value) return std::move(value.err());
      auto global = std::make_unique<Global>();
      global->type = canonicalize(types, definition.type.type);
      global->mutable_ = definition.type.mutable_;
      if (definition.type.type.kind == wasm::ValKind::V128) {
        std::memcpy(global->cell.bytes, value.ok().v128.data(), 16);
      } else {
        std::memcpy(global->cell.bytes, &value.ok().bits, 8);
      }
      instance.globals_.push_back(global.get());
      store.globals_.push_back(std::move(global));
    }
    for (const wasm::Table& definition : info.tables) {
      if (auto admitted = store.admit_table(definition.type); !admitted)
        return Failure::error(admitted.err().message());
      void* init = nullptr;
      if (definition.init) {
        auto value = evaluate(*definition.init);
        if (!value) return std::move(value.err());
        init = reinterpret_cast<void*>(uintptr_t(value.ok().bits));
      }
      auto table =
          std::make_unique<Table>(definition.type, canonicalize(types, definition.type.element),
                                  store.engine().config().max_table_elements);
      if (definition.type.limits.min > table->max() ||
          table->grow(definition.type.limits.min, init) == UINT64_MAX) {
        return Failure::error("cannot allocate a table of " +
                              std::to_string(definition.type.limits.min) + " elements");
      }
      instance.tables_.push_back(table.get());
      store.tables_.push_back(std::move(table));
    }
    for (size_t i = info.imported_memories; i < info.memories.size(); ++i) {
      if (auto admitted = store.admit_memory(info.memories[i]); !admitted)
        return Failure::error(admitted.err().message());
      auto memory = Memory::create(info.memories[i], store.engine().config());
      if (!memory) return Failure::error(memory.err().to_string());
      instance.memories_.push_back(memory.ok().get());
      store.memories_.push_back(std::move(memory.ok()));
    }
    for (size_t i = info.imported_tags; i < info.tags.size(); ++i) {
      auto tag = std::make_unique<Tag>();
      tag->type_id = types.canonical_id(info.tags[i].type_index);
      instance.tags_.push_back(tag.get());
      store.tags_.push_back(std::move(tag));
    }

    for (Memory* memory : instance.memories_) instance.vm_memories_.push_back(memory->vm());
    for (Table* table : instance.tables_) instance.vm_tables_.push_back(table->vm());
    for (Global* global : instance.globals_) instance.vm_globals_.push_back(&global->cell);
    jit::VMContext& vm = instance.vmctx_;
    vm.magic = jit::kVMContextMagic;
    vm.stack_limit = store.vm_.stack_limit;
    vm.memory0 = instance.vm_memories_.empty() ? nullptr : instance.vm_memories_[0];
    vm.memory0_base = vm.memory0 ? vm.memory0->base : nullptr;
    vm.memories = instance.vm_memories_.data();
    vm.globals = instance.vm_globals_.data();
    vm.func_refs = instance.func_refs_.get();
    vm.tables = instance.vm_tables_.data();
    vm.type_ids = instance.type_ids_.data();
    vm.builtins = builtin_table();
    vm.store = &store.vm_;
    vm.epoch_counter = store.engine().epoch_counter();
    vm.instance = &instance;

    for (const wasm::Export& definition : info.exports) {
      Extern value;
      value.kind = definition.kind;
      switch (definition.kind) {
        case ExternKind::Func:
          value.func = instance.functions_[definition.index];
          break;
        case ExternKind::Table:
          value.table = instance.tables_[definition.index];
          break;
        case ExternKind::Memory:
          value.memory = instance.memories_[definition.index];
          break;
        case ExternKind::Global:
          value.global = instance.globals_[definition.index];
          break;
        case ExternKind::Tag:
          value.tag = instance.tags_[definition.index];
          break;
      }
      instance.exports_.emplace_back(definition.name, value);
    }

    instance.elements_.resize(info.elements.size());
    for (size_t i = 0; i < info.elements.size(); ++i) {
      const wasm::ElementSegment& segment = info.elements[i];
      std::vector<void*>& values = instance.elements_[i];
      values.reserve(segment.count());
      if (segment.uses_exprs) {
        for (const wasm::ConstExpr& expr : segment.exprs) {
          auto value = evaluate(expr);
          if (!value) return std::move(value.err());
          values.push_back(reinterpret_cast<void*>(uintptr_t(value.ok().bits)));
        }
      } else {
        for (uint32_t func : segment.func_indices) values.push_back(instance.func_ref(func));
      }
    }
    instance.data_dropped_.assign(info.data.size(), 0);
    return {};
  }

  // Active segments, in order, then the start function. Effects before a trap remain.
  Result<void, Failure> initialise() {
    jit::VMContext* vm = &instance.vmctx_;
    for (size_t i = 0; i < info.elements.size(); ++i) {
      const wasm::ElementSegment& segment = info.elements[i];
      if (segment.mode == wasm::SegmentMode::Active) {
        auto offset = evaluate_offset(segment.offset);
        if (!offset) return std::move(offset.err());
        const uint32_t count = uint32_t(instance.elements_[i].size());
        if (Builtins::table_init(vm, segment.table, uint32_t(i), offset.ok(), 0, count) != 0) {
          return Failure::from_trap(Trap{TrapCode::TableOutOfBounds, {}, {}});
        }
      }
      if (segment.mode != wasm::SegmentMode::Passive) Builtins::elem_drop(vm, uint32_t(i));
    }
    for (size_t i = 0; i < info.data.size(); ++i) {
      const wasm::DataSegment& segment = info.data[i];
      if (segment.mode != wasm::SegmentMode::Active) continue;
      auto offset = evaluate_offset(segment.offset);
      if (!offset) return std::move(offset.err());
      if (Builtins::memory_init(vm, segment.memory, uint32_t(i), offset.ok(), 0,
                                segment.bytes.size) != 0) {
        return Failure::from_trap(Trap{TrapCode::MemoryOutOfBounds, {}, {}});
      }
      Builtins::data_drop(vm, uint32_t(i));
    }
    if (info.start) {
      auto called = store.call(instance.functions_[*info.start], {});
      if (!called) return std::move(called.err());
    }
    return {};
  }
};

Result<Instance*, Failure> Store::instantiate(std::shared_ptr<const Module> module,
                                              std::span<const Extern> imports) {
  if (instances_.size() >= limiter_->instances()) {
    return Failure::error("the store's limit of " + std::to_string(limiter_->instances()) +
                          " instances is reached (limit: instances)");
  }
  std::unique_ptr<Instance> instance(new Instance());
  instance->store_ = this;
  instance->module_ = module;
  InstanceBuilder builder{*this, *instance, *module, module->info()};
  if (auto built = builder.build(imports); !built) return std::move(built.err());
  Instance* result = instance.get();
  instances_.push_back(std::move(instance));
  if (auto initialised = builder.initialise(); !initialised) return std::move(initialised.err());
  return result;
}

std::optional<Extern> Instance::export_named(std::string_view name) const {
  for (const auto& [export_name, value] : exports_) {
    if (export_name == name) return value;
  }
  return std::nullopt;
}

}  // namespace kiln::runtime
