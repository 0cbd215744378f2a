// Linker: names for imports, resolved when a module is instantiated.
#pragma once

#include <map>
#include <memory>
#include <mutex>
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
  // A shared memory under module::name, for every store (of this linker's engine) that
  // instantiates through this linker.
  Result<std::monostate> define(Store::Context cx, std::string_view module, std::string_view name,
                                const SharedMemory& memory);
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
  // Kiln: resolves `module`'s imports now, for fast repeated instantiation. The result holds
  // what it resolved (it stays valid when the linker moves or is destroyed); later definitions
  // (shadowing) do not change it.
  Result<InstancePre> instantiate_pre(const Module& module);
  // Defines `module`'s exports under `name`: a reactor is instantiated once (running its
  // `_initialize`); each export of a command (it exports `_start`) gets a fresh instance per call,
  // its imports resolved now, as by instantiate_pre (so they must be defined before this call).
  Result<std::monostate> module(Store::Context cx, std::string_view name, const Module& module);

  std::optional<Extern> get(Store::Context cx, std::string_view module, std::string_view name);
  // The module's default function: its "" export, else `_start`, else a function doing nothing.
  Result<Func> get_default(Store::Context cx, std::string_view module);

 private:
  // A definition: an item of one store, or a host function made per store on first use. A host
  // definition keeps the functions made from it, by store id (ids are never reused), so the
  // linker and every InstancePre sharing the definition hand out the same Func in one store.
  struct HostDefinition {
    HostDefinition(FuncType type, detail::RawHostFn body)
        : type(std::move(type)), body(std::move(body)) {}
    FuncType type;
    detail::RawHostFn body;
    std::mutex made_lock;  // a linker or an InstancePre may serve stores on several threads
    std::map<uint64_t, Func> made;
  };
  struct StoreItem {
    uint64_t store_id;
    Extern item;
  };
  using Definition = std::variant<StoreItem, std::shared_ptr<HostDefinition>, SharedMemory>;

  friend class InstancePre;
  Result<std::monostate> insert(std::string_view module, std::string_view name,
                                Definition definition);
  std::optional<Extern> resolve(Store::Context cx, const std::string& module,
                                const std::string& name);
  // The item a definition stands for in the store of `cx` (nullopt: an item of another store).
  static std::optional<Extern> materialize(Store::Context cx, const Definition& definition);

  std::shared_ptr<detail::EngineState> engine_;
  bool allow_shadowing_ = false;
  std::map<std::pair<std::string, std::string>, Definition, std::less<>> definitions_;
};

// Kiln: a module with its imports already resolved by a Linker, for instantiating it again and
// again (the names are looked up once; each instantiation only checks the store's items). It
// shares the definitions it resolved, so it does not depend on the linker living on.
class InstancePre {
 public:
  TrapResult<Instance> instantiate(Store::Context cx) const;
  const Module& module() const { return module_; }

 private:
  friend class Linker;
  InstancePre(Module module, std::vector<Linker::Definition> definitions)
      : module_(std::move(module)), definitions_(std::move(definitions)) {}
  Module module_;
  std::vector<Linker::Definition> definitions_;  // each import's definition, in order
};

template <typename F>
Result<std::monostate> Linker::func_new(std::string_view module, std::string_view name,
                                        const FuncType& type, F&& f) {
  // Made into a Func of each store on first use, wrapped as Func's constructor wraps.
  auto definition =
      std::make_shared<HostDefinition>(type, detail::make_untyped_body(type, std::forward<F>(f)));
  return insert(module, name, std::move(definition));
}

template <typename F>
Result<std::monostate> Linker::func_wrap(std::string_view module, std::string_view name, F&& f) {
  using Traits = detail::HostFnTraits<std::decay_t<F>>;
  using Params = typename Traits::Params;
  using ParamList = typename detail::TupleList<Params>::type;
  auto callable = std::make_shared<std::decay_t<F>>(std::forward<F>(f));
  auto definition = std::make_shared<HostDefinition>(
      FuncType(ParamList::types(), detail::result_types<typename Traits::Result>()),
      [callable](Caller caller, uint64_t* slots) {
        return detail::catch_at_boundary([&] {
          return detail::invoke_host(*callable, caller, slots,
                                     std::make_index_sequence<ParamList::count>());
        });
      });
  return insert(module, name, std::move(definition));
}

}  // namespace kiln
