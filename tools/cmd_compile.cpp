// `kiln compile [--disassemble] FILE.wasm|FILE.wat`: validate and compile every function with
// the JIT; with --disassemble, print each function's machine code beside the wasm operators
// it came from.
#include <cstdio>
#include <string>
#include <string_view>

#include "decoder/decoder.hpp"
#include "decoder/operators.hpp"
#include "jit/compiler.hpp"
#include "tools/commands.hpp"
#include "tools/disassembler.hpp"
#include "tools/module_file.hpp"
#include "validator/validator.hpp"

namespace kiln::tools {

namespace {

constexpr const char* kCompileUsage =
    "Usage: kiln compile [--disassemble] FILE.wasm|FILE.wat\n"
    "\n"
    "Validates the module and compiles every function with Kiln's x86-64 JIT.\n"
    "\n"
    "Options:\n"
    "  -d, --disassemble  Print each function's machine code, interleaved with the byte offset\n"
    "                     and mnemonic of the wasm operator each instruction came from\n"
    "  -h, --help         Print this help\n";

std::string function_name(const wasm::ModuleInfo& module, uint32_t index) {
  if (const std::string* name = module.names.functions.find(index)) return *name;
  for (const wasm::Export& e : module.exports)
    if (e.kind == wasm::ExternKind::Func && e.index == index) return e.name;
  return "";
}

// The mnemonic of the operator at `offset` of the module (for the listing's annotations).
std::string_view operator_at(std::span<const uint8_t> bytes, uint32_t offset, uint32_t end) {
  wasm::OperatorReader reader(bytes, {offset, end - offset});
  wasm::Operator op;
  if (!reader.read(op)) return "?";
  return wasm::opcode_info(op.op).mnemonic;
}

}  // namespace

int cmd_compile(Args args) {
  bool disassemble = false;
  std::string path;
  for (std::string_view arg : args) {
    if (arg == "-h" || arg == "--help") {
      std::fputs(kCompileUsage, stdout);
      return 0;
    } else if (arg == "-d" || arg == "--disassemble") {
      disassemble = true;
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "kiln compile: unknown option '%.*s' (see --help)\n", int(arg.size()),
                   arg.data());
      return 2;
    } else if (path.empty()) {
      path = arg;
    } else {
      std::fprintf(stderr, "kiln compile: more than one input file\n");
      return 2;
    }
  }
  if (path.empty()) {
    std::fputs(kCompileUsage, stderr);
    return 2;
  }
  auto bytes = read_module_file(path);
  if (!bytes) {
    std::fprintf(stderr, "kiln compile: %s\n", bytes.err().to_string().c_str());
    return 1;
  }
  const wasm::Features features = wasm::Features::all_standard();
  auto module = wasm::decode_module(bytes.ok(), features);
  if (!module) {
    std::fprintf(stderr, "kiln compile: %s: %s\n", path.c_str(), module.err().to_string().c_str());
    return 1;
  }
  auto types = wasm::validate_module_sections(module.ok(), bytes.ok(), features);
  if (!types) {
    std::fprintf(stderr, "kiln compile: %s: %s\n", path.c_str(), types.err().to_string().c_str());
    return 1;
  }
  wasm::FuncValidator validator(types.ok());
  const wasm::ModuleInfo& info = module.ok();
  size_t machine_bytes = 0, wasm_bytes = 0;
  for (uint32_t i = 0; i < info.bodies.size(); ++i) {
    const uint32_t func_index = info.imported_funcs + i;
    auto compiled = jit::compile_function(types.ok(), i, validator);
    if (!compiled) {
      std::fprintf(stderr, "kiln compile: %s: function %u: %s\n", path.c_str(), func_index,
                   compiled.err().to_string().c_str());
      return 1;
    }
    machine_bytes += compiled.ok().code.size();
    wasm_bytes += info.bodies[i].range.size;
    if (!disassemble) continue;
    const std::string name = function_name(info, func_index);
    std::printf("func[%u]%s%s:  ;; %zu bytes of machine code\n", func_index,
                name.empty() ? "" : " ", name.c_str(), compiled.ok().code.size());
    const auto& map = compiled.ok().source_map;
    size_t next = 0;
    for (const DisassembledInstruction& ins : disassemble_x64(compiled.ok().code)) {
      while (next < map.size() && map[next].first <= ins.offset) {
        if (map[next].first == ins.offset || next + 1 == map.size() ||
            map[next + 1].first > ins.offset) {
          const uint32_t wasm_offset = map[next].second;
          std::printf("  ;; @%06x %.*s\n", wasm_offset,
                      int(operator_at(bytes.ok(), wasm_offset, info.bodies[i].code.end()).size()),
                      operator_at(bytes.ok(), wasm_offset, info.bodies[i].code.end()).data());
        }
        ++next;
      }
      std::string hex;
      for (uint32_t b = 0; b < ins.length; ++b) {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%02x", compiled.ok().code[ins.offset + b]);
        hex += buf;
      }
      std::printf("    %06x  %-24s %s\n", ins.offset, hex.c_str(), ins.text.c_str());
    }
  }
  std::printf("compiled %zu functions: %zu bytes of wasm code -> %zu bytes of machine code\n",
              info.bodies.size(), wasm_bytes, machine_bytes);
  return 0;
}

}  // namespace kiln::tools
