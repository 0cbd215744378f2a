// Config and Engine.
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "api/cache_config_file.hpp"
#include "api/state.hpp"
#include "runtime/compile_cache.hpp"

namespace kiln {

namespace {

wasm::Features features_of(const Config::Settings& s) {
  using wasm::Proposal;
  wasm::Features f = wasm::Features::everything();
  f.set(Proposal::Threads, s.threads);
  f.set(Proposal::ReferenceTypes, s.reference_types);
  f.set(Proposal::Simd, s.simd);
  f.set(Proposal::RelaxedSimd, s.relaxed_simd);
  f.set(Proposal::BulkMemory, s.bulk_memory);
  f.set(Proposal::MultiValue, s.multi_value);
  f.set(Proposal::TailCall, s.tail_call);
  f.set(Proposal::MultiMemory, s.multi_memory);
  f.set(Proposal::Memory64, s.memory64);
  f.set(Proposal::Exceptions, s.exceptions);
  f.set(Proposal::LegacyExceptions, s.legacy_exceptions);
  f.set(Proposal::FunctionReferences, s.function_references);
  f.set(Proposal::Gc, s.gc);
  f.set(Proposal::ExtendedConst, s.extended_const);
  f.set(Proposal::WideArithmetic, s.wide_arithmetic);
  f.set(Proposal::CustomPageSizes, s.custom_page_sizes);
  return f;
}

// The first setting this build cannot honour, named, or nothing. Kiln never ignores a setting.
std::optional<Error> unsupported_setting(const Config::Settings& s) {
  if (s.strategy == Strategy::Cranelift || s.strategy == Strategy::Winch) {
    return Error(std::string("Config::strategy: the ") +
                 (s.strategy == Strategy::Cranelift ? "Cranelift" : "Winch") +
                 " compiler is not available in Kiln; use Strategy::Auto or "
                 "Strategy::SinglePass (Kiln's single-pass JIT)");
  }
  if (s.profiler == ProfilingStrategy::Vtune)
    return Error("Config::profiler: VTune profiling is not supported by Kiln");
  if (s.nan_canonicalization)
    return Error(
        "Config::cranelift_nan_canonicalization: NaN canonicalisation is not "
        "implemented");
  if (s.component_model) return Error("Config::wasm_component_model: not supported by Kiln");
  if (s.cache_directory) {
    if (s.cache_directory->empty()) {
      return Error(
          "Config::cache: no default cache directory (neither XDG_CACHE_HOME nor HOME is set); "
          "give one with Config::cache(directory)");
    }
    if (auto prepared = runtime::CompileCache::prepare(*s.cache_directory); !prepared)
      return std::move(prepared.err());
  }
  return std::nullopt;
}

std::shared_ptr<detail::EngineState> make_state(const Config& config) {
  const Config::Settings& s = config.settings();
  runtime::EngineConfig rt;
  rt.features = features_of(s);
  // Guard pages elide bounds checks only when the whole 32-bit index space is reserved.
  rt.compile.guard_pages = s.memory_guard_size > 0 && s.memory_reservation >= (uint64_t(4) << 30);
  rt.compile.guard_size = s.memory_guard_size;
  rt.compile.opt_level = s.opt_level == OptLevel::None    ? jit::OptLevel::None
                         : s.opt_level == OptLevel::Speed ? jit::OptLevel::Speed
                                                          : jit::OptLevel::SpeedAndSize;
  rt.parallel_compilation = s.parallel_compilation;
  rt.max_wasm_stack = s.max_wasm_stack;
  rt.compile.consume_fuel = s.consume_fuel;
  rt.compile.epoch_interruption = s.epoch_interruption;
  if (s.cache_directory && !s.cache_directory->empty()) rt.cache_directory = s.cache_directory;
  auto state = std::make_shared<detail::EngineState>(s, std::move(rt));
  state->config_error = unsupported_setting(s);
  return state;
}

}  // namespace

namespace {

// $XDG_CACHE_HOME/kiln (an absolute XDG_CACHE_HOME only, as the XDG spec says), else
// $HOME/.cache/kiln, else the password database's home; "" when there is none.
std::string default_cache_directory() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && xdg[0] == '/')
    return std::string(xdg) + "/kiln";
  if (const char* home = std::getenv("HOME"); home && home[0] == '/')
    return std::string(home) + "/.cache/kiln";
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (getpwuid_r(geteuid(), &entry, buffer.data(), buffer.size(), &found) == 0 && found &&
      found->pw_dir && found->pw_dir[0] == '/')
    return std::string(found->pw_dir) + "/.cache/kiln";
  return "";
}

}  // namespace

Result<std::monostate> Config::cache_load_default() {
  cache(true);
  return std::monostate();
}

Result<std::monostate> Config::cache_load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error("Config::cache_load: cannot open " + path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto file = detail::parse_cache_config_file(text, path);
  if (!file) return std::move(file).err();
  if (!file.ok().enabled) {
    cache(false);
  } else if (file.ok().directory) {
    cache(*file.ok().directory);
  } else {
    cache(true);
  }
  return std::monostate();
}

void Config::cache(bool enable) {
  if (enable) {
    settings_.cache_directory = default_cache_directory();
  } else {
    settings_.cache_directory.reset();
  }
}

void Config::cache(const std::string& directory) {
  settings_.cache_directory = directory;
}

Engine::Engine() : Engine(Config()) {}

Engine::Engine(Config config) : state_(make_state(config)) {}

Result<Engine> Engine::create(Config config) {
  Engine engine(std::move(config));
  if (engine.state_->config_error) return *engine.state_->config_error;
  return engine;
}

void Engine::increment_epoch() const {
  state_->rt.increment_epoch();
}

const Config::Settings& Engine::settings() const {
  return state_->settings;
}

EngineStatistics Engine::statistics() const {
  const runtime::CompileStatistics counts = state_->rt.statistics();
  EngineStatistics statistics;
  statistics.modules_compiled = counts.modules_compiled;
  statistics.functions_compiled = counts.functions_compiled;
  statistics.cache_hits = counts.cache_hits;
  statistics.cache_misses = counts.cache_misses;
  statistics.cache_entries_refused = counts.cache_entries_refused;
  statistics.cache_writes = counts.cache_writes;
  return statistics;
}

}  // namespace kiln
