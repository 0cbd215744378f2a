#include "spec-tests/jit_backend.hpp"

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>

#include "runtime/runtime.hpp"

namespace kiln::spec {

namespace {

using runtime::Extern;
using runtime::Failure;
using runtime::Function;
using wasm::ValKind;
using wasm::ValType;

jit::OptLevel opt_level = jit::OptLevel::Speed;

// One engine for every script: it only holds configuration and compiled-code bookkeeping.
const runtime::Engine& shared_engine() {
  static const runtime::Engine engine([] {
    runtime::EngineConfig config;
    config.compile.opt_level = opt_level;
    return config;
  }());
  return engine;
}

// The top of a reference type's hierarchy, as the runner names nulls.
wasm::HeapKind hierarchy_top(const wasm::TypeRegistry& registry, wasm::HeapType heap) {
  using wasm::HeapKind;
  switch (heap.kind) {
    case HeapKind::Func:
    case HeapKind::NoFunc:
      return HeapKind::Func;
    case HeapKind::Extern:
    case HeapKind::NoExtern:
      return HeapKind::Extern;
    case HeapKind::Exn:
    case HeapKind::NoExn:
      return HeapKind::Exn;
    case HeapKind::Concrete:
      return registry.entry(heap.index).type.kind == wasm::CompositeKind::Func ? HeapKind::Func
                                                                               : HeapKind::Any;
    default:
      return HeapKind::Any;
  }
}

class JitBackend final : public ExecutionBackend {
 public:
  JitBackend() : store_(shared_engine()) { register_spectest(); }

  InstantiateOutcome instantiate(std::span<const uint8_t> binary,
                                 const std::optional<std::string>& name) override {
    auto module = shared_engine().compile(binary);
    if (!module) {
      return {InstantiateOutcome::Status::Rejected, module.err().to_string()};
    }
    return instantiate_module(module.ok(), name);
  }

  Result<void> define(std::span<const uint8_t> binary,
                      const std::optional<std::string>& name) override {
    auto module = shared_engine().compile(binary);
    if (!module) return std::move(module.err());
    last_definition_ = module.ok();
    if (name) definitions_[*name] = module.ok();
    return {};
  }

  InstantiateOutcome instantiate_definition(const std::optional<std::string>& instance,
                                            const std::optional<std::string>& definition) override {
    std::shared_ptr<const runtime::Module> module = last_definition_;
    if (definition) {
      auto it = definitions_.find(*definition);
      module = it == definitions_.end() ? nullptr : it->second;
    }
    if (!module) {
      return {InstantiateOutcome::Status::Rejected,
              "no module definition " + definition.value_or("(last)")};
    }
    return instantiate_module(module, instance);
  }

  Result<void> register_instance(std::string_view as,
                                 const std::optional<std::string>& name) override {
    runtime::Instance* instance = find_instance(name);
    if (!instance) return Error("no module " + name.value_or("(last)") + " to register");
    std::map<std::string, Extern>& exports = registered_[std::string(as)];
    exports.clear();
    for (const auto& [field, value] : instance->exports()) exports[field] = value;
    return {};
  }

  ActionOutcome invoke(const std::optional<std::string>& module, std::string_view field,
                       std::span<const text::Value> args) override {
    auto function = find_export(module, field, wasm::ExternKind::Func);
    if (!function) return error(function.err().message());
    const wasm::FuncType& type = *function.ok().func.type;
    if (args.size() != type.params.size()) {
      return error("the function takes " + std::to_string(type.params.size()) + " arguments, got " +
                   std::to_string(args.size()));
    }
    std::vector<uint64_t> slots;
    for (size_t i = 0; i < args.size(); ++i) {
      auto converted = to_slots(args[i], type.params[i], slots);
      if (!converted)
        return error("argument " + std::to_string(i) + ": " + converted.err().message());
    }
    auto called = store_.call(function.ok().func, slots);
    if (!called) return failed(called.err());
    ActionOutcome outcome;
    size_t slot = 0;
    for (const ValType& result : type.results) {
      outcome.values.push_back(from_slots(result, called.ok(), slot));
    }
    return outcome;
  }

  ActionOutcome get(const std::optional<std::string>& module, std::string_view field) override {
    auto global = find_export(module, field, wasm::ExternKind::Global);
    if (!global) return error(global.err().message());
    const runtime::Global& cell = *global.ok().global;
    std::vector<uint64_t> slots(2);
    std::memcpy(slots.data(), cell.cell.bytes, 16);
    ActionOutcome outcome;
    size_t slot = 0;
    outcome.values.push_back(from_slots(cell.type.type, slots, slot));
    return outcome;
  }

 private:
  struct HostRef {
    RuntimeValue::RefKind kind;
    uint64_t payload;
  };

  static ActionOutcome error(std::string message) {
    ActionOutcome outcome;
    outcome.status = ActionOutcome::Status::Error;
    outcome.message = std::move(message);
    return outcome;
  }

  static ActionOutcome failed(const Failure& failure) {
    ActionOutcome outcome;
    outcome.message = failure.message;
    if (failure.kind != Failure::Kind::Trap) {
      outcome.status = ActionOutcome::Status::Error;
    } else if (failure.trap && failure.trap->code == TrapCode::StackOverflow) {
      outcome.status = ActionOutcome::Status::Exhausted;
    } else {
      outcome.status = ActionOutcome::Status::Trapped;
    }
    return outcome;
  }

  InstantiateOutcome instantiate_module(const std::shared_ptr<const runtime::Module>& module,
                                        const std::optional<std::string>& name) {
    std::vector<Extern> imports;
    for (const wasm::Import& import : module->info().imports) {
      auto from = registered_.find(import.module);
      const Extern* value = nullptr;
      if (from != registered_.end()) {
        auto field = from->second.find(import.name);
        if (field != from->second.end()) value = &field->second;
      }
      if (!value) {
        return {InstantiateOutcome::Status::Unlinkable,
                "unknown import " + import.module + "::" + import.name};
      }
      imports.push_back(*value);
    }
    auto instance = store_.instantiate(module, imports);
    if (!instance) {
      const Failure& failure = instance.err();
      switch (failure.kind) {
        case Failure::Kind::Link:
          return {InstantiateOutcome::Status::Unlinkable, failure.message};
        case Failure::Kind::Trap:
          return {InstantiateOutcome::Status::Trapped, failure.message};
        case Failure::Kind::Error:
          return {InstantiateOutcome::Status::Rejected, failure.message};
      }
    }
    last_ = instance.ok();
    if (name) named_[*name] = instance.ok();
    return {};
  }

  runtime::Instance* find_instance(const std::optional<std::string>& name) const {
    if (!name) return last_;
    auto it = named_.find(*name);
    return it == named_.end() ? nullptr : it->second;
  }

  Result<Extern> find_export(const std::optional<std::string>& module, std::string_view field,
                             wasm::ExternKind kind) const {
    runtime::Instance* instance = find_instance(module);
    if (!instance) return Error("no module " + module.value_or("(last)"));
    std::optional<Extern> value = instance->export_named(field);
    if (!value) return Error("no export \"" + std::string(field) + "\"");
    if (value->kind != kind) return Error("export \"" + std::string(field) + "\" has another kind");
    return *value;
  }

  void* host_ref(RuntimeValue::RefKind kind, uint64_t payload) {
    auto key = std::make_pair(kind, payload);
    auto it = host_ref_index_.find(key);
    if (it != host_ref_index_.end()) return it->second;
    host_refs_.push_back({kind, payload});
    void* pointer = &host_refs_.back();
    host_ref_index_[key] = pointer;
    host_ref_kinds_[pointer] = &host_refs_.back();
    return pointer;
  }

  Result<void> to_slots(const text::Value& value, const ValType& type,
                        std::vector<uint64_t>& slots) {
    using K = text::Value::Kind;
    auto expect = [&](bool ok) -> Result<void> {
      if (!ok) return Error("does not match the parameter type");
      return {};
    };
    switch (value.kind) {
      case K::I32:
        slots.push_back(uint32_t(value.bits));
        return expect(type.kind == ValKind::I32);
      case K::I64:
        slots.push_back(value.bits);
        return expect(type.kind == ValKind::I64);
      case K::F32:
        slots.push_back(uint32_t(value.bits));
        return expect(type.kind == ValKind::F32);
      case K::F64:
        slots.push_back(value.bits);
        return expect(type.kind == ValKind::F64);
      case K::V128: {
        uint64_t halves[2];
        std::memcpy(halves, value.v128.data(), 16);
        slots.push_back(halves[0]);
        slots.push_back(halves[1]);
        return expect(type.kind == ValKind::V128);
      }
      case K::RefNull:
        slots.push_back(0);
        return expect(type.is_ref());
      case K::RefExtern:
        slots.push_back(uintptr_t(host_ref(RuntimeValue::RefKind::Extern, value.bits)));
        return expect(type.is_ref());
      case K::RefHost:
        slots.push_back(uintptr_t(host_ref(RuntimeValue::RefKind::Host, value.bits)));
        return expect(type.is_ref());
    }
    return Error("unknown argument kind");
  }

  RuntimeValue from_slots(const ValType& type, const std::vector<uint64_t>& slots, size_t& slot) {
    using Kind = RuntimeValue::Kind;
    const uint64_t bits = slot < slots.size() ? slots[slot] : 0;
    switch (type.kind) {
      case ValKind::I32:
        ++slot;
        return RuntimeValue::i32(uint32_t(bits));
      case ValKind::I64:
        ++slot;
        return RuntimeValue::i64(bits);
      case ValKind::F32:
        ++slot;
        return RuntimeValue::f32_bits(uint32_t(bits));
      case ValKind::F64:
        ++slot;
        return RuntimeValue::f64_bits(bits);
      case ValKind::V128: {
        RuntimeValue value = RuntimeValue::number(Kind::V128, 0);
        const uint64_t high = slot + 1 < slots.size() ? slots[slot + 1] : 0;
        std::memcpy(value.v128.data(), &bits, 8);
        std::memcpy(value.v128.data() + 8, &high, 8);
        slot += 2;
        return value;
      }
      default:
        break;
    }
    ++slot;
    const wasm::HeapKind top = hierarchy_top(shared_engine().registry(), type.heap);
    if (bits == 0) {
      RuntimeValue value = RuntimeValue::reference(RuntimeValue::RefKind::Null);
      value.null_heap = top;
      return value;
    }
    auto host = host_ref_kinds_.find(reinterpret_cast<void*>(uintptr_t(bits)));
    if (host != host_ref_kinds_.end()) {
      return RuntimeValue::reference(host->second->kind, host->second->payload);
    }
    if (top == wasm::HeapKind::Func) return RuntimeValue::reference(RuntimeValue::RefKind::Func);
    if (top == wasm::HeapKind::Exn) return RuntimeValue::reference(RuntimeValue::RefKind::Exn);
    return RuntimeValue::reference(RuntimeValue::RefKind::Extern);
  }

  // The module the testsuite imports from ("spectest"), as the reference interpreter defines it.
  void register_spectest() {
    std::map<std::string, Extern>& exports = registered_["spectest"];
    auto print = [&](const char* field, std::vector<ValType> params) {
      std::vector<ValType> types = params;
      Extern value;
      value.func = store_.new_host_function(wasm::FuncType{std::move(params), {}},
                                            [types](std::span<uint64_t> slots) {
                                              for (size_t i = 0; i < types.size(); ++i)
                                                print_value(types[i], slots[i]);
                                              if (types.empty()) std::printf("\n");
                                              std::fflush(stdout);
                                              return std::optional<TrapCode>();
                                            });
      exports[field] = value;
    };
    print("print", {});
    print("print_i32", {ValType::i32()});
    print("print_i64", {ValType::i64()});
    print("print_f32", {ValType::f32()});
    print("print_f64", {ValType::f64()});
    print("print_i32_f32", {ValType::i32(), ValType::f32()});
    print("print_f64_f64", {ValType::f64(), ValType::f64()});
    auto global = [&](const char* field, ValType type, uint64_t bits) {
      Extern value;
      value.kind = wasm::ExternKind::Global;
      value.global = store_.new_global(type, false, bits);
      exports[field] = value;
    };
    const float f32 = 666.6f;
    const double f64 = 666.6;
    uint32_t f32_bits;
    uint64_t f64_bits;
    std::memcpy(&f32_bits, &f32, 4);
    std::memcpy(&f64_bits, &f64, 8);
    global("global_i32", ValType::i32(), 666);
    global("global_i64", ValType::i64(), 666);
    global("global_f32", ValType::f32(), f32_bits);
    global("global_f64", ValType::f64(), f64_bits);
    Extern table;
    table.kind = wasm::ExternKind::Table;
    // The spectest tables are tiny and the store fresh: these cannot fail.
    table.table = store_.new_table(wasm::TableType{ValType::funcref(), {10, 20}}, nullptr).ok();
    exports["table"] = table;
    Extern table64;
    table64.kind = wasm::ExternKind::Table;
    table64.table =
        store_
            .new_table(wasm::TableType{ValType::funcref(), {10, 20}, wasm::IndexType::I64}, nullptr)
            .ok();
    exports["table64"] = table64;
    Extern memory;
    memory.kind = wasm::ExternKind::Memory;
    auto created = store_.new_memory(wasm::MemoryType{{1, 2}});
    if (created) {
      memory.memory = created.ok();
      exports["memory"] = memory;
    }
    auto shared = store_.new_memory(wasm::MemoryType{{1, 2}, wasm::IndexType::I32, true});
    if (shared) {
      memory.memory = shared.ok();
      exports["shared_memory"] = memory;
    }
  }

  static void print_value(const ValType& type, uint64_t bits) {
    switch (type.kind) {
      case ValKind::I32:
        std::printf("%" PRIu32 " : i32\n", uint32_t(bits));
        break;
      case ValKind::I64:
        std::printf("%" PRIu64 " : i64\n", bits);
        break;
      case ValKind::F32: {
        float value;
        const uint32_t low = uint32_t(bits);
        std::memcpy(&value, &low, 4);
        std::printf("%g : f32\n", double(value));
        break;
      }
      case ValKind::F64: {
        double value;
        std::memcpy(&value, &bits, 8);
        std::printf("%g : f64\n", value);
        break;
      }
      default:
        std::printf("0x%" PRIx64 "\n", bits);
        break;
    }
  }

  runtime::Store store_;
  std::map<std::string, std::map<std::string, Extern>> registered_;
  std::map<std::string, runtime::Instance*> named_;
  runtime::Instance* last_ = nullptr;
  std::map<std::string, std::shared_ptr<const runtime::Module>> definitions_;
  std::shared_ptr<const runtime::Module> last_definition_;
  std::deque<HostRef> host_refs_;
  std::map<std::pair<RuntimeValue::RefKind, uint64_t>, void*> host_ref_index_;
  std::map<const void*, const HostRef*> host_ref_kinds_;
};

}  // namespace

void set_jit_opt_level(jit::OptLevel level) {
  opt_level = level;
}

std::unique_ptr<ExecutionBackend> new_jit_backend() {
  return std::make_unique<JitBackend>();
}

}  // namespace kiln::spec
