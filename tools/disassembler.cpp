#include "tools/disassembler.hpp"

#include <Zydis/Zydis.h>

namespace kiln::tools {

std::vector<DisassembledInstruction> disassemble_x64(std::span<const uint8_t> code) {
  std::vector<DisassembledInstruction> out;
  size_t offset = 0;
  while (offset < code.size()) {
    ZydisDisassembledInstruction instruction;
    if (!ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, offset,
                                            code.data() + offset, code.size() - offset,
                                            &instruction))) {
      // Data inside the code (a br_table's jump table) need not decode: one byte is reported
      // and decoding resumes after it, as objdump does, so the code after the table is listed.
      out.push_back({uint32_t(offset), 1, "(bad)", "(bad)"});
      offset += 1;
      continue;
    }
    DisassembledInstruction line;
    line.offset = uint32_t(offset);
    line.length = instruction.info.length;
    line.text = instruction.text;
    line.mnemonic = ZydisMnemonicGetString(instruction.info.mnemonic);
    out.push_back(std::move(line));
    offset += instruction.info.length;
  }
  return out;
}

}  // namespace kiln::tools
