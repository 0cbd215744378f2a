// Serialized modules ("artifacts"): a compiled module's machine code and the metadata to run it,
// written by Module::serialize and loaded by Engine::deserialize without validating function
// bodies or compiling. The format and its checks are documented in docs/serialize.md.
//
// Loading an artifact runs the machine code in it: the checksum catches corruption, not an
// artifact made to harm. Only load artifacts from a source as trusted as the program itself.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kiln/error.hpp"
#include "runtime/runtime.hpp"

namespace kiln::runtime {

// "\0kilnaot": the NUL keeps an artifact from being taken for the text format.
inline constexpr std::array<uint8_t, 8> kArtifactMagic = {0x00, 'k', 'i', 'l', 'n', 'a', 'o', 't'};
// Bumped whenever the layout below changes.
inline constexpr uint32_t kArtifactFormatVersion = 2;

// The Kiln release and the commit this build was made from ("" when built outside git).
std::string_view kiln_build_id();

// What an artifact's header says about the code it holds.
struct ArtifactHeader {
  uint32_t format_version = 0;
  uint32_t header_size = 0;  // where the payload starts
  uint64_t size = 0;         // of the whole artifact, checksum included
  std::string kiln_version;
  std::string build_id;
  std::string isa;
  CodeSettings settings;
};

// The artifact's framing: magic number, format version, length (truncated? trailing bytes?) and
// checksum, then the header's fields. An error here means the bytes are not an intact artifact.
Result<ArtifactHeader> read_artifact_header(std::span<const uint8_t> artifact);

// Whether code with this header may run here: the same Kiln build and ISA, a CPU with every
// feature the code assumes (`engine.cpu_features` is the host's), and the engine's code settings.
// The error names each difference.
Result<void> check_artifact_compatible(const ArtifactHeader& header, const CodeSettings& engine);

// The header's fields after its fixed part, as an artifact of code compiled with `settings` by
// this build holds them: Kiln version and build id, ISA, CPU features and every code setting.
// What the code depends on besides the module's bytes (the compile cache's key covers it).
std::vector<uint8_t> artifact_header_fields(const CodeSettings& settings);

// Proposals as bits (bit i = wasm::Proposal i), as the header stores them.
uint64_t feature_bits(const wasm::Features& features);
wasm::Features features_from_bits(uint64_t bits);

}  // namespace kiln::runtime
