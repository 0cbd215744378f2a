// Config and Engine.
#include "api/state.hpp"

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
  if (s.opt_level != OptLevel::Speed)
    return Error(
        "Config::cranelift_opt_level: Kiln's single-pass JIT has one level so far "
        "(OptLevel::Speed)");
  if (s.profiler == ProfilingStrategy::Vtune)
    return Error("Config::profiler: VTune profiling is not supported by Kiln");
  if (s.nan_canonicalization)
    return Error(
        "Config::cranelift_nan_canonicalization: NaN canonicalisation is not "
        "implemented");
  if (s.component_model) return Error("Config::wasm_component_model: not supported by Kiln");
  if (s.cache_directory)
    return Error("Config::cache: the compiled-code cache is not implemented yet");
  return std::nullopt;
}

std::shared_ptr<detail::EngineState> make_state(const Config& config) {
  const Config::Settings& s = config.settings();
  runtime::EngineConfig rt;
  rt.features = features_of(s);
  // Guard pages elide bounds checks only when the whole 32-bit index space is reserved.
  rt.compile.guard_pages = s.memory_guard_size > 0 && s.memory_reservation >= (uint64_t(4) << 30);
  rt.compile.guard_size = s.memory_guard_size;
  rt.max_wasm_stack = s.max_wasm_stack;
  rt.compile.consume_fuel = s.consume_fuel;
  rt.compile.epoch_interruption = s.epoch_interruption;
  auto state = std::make_shared<detail::EngineState>(s, std::move(rt));
  state->config_error = unsupported_setting(s);
  return state;
}

}  // namespace

Result<std::monostate> Config::cache_load_default() {
  const char* home = std::getenv("HOME");
  settings_.cache_directory = std::string(home ? home : ".") + "/.cache/kiln";
  return Error("Config::cache_load_default: the compiled-code cache is not implemented yet");
}

Result<std::monostate> Config::cache_load(const std::string& path) {
  settings_.cache_directory = path;
  return Error("Config::cache_load: the compiled-code cache is not implemented yet");
}

void Config::cache(bool enable) {
  if (!enable) {
    settings_.cache_directory.reset();
    return;
  }
  const char* home = std::getenv("HOME");
  settings_.cache_directory = std::string(home ? home : ".") + "/.cache/kiln";
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

}  // namespace kiln
