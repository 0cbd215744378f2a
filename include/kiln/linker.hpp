// Linker: names for imports, resolved when a module is instantiated.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "kiln/store.hpp"

namespace kiln {

class InstancePre;

class Linker {
 public:
  explicit Linker(const Engine& engine);
  Linker(Linker&&) noexcept;
  Linker& operator=(Linker&&) noexcept;
  ~Linker();

  // By default, defining a name twice is an error; with shadowing, the later definition wins.
  void allow_shadowing(bool allow) { allow_shadowing_ = allow; }

  // An item of one store under module::name.
  Result<std::monostate> define(Store::Context cx, std::string_view module, std::string_view name,
                                const Extern& item);
  // Every export of `instance` under module `name`.
  Result<std::monostate> define_instance(Store::Context cx, std::string_view name,
                                         Instance instance);
  // Host functions, usable from every store that instantiates through this linker.
  template <typename F>
  Result<std::monostate> func_new(std::string_view module, std::string_view name,
                                  const FuncType& type, F&& f);
  template <typename F>
  Result<std::monostate> func_wrap(std::string_view module, std::string_view name, F&& f);
  // WASI preview1's imports (not in this build yet: returns an error saying so).
  Result<std::monostate> define_wasi();

  // Instantiates `module`, each import resolved by its module and name.
  TrapResult<Instance> instantiate(Store::Context cx, const Module& module);
  // Kiln: resolves `module`'s imports now, for fast repeated instantiation. The linker must
  // outlive the result; later definitions (shadowing) do not change it.
  Result<InstancePre> instantiate_pre(const Module& module);
  // Defines `module`'s exports under `name`: a reactor is instantiated once (running its
  // `_initialize`); each export of a command (it exports `_start`) gets a fresh instance per call.
  Result<std::monostate> module(Store::Context cx, std::string_view name, const Module& module);

  std::optional<Extern> get(Store::Context cx, std::string_view module, std::string_view name);
  // The module's default function: its "" export, else `_start`, else a function doing nothing.
  Result<Func> get_default(Store::Context cx, std::string_view module);

 private:
  // A definition: an item of one store, or a host function made per store on first use.
  struct HostDefinition {
    FuncType type;
    detail::RawHostFn body;
  };
  struct StoreItem {
    uint64_t store_id;
    Extern item;
  };
  using Definition = std::variant<StoreItem, std::shared_ptr<HostDefinition>>;

  friend class InstancePre;
  Result<std::monostate> insert(std::string_view module, std::string_view name,
                                Definition definition);
  std::optional<Extern> resolve(Store::Context cx, const std::string& module,
                                const std::string& name);
  std::optional<Extern> materialize(Store::Context cx, const Definition& definition);

  std::shared_ptr<detail::EngineState> engine_;
  bool allow_shadowing_ = false;
  std::map<std::pair<std::string, std::string>, Definition, std::less<>> definitions_;
  // Host definitions made into functions, per store: (definition, store id) -> Func.
  std::map<std::pair<const HostDefinition*, uint64_t>, Func> materialized_;
};

// Kiln: a module with its imports already resolved by a Linker, for instantiating it again and
// again (the names are looked up once; each instantiation only checks the store's items).
class InstancePre {
 public:
  TrapResult<Instance> instantiate(Store::Context cx) const;
  const Module& module() const { return module_; }

 private:
  friend class Linker;
  InstancePre(Linker* linker, Module module, std::vector<Linker::Definition> definitions)
      : linker_(linker), module_(std::move(module)), definitions_(std::move(definitions)) {}
  Linker* linker_;
  Module module_;
  std::vector<Linker::Definition> definitions_;  // each import's definition, in order
};

template <typename F>
Result<std::monostate> Linker::func_new(std::string_view module, std::string_view name,
                                        const FuncType& type, F&& f) {
  // Made into a Func of each store on first use, wrapped as Func's constructor wraps.
  auto definition = std::make_shared<HostDefinition>(
      HostDefinition{type, detail::make_untyped_body(type, std::forward<F>(f))});
  return insert(module, name, std::move(definition));
}

template <typename F>
Result<std::monostate> Linker::func_wrap(std::string_view module, std::string_view name, F&& f) {
  using Traits = detail::HostFnTraits<std::decay_t<F>>;
  using Params = typename Traits::Params;
  using ParamList = typename detail::TupleList<Params>::type;
  auto callable = std::make_shared<std::decay_t<F>>(std::forward<F>(f));
  auto definition = std::make_shared<HostDefinition>(
      HostDefinition{FuncType(ParamList::types(), detail::result_types<typename Traits::Result>()),
                     [callable](Caller caller, uint64_t* slots) {
                       return detail::catch_at_boundary([&] {
                         return detail::invoke_host(*callable, caller, slots,
                                                    std::make_index_sequence<ParamList::count>());
                       });
                     }});
  return insert(module, name, std::move(definition));
}

}  // namespace kiln
