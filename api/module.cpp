// Module: compilation, validation and the import/export lists.
#include <fstream>
#include <iterator>

#include "api/code_observers.hpp"
#include "api/state.hpp"
#include "text/wat.hpp"

namespace kiln {

namespace {

ImportType::Type extern_type(const wasm::ModuleInfo& info, wasm::ExternKind kind, uint32_t index) {
  switch (kind) {
    case wasm::ExternKind::Func:
      return detail::func_type_of(info.func_type_of(index));
    case wasm::ExternKind::Table:
      return detail::table_type_of(info.table_types[index]);
    case wasm::ExternKind::Memory:
      return detail::memory_type_of(info.memories[index]);
    case wasm::ExternKind::Global:
      return detail::global_type_of(info.global_types[index]);
    case wasm::ExternKind::Tag:
      return TagType(detail::func_type_of(info.type(info.tags[index].type_index).func));
  }
  return detail::func_type_of({});
}

Result<Module> compile_binary(Engine& engine, Span<const uint8_t> wasm) {
  auto state = engine.state();
  if (state->config_error) return *state->config_error;
  auto compiled = state->rt.compile(wasm);
  if (!compiled) return std::move(compiled).err();
  auto gdb = detail::observe_new_code(state->settings, *compiled.ok());
  return Module(std::make_shared<const detail::ModuleState>(
      detail::ModuleState{state, std::move(compiled).ok(), std::move(gdb)}));
}

}  // namespace

Result<Module> Module::compile(Engine& engine, std::string_view wat) {
  auto binary = text::wat_to_binary(wat, "<input>", engine.state()->rt.config().features);
  if (!binary) return std::move(binary).err();
  return compile_binary(engine, binary.ok());
}

Result<Module> Module::compile(Engine& engine, Span<const uint8_t> wasm) {
  return compile_binary(engine, wasm);
}

Result<Module> Module::compile_file(Engine& engine, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error("cannot open " + path);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  static constexpr uint8_t kMagic[4] = {0x00, 0x61, 0x73, 0x6D};
  if (bytes.size() >= 4 && std::equal(kMagic, kMagic + 4, bytes.begin()))
    return compile_binary(engine, bytes);
  auto binary = text::wat_to_binary(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path,
      engine.state()->rt.config().features);
  if (!binary) return std::move(binary).err();
  return compile_binary(engine, binary.ok());
}

Result<std::monostate> Module::validate(Engine& engine, Span<const uint8_t> wasm) {
  auto state = engine.state();
  auto validated = decode_and_validate(wasm, state->rt.config().features);
  if (!validated) return std::move(validated).err();
  return std::monostate();
}

Result<std::vector<uint8_t>> Module::serialize() const {
  return state_->rt->serialize();
}

Result<Module> Module::deserialize(Engine& engine, Span<const uint8_t> bytes) {
  auto state = engine.state();
  if (state->config_error) return *state->config_error;
  auto loaded = state->rt.deserialize(bytes);
  if (!loaded) return std::move(loaded).err();
  // Loaded code is new code to profilers and GDB, as compiled code is.
  auto gdb = detail::observe_new_code(state->settings, *loaded.ok());
  return Module(std::make_shared<const detail::ModuleState>(
      detail::ModuleState{state, std::move(loaded).ok(), std::move(gdb)}));
}

Result<Module> Module::deserialize_file(Engine& engine, const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return Error("cannot open " + path);
  const std::streamoff size = in.tellg();
  if (size < 0) return Error("cannot read " + path);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(bytes.size())))
    return Error("cannot read " + path);
  auto module = deserialize(engine, bytes);
  if (!module) return Error(path + ": " + module.err().message());
  return module;
}

ImportType::List Module::imports() const {
  const wasm::ModuleInfo& info = state_->rt->info();
  ImportType::List list;
  uint32_t next[5] = {0, 0, 0, 0, 0};  // per ExternKind: imports come first in each space
  for (const wasm::Import& import : info.imports) {
    const uint32_t index = next[size_t(import.kind)]++;
    list.emplace_back(import.module, import.name, extern_type(info, import.kind, index));
  }
  return list;
}

ExportType::List Module::exports() const {
  const wasm::ModuleInfo& info = state_->rt->info();
  ExportType::List list;
  for (const wasm::Export& export_ : info.exports)
    list.emplace_back(export_.name, extern_type(info, export_.kind, export_.index));
  return list;
}

std::vector<Span<const uint8_t>> Module::custom_sections(std::string_view name) const {
  std::vector<Span<const uint8_t>> out;
  std::span<const uint8_t> bytes = state_->rt->bytes();
  for (const wasm::CustomSection& section : state_->rt->info().customs) {
    if (section.name == name)
      out.push_back(bytes.subspan(section.payload.offset, section.payload.size));
  }
  return out;
}

std::optional<std::string> Module::name() const {
  return state_->rt->info().names.module;
}

}  // namespace kiln
