// Config and Engine: what a compilation environment enables, and the environment itself.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "kiln/error.hpp"

namespace kiln {

namespace detail {
struct EngineState;
}

// Which compiler turns wasm into machine code. Kiln has one: its single-pass JIT (`Auto` or
// `SinglePass`). Wasmtime's names are accepted so that code written for Wasmtime compiles, and
// are reported as unavailable when an engine is made from the config.
enum class Strategy { Auto, Cranelift, Winch, SinglePass };
enum class OptLevel { None, Speed, SpeedAndSize };
enum class ProfilingStrategy { None, Jitdump, Vtune, Perfmap };

// Every setting of an engine. Setters never fail (as in Wasmtime); a setting this build cannot
// honour is recorded and reported, naming it, by Engine::create and by the first compilation
// with an engine made from the config.
class Config {
 public:
  // The settings as plain data (also what a serialized module records).
  struct Settings {
    // Proposals (all on by default except the legacy exception encoding).
    bool threads = true, shared_memory = true, reference_types = true, simd = true,
         relaxed_simd = true, relaxed_simd_deterministic = false, bulk_memory = true,
         multi_value = true, tail_call = true, multi_memory = true, memory64 = true,
         exceptions = true, legacy_exceptions = false, function_references = true, gc = true,
         extended_const = true, wide_arithmetic = true, custom_page_sizes = true,
         component_model = false;
    Strategy strategy = Strategy::Auto;
    OptLevel opt_level = OptLevel::Speed;
    ProfilingStrategy profiler = ProfilingStrategy::None;
    bool debug_info = false, consume_fuel = false, epoch_interruption = false,
         parallel_compilation = true, nan_canonicalization = false;
    uint64_t max_wasm_stack = 512 * 1024;
    uint64_t memory_reservation = uint64_t(4) << 30;
    uint64_t memory_guard_size = uint64_t(32) << 20;
    uint64_t memory_reservation_for_growth = uint64_t(2) << 30;
    bool memory_may_move = true;
    // The compiled-code cache's directory, when enabled ("": no default directory was found).
    std::optional<std::string> cache_directory;
  };

  Config() = default;

  void wasm_threads(bool enable) { settings_.threads = enable; }
  void shared_memory(bool enable) { settings_.shared_memory = enable; }
  void wasm_reference_types(bool enable) { settings_.reference_types = enable; }
  void wasm_simd(bool enable) { settings_.simd = enable; }
  void wasm_relaxed_simd(bool enable) { settings_.relaxed_simd = enable; }
  void wasm_relaxed_simd_deterministic(bool enable) {
    settings_.relaxed_simd_deterministic = enable;
  }
  void wasm_bulk_memory(bool enable) { settings_.bulk_memory = enable; }
  void wasm_multi_value(bool enable) { settings_.multi_value = enable; }
  void wasm_tail_call(bool enable) { settings_.tail_call = enable; }
  void wasm_multi_memory(bool enable) { settings_.multi_memory = enable; }
  void wasm_memory64(bool enable) { settings_.memory64 = enable; }
  void wasm_exceptions(bool enable) { settings_.exceptions = enable; }
  // Kiln: the legacy exception-handling encoding (try/catch/delegate/rethrow).
  void wasm_legacy_exceptions(bool enable) { settings_.legacy_exceptions = enable; }
  void wasm_function_references(bool enable) { settings_.function_references = enable; }
  void wasm_gc(bool enable) { settings_.gc = enable; }
  void wasm_extended_const(bool enable) { settings_.extended_const = enable; }
  void wasm_wide_arithmetic(bool enable) { settings_.wide_arithmetic = enable; }
  void wasm_custom_page_sizes(bool enable) { settings_.custom_page_sizes = enable; }
  void wasm_component_model(bool enable) { settings_.component_model = enable; }

  void strategy(Strategy strategy) { settings_.strategy = strategy; }
  // Kiln's single-pass JIT: None never keeps locals in registers, Speed (the default) does,
  // SpeedAndSize is Speed without alignment padding between functions (docs/embedding.md).
  void cranelift_opt_level(OptLevel level) { settings_.opt_level = level; }
  void cranelift_nan_canonicalization(bool enable) { settings_.nan_canonicalization = enable; }
  void cranelift_debug_verifier(bool) {}  // Cranelift's own checks: nothing to verify here
  void profiler(ProfilingStrategy profiler) { settings_.profiler = profiler; }
  void debug_info(bool enable) { settings_.debug_info = enable; }
  void consume_fuel(bool enable) { settings_.consume_fuel = enable; }
  void epoch_interruption(bool enable) { settings_.epoch_interruption = enable; }
  // On (the default): a module's functions compile on one thread per CPU, into the same code
  // as serially; small modules compile on the calling thread.
  void parallel_compilation(bool enable) { settings_.parallel_compilation = enable; }
  void max_wasm_stack(size_t bytes) { settings_.max_wasm_stack = bytes; }
  void memory_reservation(uint64_t bytes) { settings_.memory_reservation = bytes; }
  void memory_guard_size(uint64_t bytes) { settings_.memory_guard_size = bytes; }
  void memory_reservation_for_growth(uint64_t bytes) {
    settings_.memory_reservation_for_growth = bytes;
  }
  void memory_may_move(bool enable) { settings_.memory_may_move = enable; }

  // The compiled-code cache (docs/cache.md): modules compiled by an engine with the cache on are
  // stored on disk, and compiling the same bytes again with the same build and code settings, in
  // any process, loads them instead. Wasmtime's names: cache_load_default() turns it on in the
  // default directory ($XDG_CACHE_HOME/kiln, else ~/.cache/kiln); cache_load(path) reads a
  // Wasmtime cache config file (TOML: its [cache] table's `enabled` and `directory`; another
  // setting is an error naming it). The seed's shape: cache(true) (the default directory),
  // cache(false), cache(directory).
  Result<std::monostate> cache_load_default();
  Result<std::monostate> cache_load(const std::string& path);
  void cache(bool enable);
  void cache(const std::string& directory);

  const Settings& settings() const { return settings_; }

 private:
  Settings settings_;
};

// Kiln: what an engine has compiled, and what its compiled-code cache did, since it was made.
struct EngineStatistics {
  uint64_t modules_compiled = 0;       // modules the JIT compiled (cache misses included)
  uint64_t functions_compiled = 0;     // their defined functions
  uint64_t cache_hits = 0;             // compiles answered from the cache (nothing compiled)
  uint64_t cache_misses = 0;           // compiles that found no usable entry, and compiled
  uint64_t cache_entries_refused = 0;  // entries found but not used (corrupt, another build's,
                                       // …; counted in cache_misses too, and replaced)
  uint64_t cache_writes = 0;           // entries written
};

// A compilation environment: settings, the type registry modules share, the epoch counter.
// Copies share one engine (like a shared pointer); safe to use from several threads.
class Engine {
 public:
  Engine();
  explicit Engine(Config config);
  // Kiln: fails, naming the setting, when the config asks for something this build lacks.
  static Result<Engine> create(Config config);

  // Advances the epoch by one (any thread; stores whose deadline passes are interrupted).
  void increment_epoch() const;
  // Kiln compiles to native code (never to Pulley, Wasmtime's interpreter).
  bool is_pulley() const { return false; }
  const Config::Settings& settings() const;
  // Kiln: counts since the engine was made (shared by its copies).
  EngineStatistics statistics() const;

  std::shared_ptr<detail::EngineState> state() const { return state_; }

 private:
  explicit Engine(std::shared_ptr<detail::EngineState> state) : state_(std::move(state)) {}
  std::shared_ptr<detail::EngineState> state_;
};

}  // namespace kiln
