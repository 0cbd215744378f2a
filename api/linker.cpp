// Linker: definitions by (module, name), resolved at instantiation.
#include "kiln/linker.hpp"

#include "api/state.hpp"

namespace kiln {

namespace {
std::string qualified(std::string_view module, std::string_view name) {
  return "`" + std::string(module) + "::" + std::string(name) + "`";
}
}  // namespace

Linker::Linker(const Engine& engine) : engine_(engine.state()) {}
Linker::Linker(Linker&&) noexcept = default;
Linker& Linker::operator=(Linker&&) noexcept = default;
Linker::~Linker() = default;

Result<std::monostate> Linker::insert(std::string_view module, std::string_view name,
                                      Definition definition) {
  auto key = std::make_pair(std::string(module), std::string(name));
  auto found = definitions_.find(key);
  if (found != definitions_.end()) {
    if (!allow_shadowing_)
      return Error("import " + qualified(module, name) + " is already defined in this linker");
    found->second = std::move(definition);
    return std::monostate();
  }
  definitions_.emplace(std::move(key), std::move(definition));
  return std::monostate();
}

Result<std::monostate> Linker::define(Store::Context cx, std::string_view module,
                                      std::string_view name, const Extern& item) {
  const uint64_t id = std::visit([](const auto& handle) { return handle.store_id(); }, item);
  auto checked = detail::checked_store(cx, id);
  if (!checked) return std::move(checked).err();
  return insert(module, name, StoreItem{id, item});
}

Result<std::monostate> Linker::define(Store::Context, std::string_view module,
                                      std::string_view name, const SharedMemory& memory) {
  if (memory.state()->engine != engine_)
    return Error("a shared memory of another engine than the linker's");
  return insert(module, name, memory);
}

Result<std::monostate> Linker::define_instance(Store::Context cx, std::string_view name,
                                               Instance instance) {
  auto checked = detail::checked_store(cx, instance.store_id());
  if (!checked) return std::move(checked).err();
  for (size_t i = 0;; ++i) {
    auto item = instance.get(cx, i);
    if (!item) break;
    auto defined = define(cx, name, item->first, item->second);
    if (!defined) return defined;
  }
  return std::monostate();
}

std::optional<Extern> Linker::resolve(Store::Context cx, const std::string& module,
                                      const std::string& name) {
  auto found = definitions_.find(std::make_pair(module, name));
  if (found == definitions_.end()) return std::nullopt;
  return materialize(cx, found->second);
}

std::optional<Extern> Linker::materialize(Store::Context cx, const Definition& definition) {
  detail::StoreState* store = cx.state();
  if (const StoreItem* item = std::get_if<StoreItem>(&definition)) {
    if (item->store_id != store->id) return std::nullopt;  // defined for another store
    return item->item;
  }
  if (const SharedMemory* shared = std::get_if<SharedMemory>(&definition)) {
    auto memory = shared->memory(cx);
    if (!memory) return std::nullopt;  // (the linker checked the engine when it was defined)
    return memory.ok();
  }
  HostDefinition& host = *std::get<std::shared_ptr<HostDefinition>>(definition);
  std::lock_guard<std::mutex> lock(host.made_lock);
  auto made = host.made.find(store->id);
  if (made != host.made.end()) return made->second;
  Func func = detail::new_host_func(cx, host.type, host.body);
  host.made.emplace(store->id, func);
  return func;
}

std::optional<Extern> Linker::get(Store::Context cx, std::string_view module,
                                  std::string_view name) {
  return resolve(cx, std::string(module), std::string(name));
}

TrapResult<Instance> Linker::instantiate(Store::Context cx, const Module& module) {
  if (module.state()->engine != engine_)
    return Error("the module was compiled by another engine than the linker's");
  std::vector<Extern> imports;
  for (const ImportType& import : module.imports()) {
    auto item = resolve(cx, std::string(import.module()), std::string(import.name()));
    if (!item) {
      return Error("unknown import: " + qualified(import.module(), import.name()) +
                   " has not been defined");
    }
    imports.push_back(*item);
  }
  return Instance::create(cx, module, imports);
}

Result<InstancePre> Linker::instantiate_pre(const Module& module) {
  if (module.state()->engine != engine_)
    return Error("the module was compiled by another engine than the linker's");
  std::vector<Definition> definitions;
  for (const ImportType& import : module.imports()) {
    auto found =
        definitions_.find(std::make_pair(std::string(import.module()), std::string(import.name())));
    if (found == definitions_.end()) {
      return Error("unknown import: " + qualified(import.module(), import.name()) +
                   " has not been defined");
    }
    definitions.push_back(found->second);
  }
  return InstancePre(module, std::move(definitions));
}

TrapResult<Instance> InstancePre::instantiate(Store::Context cx) const {
  std::vector<Extern> imports;
  imports.reserve(definitions_.size());
  for (const Linker::Definition& definition : definitions_) {
    auto item = Linker::materialize(cx, definition);
    if (!item) return Error("an import of the pre-instantiated module belongs to another store");
    imports.push_back(*item);
  }
  return Instance::create(cx, module_, imports);
}

Result<std::monostate> Linker::module(Store::Context cx, std::string_view name,
                                      const Module& module) {
  const ExportType::List exports = module.exports();
  bool command = false;
  for (const ExportType& export_ : exports) command |= export_.name() == "_start";
  if (!command) {
    // A reactor: one instance, initialised once, its exports defined.
    auto instance = instantiate(cx, module);
    if (!instance) return Error(instance.err().message());
    if (auto initialize = instance.ok().get(cx, "_initialize")) {
      if (const Func* func = std::get_if<Func>(&*initialize)) {
        auto ran = func->call(cx, std::vector<Val>{});
        if (!ran) return Error(ran.err().message());
      }
    }
    return define_instance(cx, name, instance.ok());
  }
  // A command: each exported function instantiates the module afresh when called, from the
  // imports resolved now (the wrappers share them, not the linker, which may move or go away).
  auto pre = instantiate_pre(module);
  if (!pre) return std::move(pre).err();
  auto shared_pre = std::make_shared<const InstancePre>(std::move(pre).ok());
  for (const ExportType& export_ : exports) {
    const FuncType* type = std::get_if<FuncType>(&export_.type());
    if (type == nullptr) continue;
    std::string export_name(export_.name());
    auto run_fresh = [shared_pre, export_name](Caller caller, Span<const Val> params,
                                               Span<Val> results) -> Result<std::monostate, Trap> {
      Store::Context cx(caller);
      auto instance = shared_pre->instantiate(cx);
      if (!instance) return Trap(instance.err().message());
      auto item = instance.ok().get(cx, export_name);
      auto called =
          std::get<Func>(*item).call(cx, std::vector<Val>(params.begin(), params.end()));
      if (!called) return Trap(called.err().message());
      for (size_t i = 0; i < results.size(); ++i) results[i] = called.ok()[i];
      return std::monostate();
    };
    auto defined = insert(name, export_name,
                          std::make_shared<HostDefinition>(
                              *type, detail::make_untyped_body(*type, std::move(run_fresh))));
    if (!defined) return defined;
  }
  return std::monostate();
}

Result<Func> Linker::get_default(Store::Context cx, std::string_view module) {
  if (auto item = get(cx, module, "")) {
    if (const Func* func = std::get_if<Func>(&*item)) return *func;
  }
  if (auto item = get(cx, module, "_start")) {
    if (const Func* func = std::get_if<Func>(&*item)) return *func;
  }
  return Func::wrap(cx, [] {});
}

}  // namespace kiln
