// The compiled-code cache (Config::cache, docs/cache.md): serialized modules on disk, one file per
// (wasm bytes, this build, code settings), so that compiling the same bytes again in any process
// of the same build loads the code instead.
//
// An entry's name is the SHA-256 of everything the code depends on: the module's bytes and the
// artifact header's fields (Kiln version and build id, ISA, CPU features, every code setting;
// runtime/serialize.hpp), plus, for a build from a modified checkout, a fingerprint of the
// running program's code (its build id alone does not change when the sources do). An entry is
// written to a temporary file and renamed into place, so a reader sees a whole entry or none.
// Reading trusts nothing it finds: an entry must be a regular file of this user's, writable by no
// one else, start with its own key, and then pass every check Engine::deserialize makes (the
// checksum among them); anything else is a miss, compiled again and replaced.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kiln/error.hpp"
#include "runtime/runtime.hpp"

namespace kiln::runtime {

class CompileCache {
 public:
  using Key = std::array<uint8_t, 32>;

  explicit CompileCache(std::filesystem::path directory) : directory_(std::move(directory)) {}

  // Makes the directory (and its parents) if missing, readable by this user only. The error
  // names the directory.
  static Result<void> prepare(const std::filesystem::path& directory);

  static Key key(std::span<const uint8_t> wasm, const CodeSettings& settings);
  std::filesystem::path entry_path(const Key& key) const;
  const std::filesystem::path& directory() const { return directory_; }

  // The artifact stored under `key`, or nothing (no entry, or one not to be trusted: see above).
  std::optional<std::vector<uint8_t>> load(const Key& key) const;
  // Stores `artifact` under `key`, replacing any entry there. False when it could not be
  // written (the cache is an optimisation: the caller carries on without it).
  bool store(const Key& key, std::span<const uint8_t> artifact) const;

 private:
  std::filesystem::path directory_;
};

// The bytes of this program's own machine code (the loaded object holding Kiln's), hashed:
// different whenever the compiler's code is, even between builds with one build id. Empty when
// it cannot be read.
std::string build_fingerprint();

}  // namespace kiln::runtime
