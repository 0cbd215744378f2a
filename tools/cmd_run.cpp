// `kiln run [OPTIONS] FILE.wasm|FILE.wat [ARGS...]`: instantiate a module and run it.
// With --invoke NAME, ARGS are parsed by the export's parameter types and the results are
// printed one per line, as `wasmtime run --invoke` does. Without it, the module's `_start`
// export (a command) runs.
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/runtime.hpp"
#include "tools/commands.hpp"
#include "tools/module_file.hpp"

namespace kiln::tools {

namespace {

constexpr const char* kRunUsage =
    "Usage: kiln run [OPTIONS] FILE.wasm|FILE.wat [ARGS...]\n"
    "\n"
    "Instantiates the module and runs it: the export given by --invoke, with ARGS parsed by its\n"
    "parameter types (integers in decimal or 0x hex, floats as decimal, hex, inf or nan), or\n"
    "else the `_start` export. Results are printed one per line. A trap prints its message and\n"
    "a backtrace and exits with status 134.\n"
    "\n"
    "Options:\n"
    "  --invoke NAME  Call the export NAME instead of `_start`\n"
    "  -h, --help     Print this help\n"
    "\n"
    "Not yet available (their issues): WASI (--dir, --env), --preload, --fuel, --wasm, "
    "--profile.\n";

constexpr int kTrapExitCode = 134;  // what `wasmtime run` exits with on a trap

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

bool parse_float(std::string_view text, bool wide, uint64_t& out) {
  std::string copy(text);
  char* end = nullptr;
  double value = std::strtod(copy.c_str(), &end);
  if (copy.empty() || *end != '\0') return false;
  if (wide) {
    std::memcpy(&out, &value, 8);
  } else {
    float f = float(value);
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    out = bits;
  }
  return true;
}

std::string format_float(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, ec == std::errc() ? end : buf);
}

std::string format_value(wasm::ValType type, const uint64_t* slots) {
  switch (type.kind) {
    case wasm::ValKind::I32:
      return std::to_string(int32_t(uint32_t(slots[0])));
    case wasm::ValKind::I64:
      return std::to_string(int64_t(slots[0]));
    case wasm::ValKind::F32: {
      float f;
      uint32_t bits = uint32_t(slots[0]);
      std::memcpy(&f, &bits, 4);
      char buf[64];
      if (std::isnan(f) || std::isinf(f)) return format_float(f);
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, f);
      return std::string(buf, ec == std::errc() ? end : buf);
    }
    case wasm::ValKind::F64: {
      double d;
      std::memcpy(&d, &slots[0], 8);
      return format_float(d);
    }
    case wasm::ValKind::V128: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "0x%016" PRIx64 "%016" PRIx64, slots[1], slots[0]);
      return buf;
    }
    default:
      return slots[0] ? "<ref>" : "null";
  }
}

}  // namespace

int cmd_run(Args args) {
  std::string invoke, path;
  std::vector<std::string_view> program_args;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (!path.empty()) {
      program_args.push_back(arg);
    } else if (arg == "-h" || arg == "--help") {
      std::fputs(kRunUsage, stdout);
      return 0;
    } else if (arg == "--invoke") {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "kiln run: --invoke needs a function name\n");
        return 2;
      }
      invoke = args[++i];
    } else if (arg.rfind("--invoke=", 0) == 0) {
      invoke = arg.substr(9);
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "kiln run: unknown or not yet supported option '%.*s' (see --help)\n",
                   int(arg.size()), arg.data());
      return 2;
    } else {
      path = arg;
    }
  }
  if (path.empty()) {
    std::fputs(kRunUsage, stderr);
    return 2;
  }
  auto bytes = read_module_file(path);
  if (!bytes) {
    std::fprintf(stderr, "kiln run: %s\n", bytes.err().to_string().c_str());
    return 1;
  }
  runtime::Engine engine;
  auto module = engine.compile(bytes.ok());
  if (!module) {
    std::fprintf(stderr, "kiln run: %s: %s\n", path.c_str(), module.err().to_string().c_str());
    return 1;
  }
  for (const wasm::Import& import : module.ok()->info().imports) {
    const bool wasi = import.module.rfind("wasi", 0) == 0;
    std::fprintf(stderr, "kiln run: %s: cannot satisfy import \"%s\" \"%s\": %s\n", path.c_str(),
                 import.module.c_str(), import.name.c_str(),
                 wasi ? "WASI is not implemented yet (issue 9)"
                      : "no module provides it (--preload is not implemented yet)");
    return 1;
  }
  runtime::Store store(engine);
  auto instance = store.instantiate(module.ok(), {});
  if (!instance) {
    std::fprintf(stderr, "kiln run: %s\n", instance.err().to_error().to_string().c_str());
    return instance.err().kind == runtime::Failure::Kind::Trap ? kTrapExitCode : 1;
  }
  const std::string name = invoke.empty() ? "_start" : invoke;
  auto target = instance.ok()->export_named(name);
  if (!target || target->kind != wasm::ExternKind::Func) {
    if (invoke.empty() && !target) return 0;  // a module without _start: instantiating ran it
    std::fprintf(stderr, "kiln run: %s: no exported function named '%s'\n", path.c_str(),
                 name.c_str());
    return 1;
  }
  const wasm::FuncType& type = *target->func.type;
  if (program_args.size() != type.params.size()) {
    std::fprintf(stderr, "kiln run: '%s' takes %zu arguments, %zu given\n", name.c_str(),
                 type.params.size(), program_args.size());
    return 2;
  }
  std::vector<uint64_t> slots;
  for (size_t i = 0; i < type.params.size(); ++i) {
    const wasm::ValType param = type.params[i];
    uint64_t value = 0;
    bool ok = false;
    switch (param.kind) {
      case wasm::ValKind::I32:
        ok = parse_integer(program_args[i], false, value);
        break;
      case wasm::ValKind::I64:
        ok = parse_integer(program_args[i], true, value);
        break;
      case wasm::ValKind::F32:
        ok = parse_float(program_args[i], false, value);
        break;
      case wasm::ValKind::F64:
        ok = parse_float(program_args[i], true, value);
        break;
      default:
        break;
    }
    if (!ok) {
      std::fprintf(stderr, "kiln run: argument %zu ('%.*s') is not a valid %s\n", i + 1,
                   int(program_args[i].size()), program_args[i].data(),
                   param.kind == wasm::ValKind::I32   ? "i32"
                   : param.kind == wasm::ValKind::I64 ? "i64"
                   : param.kind == wasm::ValKind::F32 ? "f32"
                   : param.kind == wasm::ValKind::F64 ? "f64"
                                                      : "command-line value (references and "
                                                        "v128 cannot be passed)");
      return 2;
    }
    slots.push_back(value);
  }
  auto results = store.call(target->func, slots);
  if (!results) {
    std::fprintf(stderr, "kiln run: %s\n", results.err().to_error().to_string().c_str());
    return results.err().kind == runtime::Failure::Kind::Trap ? kTrapExitCode : 1;
  }
  size_t slot = 0;
  for (wasm::ValType result : type.results) {
    std::printf("%s\n", format_value(result, results.ok().data() + slot).c_str());
    slot += runtime::slot_count(result);
  }
  return 0;
}

}  // namespace kiln::tools
