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

// Direct-indexed decode tables: one for single-byte opcodes, one per prefix byte.
struct DecodeTables {
  std::array<uint16_t, 256> single;
  std::array<std::array<uint16_t, kMaxPrefixedCode>, 4> prefixed;  // FB, FC, FD, FE
  std::vector<std::pair<std::string_view, Op>> by_mnemonic;        // sorted by name

  DecodeTables() {
    single.fill(kNoOp);
    for (auto& table : prefixed) table.fill(kNoOp);
    for (const OpcodeInfo& info : kOpcodes) {
      if (info.prefix == 0) {
        single[info.code] = uint16_t(info.op);
      } else if (info.code < kMaxPrefixedCode) {
        prefixed[info.prefix - 0xFB][info.code] = uint16_t(info.op);
      }
      by_mnemonic.emplace_back(info.mnemonic, info.op);
    }
    std::sort(by_mnemonic.begin(), by_mnemonic.end());
  }
};

const DecodeTables& tables() {
  static const DecodeTables instance;
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
  const DecodeTables& t = tables();
  uint16_t op = kNoOp;
  if (prefix == 0) {
    if (code < 256) op = t.single[code];
  } else if (is_opcode_prefix(prefix) && code < kMaxPrefixedCode) {
    op = t.prefixed[prefix - 0xFB][code];
  }
  if (op == kNoOp) return std::nullopt;
  return Op(op);
}

std::optional<Op> lookup_mnemonic(std::string_view mnemonic) {
  const auto& names = tables().by_mnemonic;
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
