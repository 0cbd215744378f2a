// `kiln inspect FILE.wasm|FILE.wat`: a module's sections, imports, exports and custom sections.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "decoder/decoder.hpp"
#include "decoder/reader.hpp"
#include "text/wat.hpp"
#include "tools/commands.hpp"
#include "tools/module_file.hpp"

namespace kiln::tools {

namespace {

using namespace kiln::wasm;

constexpr const char* kInspectUsage =
    "Usage: kiln inspect FILE.wasm|FILE.wat\n"
    "\n"
    "Prints a module's sections (id, name, offset, size), its imports (module, name, kind,\n"
    "type), its exports (name, kind, index, type) and its custom sections. A .wat file is\n"
    "translated to binary first; offsets are then those of the translated module.\n"
    "\n"
    "Options:\n"
    "  -h, --help  Print this help\n";

std::string_view section_name(uint8_t id) {
  static constexpr std::string_view kNames[] = {
      "custom", "type",  "import",  "function", "table", "memory",     "global",
      "export", "start", "element", "code",     "data",  "data count", "tag"};
  return id < std::size(kNames) ? kNames[id] : "unknown";
}

std::string_view extern_kind_name(ExternKind kind) {
  switch (kind) {
    case ExternKind::Func:
      return "func";
    case ExternKind::Table:
      return "table";
    case ExternKind::Memory:
      return "memory";
    case ExternKind::Global:
      return "global";
    case ExternKind::Tag:
      return "tag";
  }
  return "?";
}

std::string func_type_text(const ModuleInfo& info, uint32_t type_index) {
  std::string text = "(type " + std::to_string(type_index) + ")";
  if (type_index >= info.types.size() || info.types[type_index].kind != CompositeKind::Func)
    return text;
  const FuncType& func = info.types[type_index].func;
  if (!func.params.empty()) {
    text += " (param";
    for (const ValType& type : func.params) text += " " + val_type_name(type);
    text += ")";
  }
  if (!func.results.empty()) {
    text += " (result";
    for (const ValType& type : func.results) text += " " + val_type_name(type);
    text += ")";
  }
  return text;
}

std::string limits_text(const Limits& limits) {
  std::string text = std::to_string(limits.min);
  if (limits.max) text += " " + std::to_string(*limits.max);
  return text;
}

std::string table_type_text(const TableType& table) {
  std::string text = table.index_type == IndexType::I64 ? "i64 " : "";
  return text + limits_text(table.limits) + " " + val_type_name(table.element);
}

std::string memory_type_text(const MemoryType& memory) {
  std::string text = memory.index_type == IndexType::I64 ? "i64 " : "";
  text += limits_text(memory.limits);
  if (memory.shared) text += " shared";
  if (memory.page_size_log2 != 16)
    text += " (pagesize " + std::to_string(uint64_t(1) << memory.page_size_log2) + ")";
  return text;
}

std::string global_type_text(const GlobalType& global) {
  std::string type = val_type_name(global.type);
  return global.mutable_ ? "(mut " + type + ")" : type;
}

// The type of entity `index` of `kind` in the module's index spaces (imports included).
std::string entity_type_text(const ModuleInfo& info, ExternKind kind, uint32_t index) {
  switch (kind) {
    case ExternKind::Func:
      if (index < info.func_types.size()) return func_type_text(info, info.func_types[index]);
      break;
    case ExternKind::Table:
      if (index < info.table_types.size()) return table_type_text(info.table_types[index]);
      break;
    case ExternKind::Memory:
      if (index < info.memories.size()) return memory_type_text(info.memories[index]);
      break;
    case ExternKind::Global:
      if (index < info.global_types.size()) return global_type_text(info.global_types[index]);
      break;
    case ExternKind::Tag:
      if (index < info.tags.size()) return func_type_text(info, info.tags[index].type_index);
      break;
  }
  return "(index out of range)";
}

std::string import_type_text(const ModuleInfo& info, const Import& import) {
  switch (import.kind) {
    case ExternKind::Func:
      return func_type_text(info, import.func_type);
    case ExternKind::Table:
      return table_type_text(import.table);
    case ExternKind::Memory:
      return memory_type_text(import.memory);
    case ExternKind::Global:
      return global_type_text(import.global);
    case ExternKind::Tag:
      return func_type_text(info, import.tag.type_index);
  }
  return "?";
}

// Names may hold any Unicode (and quotes); printed as the text format writes strings.
std::string quoted(std::string_view name) {
  std::string text = "\"";
  for (unsigned char c : name) {
    if (c == '"' || c == '\\') {
      text += '\\';
      text += char(c);
    } else if (c < 0x20 || c == 0x7F) {
      char escape[4];
      std::snprintf(escape, sizeof escape, "\\%02x", c);
      text += escape;
    } else {
      text += char(c);
    }
  }
  return text + "\"";
}

void print_sections(const std::vector<uint8_t>& bytes) {
  std::printf("sections:\n  %-3s %-11s %10s %10s\n", "id", "name", "offset", "size");
  // The module has decoded, so its framing is sound: only the headers are read here.
  Reader reader(bytes, 8, bytes.size());
  while (!reader.at_end()) {
    size_t offset = reader.offset();
    auto id = reader.u8();
    auto size = id ? reader.u32() : Result<uint32_t>(Error("unexpected end"));
    if (!size) break;
    size_t payload = reader.offset();
    std::string custom_name;
    if (id.ok() == 0) {
      Reader name_reader(bytes, payload, payload + size.ok());
      auto length = name_reader.u32();
      if (length && length.ok() <= name_reader.remaining()) {
        custom_name = quoted(std::string_view(
            reinterpret_cast<const char*>(bytes.data() + name_reader.offset()), length.ok()));
      }
    }
    std::printf("  %-3u %-11s %10zu %10u%s%s\n", unsigned(id.ok()),
                std::string(section_name(id.ok())).c_str(), offset, size.ok(),
                custom_name.empty() ? "" : " ", custom_name.c_str());
    reader.seek(payload + size.ok());
  }
}

void print_module(const ModuleInfo& info, const std::vector<uint8_t>& bytes) {
  print_sections(bytes);

  std::printf("\nimports: %zu\n", info.imports.size());
  for (const Import& import : info.imports) {
    std::printf("  %s %s %-6s %s\n", quoted(import.module).c_str(), quoted(import.name).c_str(),
                std::string(extern_kind_name(import.kind)).c_str(),
                import_type_text(info, import).c_str());
  }

  std::printf("\nexports: %zu\n", info.exports.size());
  for (const Export& exported : info.exports) {
    std::printf("  %s %-6s %u %s\n", quoted(exported.name).c_str(),
                std::string(extern_kind_name(exported.kind)).c_str(), exported.index,
                entity_type_text(info, exported.kind, exported.index).c_str());
  }

  std::printf("\ncustom sections: %zu\n", info.customs.size());
  for (const CustomSection& custom : info.customs) {
    std::printf("  %s offset %u size %u\n", quoted(custom.name).c_str(), custom.payload.offset,
                custom.payload.size);
  }

  std::printf(
      "\ncounts: %zu types, %u functions (%u imported), %zu tables, %zu memories, %zu globals, "
      "%zu tags, %zu element segments, %zu data segments\n",
      info.types.size(), info.func_count(), info.imported_funcs, info.table_types.size(),
      info.memories.size(), info.global_types.size(), info.tags.size(), info.elements.size(),
      info.data.size());
  if (info.start) std::printf("start: function %u\n", *info.start);
}

}  // namespace

int cmd_inspect(Args args) {
  std::string path;
  for (const char* arg_text : args) {
    std::string_view arg = arg_text;
    if (arg == "-h" || arg == "--help") {
      std::fputs(kInspectUsage, stdout);
      return 0;
    }
    if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "kiln inspect: unknown option '%s'\n", arg_text);
      return 1;
    }
    if (!path.empty()) {
      std::fputs("kiln inspect: only one input file\n", stderr);
      return 1;
    }
    path = arg;
  }
  if (path.empty()) {
    std::fputs(kInspectUsage, stderr);
    return 1;
  }

  auto read = read_module_file(path);
  if (!read) {
    std::fprintf(stderr, "kiln inspect: %s\n", read.err().to_string().c_str());
    return 1;
  }
  std::vector<uint8_t> bytes = std::move(read).ok();

  auto info = decode_module(bytes, Features::everything());
  if (!info) {
    std::fprintf(stderr, "kiln inspect: %s: %s\n", path.c_str(), info.err().to_string().c_str());
    return 1;
  }
  std::printf("module: %s (%zu bytes)\n", path.c_str(), bytes.size());
  print_module(info.ok(), bytes);
  return 0;
}

}  // namespace kiln::tools
