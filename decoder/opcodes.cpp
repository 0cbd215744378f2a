#include "decoder/opcodes.hpp"

#include <algorithm>
#include <array>
#include <vector>

namespace kiln::wasm {

namespace {

constexpr OpcodeInfo kOpcodes[] = {
#define KILN_OPCODE(ident, text, prefix, code, imm, proposal, bytes, sig) \
  {Op::ident, text, prefix, code, ImmKind::imm, Proposal::proposal, bytes, sig},
#include "decoder/opcodes.def"
#undef KILN_OPCODE
};

constexpr uint16_t kNoOp = 0xFFFF;
constexpr uint32_t kMaxPrefixedCode = 0x200;  // every prefixed opcode of 3.0 is below this
constexpr uint8_t kFirstPrefix = 0xFB;

// Direct-indexed decode tables: one for single-byte opcodes, one per prefix byte. Built at
// compile time, so the hot lookup needs no initialisation guard.
struct DecodeTables {
  std::array<uint16_t, 256> single{};
  std::array<std::array<uint16_t, kMaxPrefixedCode>, 4> prefixed{};  // FB, FC, FD, FE
};

constexpr DecodeTables make_decode_tables() {
  DecodeTables tables;
  tables.single.fill(kNoOp);
  for (auto& table : tables.prefixed) table.fill(kNoOp);
  for (const OpcodeInfo& info : kOpcodes) {
    if (info.prefix == 0) {
      tables.single[info.code] = uint16_t(info.op);
    } else {
      tables.prefixed[info.prefix - kFirstPrefix][info.code] = uint16_t(info.op);
    }
  }
  return tables;
}

constexpr DecodeTables kDecodeTables = make_decode_tables();

// The decoder and the text lookups rely on these; a bad row fails the build, not a test run.
constexpr bool rows_sorted_and_unique() {
  for (size_t i = 1; i < std::size(kOpcodes); ++i) {
    const OpcodeInfo& a = kOpcodes[i - 1];
    const OpcodeInfo& b = kOpcodes[i];
    if (a.prefix > b.prefix || (a.prefix == b.prefix && a.code >= b.code)) return false;
  }
  return true;
}
static_assert(rows_sorted_and_unique(), "opcodes.def rows must be sorted by (prefix, code)");

// Mnemonic lookup is off the hot path; a sorted vector built on first use.
struct MnemonicTable {
  std::vector<std::pair<std::string_view, Op>> by_mnemonic;  // sorted by name

  MnemonicTable() {
    by_mnemonic.reserve(std::size(kOpcodes));
    for (const OpcodeInfo& info : kOpcodes) by_mnemonic.emplace_back(info.mnemonic, info.op);
    std::sort(by_mnemonic.begin(), by_mnemonic.end());
  }
};

const MnemonicTable& mnemonics() {
  static const MnemonicTable instance;
  return instance;
}

}  // namespace

std::span<const OpcodeInfo> all_opcodes() {
  return kOpcodes;
}

const OpcodeInfo& opcode_info(Op op) {
  return kOpcodes[size_t(op)];
}

std::optional<Op> lookup_opcode(uint8_t prefix, uint32_t code) {
  uint16_t op = kNoOp;
  if (prefix == 0) {
    if (code < 256) op = kDecodeTables.single[code];
  } else if (is_opcode_prefix(prefix) && code < kMaxPrefixedCode) {
    op = kDecodeTables.prefixed[prefix - kFirstPrefix][code];
  }
  if (op == kNoOp) return std::nullopt;
  return Op(op);
}

std::optional<Op> lookup_mnemonic(std::string_view mnemonic) {
  const auto& names = mnemonics().by_mnemonic;
  auto it =
      std::lower_bound(names.begin(), names.end(), mnemonic,
                       [](const auto& entry, std::string_view key) { return entry.first < key; });
  if (it == names.end() || it->first != mnemonic) return std::nullopt;
  return it->second;
}

std::string_view proposal_name(Proposal proposal) {
  switch (proposal) {
    case Proposal::Mvp:
      return "mvp";
    case Proposal::SignExtension:
      return "sign-extension";
    case Proposal::SaturatingConversions:
      return "saturating-float-to-int";
    case Proposal::MultiValue:
      return "multi-value";
    case Proposal::BulkMemory:
      return "bulk-memory";
    case Proposal::ReferenceTypes:
      return "reference-types";
    case Proposal::Simd:
      return "simd";
    case Proposal::RelaxedSimd:
      return "relaxed-simd";
    case Proposal::TailCall:
      return "tail-call";
    case Proposal::ExtendedConst:
      return "extended-const";
    case Proposal::MultiMemory:
      return "multi-memory";
    case Proposal::Memory64:
      return "memory64";
    case Proposal::Exceptions:
      return "exceptions";
    case Proposal::LegacyExceptions:
      return "legacy-exceptions";
    case Proposal::FunctionReferences:
      return "function-references";
    case Proposal::Gc:
      return "gc";
    case Proposal::Threads:
      return "threads";
    case Proposal::WideArithmetic:
      return "wide-arithmetic";
    case Proposal::CustomPageSizes:
      return "custom-page-sizes";
  }
  return "unknown";
}

}  // namespace kiln::wasm
