// FuncValidator::validate_body (the fused decode + validate loop, with its table-driven fast
// paths) against the general path it shortcuts (OperatorReader::read + FuncValidator::visit, as
// the JIT drives them), on every function body of every module in the spec testsuite: valid and
// invalid alike must give the same outcome, message and offset.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "decoder/decoder.hpp"
#include "text/wast.hpp"
#include "text/wat.hpp"
#include "tests/validator_reference.hpp"
#include "validator/validator.hpp"

using namespace kiln;
using namespace kiln::wasm;

namespace {

std::filesystem::path testsuite() {
  if (const char* configured = std::getenv("KILN_TESTSUITE"); configured && *configured)
    return configured;
  return std::filesystem::path(KILN_SOURCE_ROOT) / ".." / "shared" / "spec-testsuite";
}

struct Tally {
  size_t modules = 0;
  size_t bodies = 0;
  size_t invalid_bodies = 0;
};

void compare_module(const std::vector<uint8_t>& bytes, const Features& features,
                    const std::string& where, Tally& tally) {
  bool compared = testing::compare_bodies(bytes, features, [&](const testing::BodyOutcomes& body) {
    ++tally.bodies;
    if (body.general != "ok") ++tally.invalid_bodies;
    if (body.fused != body.general) {
      INFO(where << ", defined function " << body.defined_index);
      CHECK(body.fused == body.general);
    }
  });
  if (compared) ++tally.modules;
}

}  // namespace

TEST_CASE("validate_body agrees with read + visit on every testsuite module", "[validator]") {
  const std::filesystem::path root = testsuite();
  REQUIRE(std::filesystem::is_directory(root));
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root))
    if (entry.path().extension() == ".wast") files.push_back(entry.path());
  std::sort(files.begin(), files.end());

  // With everything on, and with only the MVP on: operators of disabled proposals must take the
  // general path (which names the proposal).
  for (const Features& features : {Features::everything(), Features::mvp_only()}) {
    Tally tally;
    for (const auto& path : files) {
      std::ifstream in(path, std::ios::binary);
      std::string source{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
      auto script = text::parse_wast(source, path.string());
      if (!script) continue;
      for (const text::Command& command : script.ok().commands) {
        if (!command.module) continue;
        const text::ScriptModule& m = *command.module;
        std::string where = path.filename().string() + ":" + std::to_string(m.location.line);
        if (m.form == text::ScriptModule::Form::Quote) {
          auto binary = text::wat_to_binary(m.quote, where);
          if (binary) compare_module(binary.ok(), features, where, tally);
        } else {
          compare_module(m.binary, features, where, tally);
        }
      }
    }
    WARN(tally.modules << " modules, " << tally.bodies << " bodies (" << tally.invalid_bodies
                       << " invalid) compared");
    // Guards against a testsuite that silently yields nothing to compare.
    CHECK(tally.modules > 1000);
    CHECK(tally.bodies > 3000);
    CHECK(tally.invalid_bodies > 500);
  }
}
