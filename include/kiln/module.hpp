// Module: a compiled WebAssembly module, shareable across stores and threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "kiln/config.hpp"
#include "kiln/error.hpp"
#include "kiln/types.hpp"

namespace kiln {

namespace detail {
struct ModuleState;
}

class Module {
 public:
  // From the text format (a `(module ...)` or its fields).
  static Result<Module> compile(Engine& engine, std::string_view wat);
  // From the binary format.
  static Result<Module> compile(Engine& engine, Span<const uint8_t> wasm);
  // Kiln: a .wasm or .wat file (told apart by the binary's magic number).
  static Result<Module> compile_file(Engine& engine, const std::string& path);
  // Decodes and validates without compiling.
  static Result<std::monostate> validate(Engine& engine, Span<const uint8_t> wasm);

  // Compiled artifacts: the machine code and metadata, loaded again without compiling, by an
  // engine of the same Kiln build with the same code settings on a CPU with the features the
  // code uses (docs/serialize.md). Anything else, or a truncated or altered artifact, is refused
  // with an error saying why. Loading runs the artifact's machine code: load only artifacts as
  // trusted as the program (the checksum detects corruption, not tampering).
  Result<std::vector<uint8_t>> serialize() const;
  static Result<Module> deserialize(Engine& engine, Span<const uint8_t> bytes);
  static Result<Module> deserialize_file(Engine& engine, const std::string& path);

  // The module's imports and exports in module order, with their full types.
  ImportType::List imports() const;
  ExportType::List exports() const;
  // Kiln: the payloads of the custom sections named `name`, in module order.
  std::vector<Span<const uint8_t>> custom_sections(std::string_view name) const;
  // Kiln: the module's name from its name section, if any.
  std::optional<std::string> name() const;

  std::shared_ptr<const detail::ModuleState> state() const { return state_; }
  explicit Module(std::shared_ptr<const detail::ModuleState> state) : state_(std::move(state)) {}

 private:
  std::shared_ptr<const detail::ModuleState> state_;
};

}  // namespace kiln
