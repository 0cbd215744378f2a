// `kiln run [OPTIONS] FILE.wasm|FILE.wat [ARGS...]`: run a program as `wasmtime run` does.
//
// Written on the public API only (include/kiln/), as any embedder would: a Linker with WASI
// preview1, preloaded modules, then the module's `_start` (a WASI command) or the export named by
// --invoke. The exit status is the program's proc_exit status; a trap prints its message and a
// backtrace and exits with 134 (128 + SIGABRT, as Wasmtime on Unix).
#include <csignal>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/kiln.hpp"
#include "tools/commands.hpp"
#include "tools/module_file.hpp"

namespace kiln::tools {

namespace {

constexpr const char* kRunUsage =
    "Usage: kiln run [OPTIONS] FILE.wasm|FILE.wat [ARGS...]\n"
    "\n"
    "Runs a WebAssembly module: a WASI command's `_start` (ARGS become its arguments after\n"
    "FILE), or the export named by --invoke (ARGS parsed by its parameter types: integers in\n"
    "decimal or 0x hex, floats as decimal, hex, inf or nan; results printed one per line).\n"
    "The program gets WASI preview1 with the host's stdin, stdout and stderr; it sees no\n"
    "directory and no environment variable unless given by --dir and --env.\n"
    "\n"
    "Exit status: the program's proc_exit status (0 when _start returns); 134 after a trap,\n"
    "whose message and backtrace go to stderr; 1 when the module cannot be read, compiled or\n"
    "linked; 2 for a bad command line.\n"
    "\n"
    "Options (as `wasmtime run`'s):\n"
    "  --dir HOST[::GUEST]     Give the program the host directory HOST, named GUEST\n"
    "                          (default: HOST), with read and write access. Paths are resolved\n"
    "                          inside it: no `..`, absolute path or symlink leads out\n"
    "  --env NAME[=VAL]        Set the environment variable NAME to VAL (NAME alone: the\n"
    "                          host's value)\n"
    "  --tcplisten HOST:PORT   Listen on HOST:PORT and give the program the listening socket\n"
    "                          (sock_accept), as descriptor 3 + the number of --dir's, then\n"
    "                          the next ones (repeatable)\n"
    "  --invoke NAME           Call the export NAME instead of `_start`\n"
    "  --preload NAME=MODULE   Instantiate MODULE (.wasm or .wat) first and make its exports\n"
    "                          importable under NAME (repeatable)\n"
    "  --fuel N                Run with N units of fuel\n"
    "  -W, --wasm FEATURE[=y|n][,...]\n"
    "                          Enable or disable a proposal: threads, shared-memory,\n"
    "                          reference-types, simd, relaxed-simd, bulk-memory, multi-value,\n"
    "                          tail-call, multi-memory, memory64, exceptions,\n"
    "                          function-references, gc, extended-const, wide-arithmetic,\n"
    "                          custom-page-sizes, all-proposals; epoch-interruption (checks\n"
    "                          compiled in, deadline never reached); or max-wasm-stack=BYTES\n"
    "  --profile STRATEGY      perfmap (/tmp/perf-PID.map) or jitdump (/tmp/jit-PID.dump)\n"
    "  --timings FILE          When the run ends, write where its time went to FILE as JSON\n"
    "                          (seconds, wall clock): compile_seconds (FILE's module),\n"
    "                          preload_seconds (compiling and instantiating every --preload),\n"
    "                          instantiate_seconds (FILE's instance, start function included),\n"
    "                          run_seconds (the call of _start or --invoke's export; null if\n"
    "                          not reached), total_seconds (from parsing the command line to the\n"
    "                          end), exit_code. Not a Wasmtime option: for bench/run\n"
    "  -h, --help              Print this help\n"
    "\n"
    "Options take their value as the next argument or after '='. The first argument that is\n"
    "not an option is FILE; everything after it goes to the program.\n";

constexpr int kTrapExitCode = 134;  // what `wasmtime run` exits with on a trap (Unix)
constexpr int kErrorExitCode = 1;
constexpr int kUsageExitCode = 2;

int usage_error(const std::string& message) {
  std::fprintf(stderr, "kiln run: %s (see `kiln run --help`)\n", message.c_str());
  return kUsageExitCode;
}

bool parse_integer(std::string_view text, bool wide, uint64_t& out) {
  bool negative = !text.empty() && text[0] == '-';
  if (negative || (!text.empty() && text[0] == '+')) text.remove_prefix(1);
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), magnitude, base);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return false;
  const uint64_t limit = wide ? UINT64_MAX : UINT32_MAX;
  const uint64_t negative_limit = wide ? (uint64_t(1) << 63) : (uint64_t(1) << 31);
  if (negative ? magnitude > negative_limit : magnitude > limit) return false;
  uint64_t value = negative ? uint64_t(0) - magnitude : magnitude;
  out = wide ? value : uint64_t(uint32_t(value));
  return true;
}

bool parse_double(std::string_view text, double& out) {
  std::string copy(text);
  char* end = nullptr;
  out = std::strtod(copy.c_str(), &end);
  return !copy.empty() && *end == '\0';
}

std::string format_float(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, ec == std::errc() ? end : buf);
}

std::string format_value(const Val& value) {
  switch (value.kind()) {
    case ValKind::I32:
      return std::to_string(value.i32());
    case ValKind::I64:
      return std::to_string(value.i64());
    case ValKind::F32: {
      const float f = value.f32();
      if (std::isnan(f) || std::isinf(f)) return format_float(f);
      char buf[64];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, f);
      return std::string(buf, ec == std::errc() ? end : buf);
    }
    case ValKind::F64:
      return format_float(value.f64());
    case ValKind::V128: {
      const V128 v = value.v128();
      uint64_t low, high;
      std::memcpy(&low, v.v128, 8);
      std::memcpy(&high, v.v128 + 8, 8);
      char buf[64];
      std::snprintf(buf, sizeof buf, "0x%016" PRIx64 "%016" PRIx64, high, low);
      return buf;
    }
    case ValKind::FuncRef:
      return value.funcref() ? "<funcref>" : "null";
    case ValKind::ExternRef:
      return value.externref() ? "<externref>" : "null";
    default:
      return "null";
  }
}

// One `-W`/`--wasm` item: FEATURE, FEATURE=y|n, or max-wasm-stack=N.
bool apply_wasm_option(Config& config, std::string_view item, std::string& error) {
  std::string_view name = item, value = "y";
  if (size_t eq = item.find('='); eq != std::string_view::npos) {
    name = item.substr(0, eq);
    value = item.substr(eq + 1);
  }
  if (name == "max-wasm-stack") {
    uint64_t bytes;
    if (!parse_integer(value, true, bytes) || value.starts_with("-")) {
      error = "--wasm max-wasm-stack needs a size in bytes, not '" + std::string(value) + "'";
      return false;
    }
    config.max_wasm_stack(size_t(bytes));
    return true;
  }
  bool enable;
  if (value == "y" || value == "yes" || value == "true") {
    enable = true;
  } else if (value == "n" || value == "no" || value == "false") {
    enable = false;
  } else {
    error = "--wasm " + std::string(name) + " takes y or n, not '" + std::string(value) + "'";
    return false;
  }
  struct Feature {
    std::string_view name;
    void (Config::*set)(bool);
  };
  static constexpr Feature kFeatures[] = {
      {"threads", &Config::wasm_threads},
      {"shared-memory", &Config::shared_memory},
      // Wasmtime's -W epoch-interruption: the checks are compiled in; `kiln run` never ticks the
      // epoch (there is no -W timeout), so the deadline never passes: it measures their cost.
      {"epoch-interruption", &Config::epoch_interruption},
      {"reference-types", &Config::wasm_reference_types},
      {"simd", &Config::wasm_simd},
      {"relaxed-simd", &Config::wasm_relaxed_simd},
      {"bulk-memory", &Config::wasm_bulk_memory},
      {"multi-value", &Config::wasm_multi_value},
      {"tail-call", &Config::wasm_tail_call},
      {"multi-memory", &Config::wasm_multi_memory},
      {"memory64", &Config::wasm_memory64},
      {"exceptions", &Config::wasm_exceptions},
      {"function-references", &Config::wasm_function_references},
      {"gc", &Config::wasm_gc},
      {"extended-const", &Config::wasm_extended_const},
      {"wide-arithmetic", &Config::wasm_wide_arithmetic},
      {"custom-page-sizes", &Config::wasm_custom_page_sizes},
      {"component-model", &Config::wasm_component_model},
  };
  if (name == "all-proposals") {
    for (const Feature& feature : kFeatures) {
      // Proposals only: not the component model (unsupported) nor the epoch checks.
      if (feature.name != "component-model" && feature.name != "epoch-interruption")
        (config.*feature.set)(enable);
    }
    return true;
  }
  for (const Feature& feature : kFeatures) {
    if (feature.name == name) {
      (config.*feature.set)(enable);
      return true;
    }
  }
  error = "--wasm: unknown feature '" + std::string(name) + "'";
  return false;
}

// A trap as `wasmtime run` prints it: what failed, the wasm backtrace, the trap's message.
void print_trap(const std::string& path, const Trap& trap) {
  std::fprintf(stderr, "Error: failed to run main module `%s`\n\nCaused by:\n", path.c_str());
  int cause = 0;
  const Trace trace = trap.trace();
  if (trace.size() > 0) {
    std::fprintf(stderr, "    %d: error while executing at wasm backtrace:\n", cause++);
    for (size_t i = 0; i < trace.size(); ++i) {
      const FrameRef& frame = trace[i];
      const std::string module(frame.module_name().value_or("<unknown>"));
      const std::string function =
          frame.func_name() ? std::string(*frame.func_name())
                            : "<wasm function " + std::to_string(frame.func_index()) + ">";
      std::fprintf(stderr, "           %2zu: %#8zx - %s!%s\n", i, frame.module_offset(),
                   module.c_str(), function.c_str());
    }
  }
  std::fprintf(stderr, "    %d: %s\n", cause, trap.message().c_str());
}

// How a failed call ends the process: an exit status, a trap, or an error.
int report_failure(const std::string& path, const TrapError& failure) {
  if (const Error* error = std::get_if<Error>(&failure.data)) {
    if (std::optional<int32_t> status = error->i32_exit()) return *status;
    std::fprintf(stderr, "Error: failed to run main module `%s`\n\nCaused by:\n    %s\n",
                 path.c_str(), error->message().c_str());
    return kErrorExitCode;
  }
  print_trap(path, std::get<Trap>(failure.data));
  return kTrapExitCode;
}

Result<Module> load_module(Engine& engine, const std::string& path) {
  auto bytes = read_module_file(path);
  if (!bytes) return std::move(bytes).err();
  auto module = Module::compile(engine, Span<const uint8_t>(bytes.ok().data(), bytes.ok().size()));
  if (!module) return Error(path + ": " + module.err().to_string());
  return module;
}

struct Options {
  std::string invoke, path;
  std::vector<std::string> program_args;
  std::vector<std::pair<std::string, std::string>> dirs;  // host, guest
  std::vector<std::string> listeners;  // --tcplisten HOST:PORT
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<std::pair<std::string, std::string>> preloads;  // name, file
  std::optional<uint64_t> fuel;
  std::string timings_path;  // --timings: empty when not asked for
  Config config;
};

// Where a run's wall-clock time went, for --timings. A phase not reached stays unset (null).
class PhaseTimings {
 public:
  using Clock = std::chrono::steady_clock;

  PhaseTimings() : begin_(Clock::now()) {}

  // Runs `work` and adds its duration to the phase `seconds`; returns what `work` returns.
  template <typename Work>
  auto time(std::optional<double>& seconds, Work&& work) {
    const Clock::time_point start = Clock::now();
    auto result = work();
    seconds = seconds.value_or(0) + std::chrono::duration<double>(Clock::now() - start).count();
    return result;
  }

  std::optional<double> compile, preload, instantiate, run;

  // Writes the JSON record to `path`; a file that cannot be written is reported, and the run's
  // own exit status stands.
  void write(const std::string& path, int exit_code) const {
    const double total = std::chrono::duration<double>(Clock::now() - begin_).count();
    std::FILE* out = std::fopen(path.c_str(), "w");
    if (out == nullptr) {
      std::fprintf(stderr, "kiln run: --timings %s: %s\n", path.c_str(), std::strerror(errno));
      return;
    }
    auto field = [&](const char* name, const std::optional<double>& value) {
      if (value) {
        std::fprintf(out, "\"%s\": %.9f, ", name, *value);
      } else {
        std::fprintf(out, "\"%s\": null, ", name);
      }
    };
    std::fputc('{', out);
    field("compile_seconds", compile);
    field("preload_seconds", preload);
    field("instantiate_seconds", instantiate);
    field("run_seconds", run);
    field("total_seconds", total);
    std::fprintf(out, "\"exit_code\": %d}\n", exit_code);
    if (std::fclose(out) != 0)
      std::fprintf(stderr, "kiln run: --timings %s: %s\n", path.c_str(), std::strerror(errno));
  }

 private:
  Clock::time_point begin_;
};

// Parses the command line; a non-negative result is the exit status to end with.
int parse_options(Args args, Options& options) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (!options.path.empty()) {
      options.program_args.emplace_back(arg);
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      std::fputs(kRunUsage, stdout);
      return 0;
    }
    if (arg == "--") {
      if (i + 1 >= args.size()) return usage_error("a module file is needed after '--'");
      options.path = args[++i];
      continue;
    }
    if (arg.empty() || arg[0] != '-') {
      options.path = arg;
      continue;
    }
    // An option with a value: --name=value or --name value.
    std::string_view name = arg, value;
    bool has_value = false;
    if (size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    static constexpr std::string_view kWithValue[] = {
        "--dir",  "--env", "--tcplisten", "--invoke",  "--fuel",
        "--preload", "--wasm", "-W", "--profile", "--timings"};
    bool known = false;
    for (std::string_view option : kWithValue) known |= option == name;
    if (!known) return usage_error("unknown option '" + std::string(arg) + "'");
    if (!has_value) {
      if (i + 1 >= args.size()) return usage_error(std::string(name) + " needs a value");
      value = args[++i];
    }
    if (name == "--dir") {
      std::string_view host = value, guest = value;
      if (size_t sep = value.find("::"); sep != std::string_view::npos) {
        host = value.substr(0, sep);
        guest = value.substr(sep + 2);
      }
      if (host.empty() || guest.empty()) return usage_error("--dir needs HOST[::GUEST]");
      options.dirs.emplace_back(host, guest);
    } else if (name == "--env") {
      std::string_view var = value, val;
      if (size_t eq = value.find('='); eq != std::string_view::npos) {
        var = value.substr(0, eq);
        val = value.substr(eq + 1);
      } else {
        // NAME alone passes the host's value along; an unset variable stays unset.
        const char* host = std::getenv(std::string(var).c_str());
        if (host == nullptr) continue;
        val = host;
      }
      if (var.empty()) return usage_error("--env needs NAME[=VAL]");
      options.env.emplace_back(var, val);
    } else if (name == "--tcplisten") {
      options.listeners.emplace_back(value);
    } else if (name == "--invoke") {
      options.invoke = value;
    } else if (name == "--fuel") {
      uint64_t fuel;
      if (!parse_integer(value, true, fuel) || value.starts_with("-"))
        return usage_error("--fuel needs a non-negative integer, not '" + std::string(value) + "'");
      options.fuel = fuel;
    } else if (name == "--preload") {
      size_t eq = value.find('=');
      if (eq == std::string_view::npos || eq == 0 || eq + 1 == value.size())
        return usage_error("--preload needs NAME=MODULE");
      options.preloads.emplace_back(value.substr(0, eq), value.substr(eq + 1));
    } else if (name == "--wasm" || name == "-W") {
      size_t start = 0;
      while (start <= value.size()) {
        size_t comma = value.find(',', start);
        if (comma == std::string_view::npos) comma = value.size();
        std::string error;
        if (!apply_wasm_option(options.config, value.substr(start, comma - start), error))
          return usage_error(error);
        start = comma + 1;
      }
    } else if (name == "--timings") {
      if (value.empty()) return usage_error("--timings needs a file name");
      options.timings_path = value;
    } else if (name == "--profile") {
      if (value == "perfmap") {
        options.config.profiler(ProfilingStrategy::Perfmap);
      } else if (value == "jitdump") {
        options.config.profiler(ProfilingStrategy::Jitdump);
      } else {
        return usage_error("--profile takes perfmap or jitdump, not '" + std::string(value) + "'");
      }
    }
  }
  if (options.path.empty()) {
    std::fputs(kRunUsage, stderr);
    return kUsageExitCode;
  }
  return -1;
}

// --invoke's arguments, parsed by the export's parameter types.
int parse_invoke_args(const Options& options, const FuncType& type, std::vector<Val>& out) {
  if (options.program_args.size() != type.params().size()) {
    std::fprintf(stderr, "kiln run: '%s' takes %zu arguments, %zu given\n", options.invoke.c_str(),
                 type.params().size(), options.program_args.size());
    return kUsageExitCode;
  }
  for (size_t i = 0; i < type.params().size(); ++i) {
    const std::string& text = options.program_args[i];
    const ValKind kind = type.params()[i].kind();
    uint64_t bits = 0;
    double real = 0;
    bool ok = false;
    switch (kind) {
      case ValKind::I32:
        if ((ok = parse_integer(text, false, bits))) out.emplace_back(int32_t(uint32_t(bits)));
        break;
      case ValKind::I64:
        if ((ok = parse_integer(text, true, bits))) out.emplace_back(int64_t(bits));
        break;
      case ValKind::F32:
        if ((ok = parse_double(text, real))) out.emplace_back(float(real));
        break;
      case ValKind::F64:
        if ((ok = parse_double(text, real))) out.emplace_back(real);
        break;
      default:
        break;
    }
    if (!ok) {
      const char* expected = kind == ValKind::I32   ? "i32"
                             : kind == ValKind::I64 ? "i64"
                             : kind == ValKind::F32 ? "f32"
                             : kind == ValKind::F64 ? "f64"
                                                    : "command-line value (references and v128 "
                                                      "cannot be passed)";
      std::fprintf(stderr, "kiln run: argument %zu ('%s') is not a valid %s\n", i + 1, text.c_str(),
                   expected);
      return kUsageExitCode;
    }
  }
  return -1;
}


// The run itself, once the command line is parsed; its result is the exit status.
int run_program(Options& options, PhaseTimings& timings) {
  if (options.fuel) options.config.consume_fuel(true);

  auto engine = Engine::create(std::move(options.config));
  if (!engine) {
    std::fprintf(stderr, "kiln run: %s\n", engine.err().message().c_str());
    return kErrorExitCode;
  }
  auto module =
      timings.time(timings.compile, [&] { return load_module(engine.ok(), options.path); });
  if (!module) {
    std::fprintf(stderr, "kiln run: %s\n", module.err().to_string().c_str());
    return kErrorExitCode;
  }

  Store store(engine.ok());
  if (options.fuel) {
    if (auto set = store.context().set_fuel(*options.fuel); !set) {
      std::fprintf(stderr, "kiln run: --fuel: %s\n", set.err().message().c_str());
      return kErrorExitCode;
    }
  }
  // Nothing ticks the epoch here: a deadline that is never reached (see -W epoch-interruption).
  if (engine.ok().settings().epoch_interruption)
    store.context().set_epoch_deadline(std::numeric_limits<uint64_t>::max());
  WasiConfig wasi;
  std::vector<std::string> argv{options.path};
  if (options.invoke.empty())
    argv.insert(argv.end(), options.program_args.begin(), options.program_args.end());
  wasi.argv(argv);
  wasi.env(options.env);
  wasi.inherit_stdin();
  wasi.inherit_stdout();
  wasi.inherit_stderr();
  for (const auto& [host, guest] : options.dirs) {
    if (!wasi.preopen_dir(host, guest)) {
      std::fprintf(stderr, "kiln run: --dir %s: cannot open the directory: %s\n", host.c_str(),
                   std::strerror(errno));
      return kErrorExitCode;
    }
  }
  // After the directories, so that wasi-libc, which looks for them from descriptor 3 up and
  // stops at the first that is not one, finds them all.
  uint32_t socket_fd = 3 + uint32_t(options.dirs.size());
  for (const std::string& address : options.listeners) {
    if (auto bound = wasi.preopen_tcp_listener(socket_fd++, address); !bound) {
      std::fprintf(stderr, "kiln run: --tcplisten: %s\n", bound.err().message().c_str());
      return kErrorExitCode;
    }
  }
  if (auto set = store.context().set_wasi(std::move(wasi)); !set) {
    std::fprintf(stderr, "kiln run: %s\n", set.err().message().c_str());
    return kErrorExitCode;
  }

  Linker linker(engine.ok());
  linker.define_wasi().unwrap();  // fails only on a duplicate name: a bug
  for (const auto& [name, file] : options.preloads) {
    auto preloaded = timings.time(timings.preload, [&] { return load_module(engine.ok(), file); });
    if (!preloaded) {
      std::fprintf(stderr, "kiln run: --preload %s: %s\n", name.c_str(),
                   preloaded.err().to_string().c_str());
      return kErrorExitCode;
    }
    if (auto defined = timings.time(timings.preload,
                                    [&] { return linker.module(store, name, preloaded.ok()); });
        !defined) {
      std::fprintf(stderr, "kiln run: --preload %s=%s: %s\n", name.c_str(), file.c_str(),
                   defined.err().message().c_str());
      return kErrorExitCode;
    }
  }

  auto instance =
      timings.time(timings.instantiate, [&] { return linker.instantiate(store, module.ok()); });
  if (!instance) {
    if (std::holds_alternative<Error>(instance.err().data) &&
        !std::get<Error>(instance.err().data).i32_exit()) {
      // Linking failed: one line naming the module and the import.
      std::fprintf(stderr, "kiln run: %s: %s\n", options.path.c_str(),
                   instance.err().message().c_str());
      return kErrorExitCode;
    }
    return report_failure(options.path, instance.err());  // the start function trapped or exited
  }

  const std::string name = options.invoke.empty() ? "_start" : options.invoke;
  std::optional<Extern> target = instance.ok().get(store, name);
  const Func* func = target ? std::get_if<Func>(&*target) : nullptr;
  if (func == nullptr) {
    if (options.invoke.empty() && !target) return 0;  // no _start: instantiating was the run
    std::fprintf(stderr, "kiln run: %s: no exported function named '%s'\n", options.path.c_str(),
                 name.c_str());
    return kErrorExitCode;
  }
  const FuncType type = func->type(store);
  std::vector<Val> params;
  if (!options.invoke.empty()) {
    if (int status = parse_invoke_args(options, type, params); status >= 0) return status;
  } else if (type.params().size() != 0 || type.results().size() != 0) {
    std::fprintf(stderr, "kiln run: %s: `_start` must take and return nothing\n",
                 options.path.c_str());
    return kErrorExitCode;
  }
  auto results = timings.time(timings.run, [&] { return func->call(store, params); });
  if (!results) return report_failure(options.path, results.err());
  for (const Val& value : results.ok()) std::printf("%s\n", format_value(value).c_str());
  return 0;
}

}  // namespace

int cmd_run(Args args) {
  // A program writing to a pipe or socket whose reader has gone gets EPIPE from fd_write, as
  // under `wasmtime run`, instead of the whole process dying of SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  PhaseTimings timings;
  Options options;
  if (int status = parse_options(args, options); status >= 0) return status;
  const int status = run_program(options, timings);
  // The program's own output is flushed first, so the timings cover what it printed.
  std::fflush(stdout);
  if (!options.timings_path.empty()) timings.write(options.timings_path, status);
  return status;
}

}  // namespace kiln::tools
