// x86-64 machine code to text, through Zydis (the CLI's --disassemble and the code-shape
// tests). Not part of libkiln: embedders do not link Zydis.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace kiln::tools {

struct DisassembledInstruction {
  uint32_t offset = 0;
  uint32_t length = 0;
  std::string text;      // Intel syntax, e.g. "add eax, 0x2a"
  std::string mnemonic;  // e.g. "add"
};

// An undecodable byte (data inside the code, such as a jump table) is reported as a one-byte
// "(bad)" and decoding resumes at the next byte.
std::vector<DisassembledInstruction> disassemble_x64(std::span<const uint8_t> code);

}  // namespace kiln::tools
