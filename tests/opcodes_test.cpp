#include <catch2/catch.hpp>

#include "decoder/opcodes.hpp"

using namespace kiln::wasm;

TEST_CASE("every opcode row round-trips mnemonic <-> encoding", "[opcodes]") {
  for (const OpcodeInfo& info : all_opcodes()) {
    INFO(info.mnemonic);
    auto by_code = lookup_opcode(info.prefix, info.code);
    REQUIRE(by_code);
    CHECK(*by_code == info.op);
    auto by_name = lookup_mnemonic(info.mnemonic);
    REQUIRE(by_name);
    CHECK(*by_name == info.op);
    CHECK(&opcode_info(info.op) == &info);
  }
}
