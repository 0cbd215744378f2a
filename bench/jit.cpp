// kiln-bench-jit: times Kiln's JIT in-process, for bench/jit-speed.
//
//   kiln-bench-jit run FILE EXPORT [ARGS...]
//       Compiles FILE (.wasm, or .wat translated beforehand and not timed), instantiates it and
//       calls EXPORT once with ARGS (integers, or floats for f32/f64 parameters). Prints one JSON
//       object: {"compile_seconds", "instantiate_seconds", "run_seconds" (wall),
//       "run_cpu_seconds" (process CPU time of the call), "result"}; the result is formatted as
//       node prints it (signed decimal for i32 and i64).
//   kiln-bench-jit compile [--reps N] FILE...
//       Compiles every function of each module without running anything: Engine::compile
//       (decode, validate, compile each function, place the code in executable memory), the
//       same work as V8's `new WebAssembly.Module`. Best and median of N (default 5)
//       repetitions after one warm-up. Prints one JSON object per file: {"file",
//       "code_section_bytes", "functions", "compiled_functions", "compiled_code_bytes",
//       "machine_code_bytes", "failures", "best_seconds", "median_seconds", "best_cpu_seconds"
//       (process CPU time), "mbps"}; "mbps" is code-section bytes per best wall time
//       (MB = 10^6 bytes).
//
//   kiln-bench-jit serialize [--reps N] FILE...
//       Compile time against load time of the serialized module: Engine::compile as above, then
//       Module::serialize once and Engine::deserialize (check the header and checksum, decode the
//       sections, map the code) timed the same way, best and median of N after a warm-up. The
//       loaded module's code must be byte-identical to the compiled one. Prints one JSON object
//       per file: {"file", "wasm_bytes", "artifact_bytes", "compile_best_seconds",
//       "compile_median_seconds", "compile_best_cpu_seconds", "deserialize_best_seconds",
//       "deserialize_median_seconds", "deserialize_best_cpu_seconds", "ratio", "cpu_ratio"}
//       (ratio = best compile / best deserialize, wall; cpu_ratio the same in process CPU
//       time, which other work on the machine disturbs far less).
//
// A function the JIT refuses (an operator it cannot lower yet) is listed in "failures" with the
// JIT's message, and the timed compile replaces it by a one-instruction stub (ud2) instead of
// compiling it; "compiled_code_bytes" then counts only the bodies that were compiled and "mbps"
// is computed on them. Nothing is skipped silently.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bench_support.hpp"
#include "decoder/decoder.hpp"
#include "runtime/runtime.hpp"
#include "tools/module_file.hpp"

namespace {

using kiln::bench::Clock;
using kiln::bench::json_escape;
using kiln::bench::process_cpu_seconds;
using kiln::bench::seconds_since;

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "kiln-bench-jit: %s\n", message.c_str());
  std::exit(1);
}

std::vector<uint8_t> read_module(const std::string& path) {
  auto bytes = kiln::tools::read_module_file(path);
  if (!bytes) fail(path + ": " + bytes.err().to_string());
  return std::move(bytes.ok());
}

// The size of the code section (id 10), header excluded: what "MB/s of code section" divides.
size_t code_section_size(std::span<const uint8_t> bytes) {
  size_t at = 8;  // magic and version
  while (at < bytes.size()) {
    const uint8_t id = bytes[at++];
    uint64_t size = 0;
    for (int shift = 0; at < bytes.size(); shift += 7) {
      const uint8_t byte = bytes[at++];
      size |= uint64_t(byte & 0x7f) << shift;
      if (!(byte & 0x80)) break;
    }
    if (id == 10) return size;
    at += size;
  }
  return 0;
}

uint64_t parse_arg(std::string_view text, kiln::wasm::ValType type) {
  using kiln::wasm::ValKind;
  if (type.kind == ValKind::F32 || type.kind == ValKind::F64) {
    const std::string copy(text);
    char* end = nullptr;
    const double value = std::strtod(copy.c_str(), &end);
    if (copy.empty() || *end != '\0') fail("argument '" + copy + "' is not a number");
    uint64_t bits = 0;
    if (type.kind == ValKind::F64) {
      std::memcpy(&bits, &value, 8);
    } else {
      const float narrow = float(value);
      uint32_t narrow_bits;
      std::memcpy(&narrow_bits, &narrow, 4);
      bits = narrow_bits;
    }
    return bits;
  }
  if (type.kind != ValKind::I32 && type.kind != ValKind::I64) fail("unsupported parameter type");
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    fail("argument '" + std::string(text) + "' is not an integer");
  }
  return type.kind == ValKind::I32 ? uint64_t(uint32_t(value)) : uint64_t(value);
}

std::string format_result(kiln::wasm::ValType type, uint64_t slot) {
  using kiln::wasm::ValKind;
  char buf[64];
  switch (type.kind) {
    case ValKind::I32:
      return std::to_string(int32_t(uint32_t(slot)));
    case ValKind::I64:
      return std::to_string(int64_t(slot));
    case ValKind::F32: {
      float value;
      const uint32_t bits = uint32_t(slot);
      std::memcpy(&value, &bits, 4);
      std::snprintf(buf, sizeof buf, "%.9g", value);
      return buf;
    }
    case ValKind::F64: {
      double value;
      std::memcpy(&value, &slot, 8);
      std::snprintf(buf, sizeof buf, "%.17g", value);
      return buf;
    }
    default:
      return "<unprintable>";
  }
}

int run(const std::string& path, const std::string& name, std::span<char* const> args) {
  const std::vector<uint8_t> bytes = read_module(path);
  kiln::runtime::Engine engine;
  auto start = Clock::now();
  auto module = engine.compile(bytes);
  const double compile_seconds = seconds_since(start);
  if (!module) fail(path + ": " + module.err().to_string());
  if (!module.ok()->info().imports.empty()) fail(path + ": a benchmark kernel takes no imports");

  kiln::runtime::Store store(engine);
  start = Clock::now();
  auto instance = store.instantiate(module.ok(), {});
  const double instantiate_seconds = seconds_since(start);
  if (!instance) fail(path + ": " + instance.err().to_error().to_string());

  auto target = instance.ok()->export_named(name);
  if (!target || target->kind != kiln::wasm::ExternKind::Func) {
    fail(path + ": no exported function '" + name + "'");
  }
  const kiln::wasm::FuncType& type = *target->func.type;
  if (args.size() != type.params.size() || type.results.size() != 1) {
    fail("'" + name + "' must take " + std::to_string(type.params.size()) +
         " arguments and return one value");
  }
  std::vector<uint64_t> slots;
  for (size_t i = 0; i < args.size(); ++i) slots.push_back(parse_arg(args[i], type.params[i]));

  const double cpu_start = process_cpu_seconds();
  start = Clock::now();
  auto results = store.call(target->func, slots);
  const double run_seconds = seconds_since(start);
  const double run_cpu_seconds = process_cpu_seconds() - cpu_start;
  if (!results) fail(path + ": " + results.err().to_error().to_string());

  std::printf(
      "{\"compile_seconds\": %.9f, \"instantiate_seconds\": %.9f, \"run_seconds\": %.9f, "
      "\"run_cpu_seconds\": %.9f, \"result\": \"%s\"}\n",
      compile_seconds, instantiate_seconds, run_seconds, run_cpu_seconds,
      format_result(type.results[0], results.ok()[0]).c_str());
  return 0;
}

struct Refusal {
  uint32_t func_index;
  std::string message;
};

// Compiles each function once on its own to find the ones the JIT refuses, so the timed loop
// can leave exactly those out and say so.
std::vector<Refusal> find_refusals(const kiln::runtime::Engine& engine,
                                   std::span<const uint8_t> bytes, const std::string& path) {
  const kiln::wasm::Features features = engine.config().features;
  auto module = kiln::wasm::decode_module(bytes, features);
  if (!module) fail(path + ": " + module.err().to_string());
  auto types = kiln::wasm::validate_module_sections(module.ok(), bytes, features);
  if (!types) fail(path + ": " + types.err().to_string());
  kiln::wasm::FuncValidator validator(types.ok());
  std::vector<Refusal> refusals;
  for (uint32_t i = 0; i < module.ok().bodies.size(); ++i) {
    auto compiled = kiln::jit::compile_function(types.ok(), i, validator, engine.config().compile);
    if (!compiled) {
      refusals.push_back({module.ok().imported_funcs + i, compiled.err().to_string()});
    }
  }
  return refusals;
}

struct Timing {
  double best = 0, median = 0;  // wall seconds
  double best_cpu = 0;          // process CPU seconds (user + system, page faults included)
};

// Best and median of `reps` timed calls of `work`, after one untimed call. What `work` returns
// (the module) is destroyed outside the timed region: unmapping is not part of loading.
template <typename Work>
Timing best_and_median(int reps, const Work& work) {
  work();
  std::vector<double> times, cpu_times;
  for (int rep = 0; rep < reps; ++rep) {
    const double cpu_start = process_cpu_seconds();
    const auto start = Clock::now();
    auto result = work();
    times.push_back(seconds_since(start));
    cpu_times.push_back(process_cpu_seconds() - cpu_start);
  }
  std::sort(times.begin(), times.end());
  return {times.front(), times[times.size() / 2],
          *std::min_element(cpu_times.begin(), cpu_times.end())};
}

// Engine::compile, or compile_with a ud2 stub for each function in `refused` (function indices).
kiln::Result<std::shared_ptr<const kiln::runtime::Module>> compile_module(
    const kiln::runtime::Engine& engine, std::span<const uint8_t> bytes,
    const std::set<uint32_t>& refused) {
  if (refused.empty()) return engine.compile(bytes);
  return engine.compile_with(
      bytes,
      [&](const kiln::wasm::ModuleTypes& types, uint32_t defined_index,
          kiln::jit::CompileScratch& scratch,
          const kiln::jit::CompileOptions& options) -> kiln::Result<kiln::jit::CompiledFunction> {
        if (refused.count(types.module().imported_funcs + defined_index)) {
          kiln::jit::CompiledFunction stub;
          stub.code = {0x0f, 0x0b};
          return stub;
        }
        return kiln::jit::compile_function(defined_index, scratch, options);
      });
}

int serialize(int reps, std::span<char* const> files) {
  kiln::runtime::Engine engine;
  for (const char* file : files) {
    const std::string path = file;
    const std::vector<uint8_t> bytes = read_module(path);
    std::set<uint32_t> refused;
    for (const Refusal& refusal : find_refusals(engine, bytes, path)) {
      std::fprintf(stderr, "%s: function %u refused (%s): a ud2 stub stands in for it\n",
                   path.c_str(), refusal.func_index, refusal.message.c_str());
      refused.insert(refusal.func_index);
    }
    auto compiled = compile_module(engine, bytes, refused);
    if (!compiled) fail(path + ": " + compiled.err().to_string());
    const std::vector<uint8_t> artifact = compiled.ok()->serialize();

    const Timing compile = best_and_median(reps, [&] {
      auto module = compile_module(engine, bytes, refused);
      if (!module) fail(path + ": " + module.err().to_string());
      return std::move(module.ok());
    });
    const Timing load = best_and_median(reps, [&] {
      auto module = engine.deserialize(artifact);
      if (!module) fail(path + ": " + module.err().to_string());
      return std::move(module.ok());
    });
    auto reloaded = engine.deserialize(artifact);
    if (!reloaded) fail(path + ": " + reloaded.err().to_string());
    const std::shared_ptr<const kiln::runtime::Module> loaded = std::move(reloaded.ok());
    const kiln::runtime::CodeMemory& a = compiled.ok()->code();
    const kiln::runtime::CodeMemory& b = loaded->code();
    if (a.size() != b.size() || !std::equal(a.begin(), a.end(), b.begin())) {
      fail(path + ": the deserialized code differs from the compiled code");
    }
    std::printf(
        "{\"file\": \"%s\", \"wasm_bytes\": %zu, \"artifact_bytes\": %zu, "
        "\"compile_best_seconds\": %.9f, \"compile_median_seconds\": %.9f, "
        "\"compile_best_cpu_seconds\": %.9f, \"deserialize_best_seconds\": %.9f, "
        "\"deserialize_median_seconds\": %.9f, \"deserialize_best_cpu_seconds\": %.9f, "
        "\"ratio\": %.2f, \"cpu_ratio\": %.2f}\n",
        json_escape(path).c_str(), bytes.size(), artifact.size(), compile.best, compile.median,
        compile.best_cpu, load.best, load.median, load.best_cpu, compile.best / load.best,
        compile.best_cpu / load.best_cpu);
    std::fflush(stdout);
  }
  return 0;
}

int compile(int reps, std::span<char* const> files) {
  kiln::runtime::Engine engine;
  for (const char* file : files) {
    const std::string path = file;
    const std::vector<uint8_t> bytes = read_module(path);
    const std::vector<Refusal> refusals = find_refusals(engine, bytes, path);
    std::set<uint32_t> refused_defined;

    auto probe = kiln::wasm::decode_module(bytes, engine.config().features);
    if (!probe) fail(path + ": " + probe.err().to_string());
    const kiln::wasm::ModuleInfo& info = probe.ok();
    size_t compiled_code_bytes = 0;
    for (const Refusal& refusal : refusals) {
      refused_defined.insert(refusal.func_index - info.imported_funcs);
    }
    for (uint32_t i = 0; i < info.bodies.size(); ++i) {
      if (!refused_defined.count(i)) compiled_code_bytes += info.bodies[i].range.size;
    }

    const kiln::runtime::FunctionCompiler compiler =
        [&](const kiln::wasm::ModuleTypes&, uint32_t defined_index,
            kiln::jit::CompileScratch& scratch,
            const kiln::jit::CompileOptions& options) -> kiln::Result<kiln::jit::CompiledFunction> {
      if (refused_defined.count(defined_index)) {
        kiln::jit::CompiledFunction stub;
        stub.code = {0x0f, 0x0b};  // ud2: never run, it only keeps the function table whole
        return stub;
      }
      return kiln::jit::compile_function(defined_index, scratch, options);
    };
    size_t machine_code_bytes = 0;
    auto compile_once = [&] {
      auto module = refusals.empty() ? engine.compile(bytes) : engine.compile_with(bytes, compiler);
      if (!module) fail(path + ": " + module.err().to_string());
      machine_code_bytes = 0;
      for (const kiln::runtime::CodeFunction& function : module.ok()->code_info().functions) {
        machine_code_bytes += function.code_size;
      }
    };

    compile_once();  // warm-up
    std::vector<double> times, cpu_times;
    for (int rep = 0; rep < reps; ++rep) {
      const double cpu_start = process_cpu_seconds();
      const auto start = Clock::now();
      compile_once();
      times.push_back(seconds_since(start));
      cpu_times.push_back(process_cpu_seconds() - cpu_start);
    }
    std::sort(times.begin(), times.end());
    std::sort(cpu_times.begin(), cpu_times.end());

    std::string failures = "[";
    for (const Refusal& refusal : refusals) {
      if (failures.size() > 1) failures += ", ";
      failures += "{\"func_index\": " + std::to_string(refusal.func_index) + ", \"message\": \"" +
                  json_escape(refusal.message) + "\"}";
    }
    failures += "]";
    std::printf(
        "{\"file\": \"%s\", \"code_section_bytes\": %zu, \"functions\": %zu, "
        "\"compiled_functions\": %zu, \"compiled_code_bytes\": %zu, \"machine_code_bytes\": %zu, "
        "\"failures\": %s, \"best_seconds\": %.9f, \"median_seconds\": %.9f, "
        "\"best_cpu_seconds\": %.9f, \"mbps\": %.3f}\n",
        json_escape(path).c_str(), code_section_size(bytes), info.bodies.size(),
        info.bodies.size() - refusals.size(), compiled_code_bytes, machine_code_bytes,
        failures.c_str(), times.front(), times[times.size() / 2], cpu_times.front(),
        double(refusals.empty() ? code_section_size(bytes) : compiled_code_bytes) / times.front() /
            1e6);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view mode = argc > 1 ? argv[1] : "";
  if (mode == "run" && argc >= 4) {
    return run(argv[2], argv[3], std::span<char* const>(argv + 4, argv + argc));
  }
  if ((mode == "compile" || mode == "serialize") && argc >= 3) {
    int first = 2, reps = 5;
    if (std::string_view(argv[2]) == "--reps" && argc >= 5) {
      reps = std::max(1, std::atoi(argv[3]));
      first = 4;
    }
    const std::span<char* const> files(argv + first, argv + argc);
    return mode == "compile" ? compile(reps, files) : serialize(reps, files);
  }
  std::fprintf(stderr,
               "usage: kiln-bench-jit run FILE EXPORT [ARGS...]\n"
               "       kiln-bench-jit compile [--reps N] FILE...\n"
               "       kiln-bench-jit serialize [--reps N] FILE...\n");
  return 2;
}
