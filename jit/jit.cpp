#include "jit/jit.hpp"

#include <asmjit/core.h>

#include <utility>

namespace kiln::jit {

std::string_view target_name() {
  switch (asmjit::Environment::host().arch()) {
    case asmjit::Arch::kX64:
      return "x86-64";
    case asmjit::Arch::kAArch64:
      return "aarch64";
    default:
      return "unsupported";
  }
}

uint64_t host_cpu_features() {
  const asmjit::CpuInfo& cpu = asmjit::CpuInfo::host();
  uint64_t features = 0;
  if (cpu.hasFeature(asmjit::CpuFeatures::X86::kSSE4_1)) features |= kCpuSse41;
  if (cpu.hasFeature(asmjit::CpuFeatures::X86::kPOPCNT)) features |= kCpuPopcnt;
  if (cpu.hasFeature(asmjit::CpuFeatures::X86::kLZCNT)) features |= kCpuLzcnt;
  if (cpu.hasFeature(asmjit::CpuFeatures::X86::kBMI)) features |= kCpuBmi1;
  return features;
}

std::string cpu_feature_names(uint64_t features) {
  static constexpr std::pair<uint64_t, const char*> kNames[] = {
      {kCpuSse41, "SSE4.1"}, {kCpuPopcnt, "POPCNT"}, {kCpuLzcnt, "LZCNT"}, {kCpuBmi1, "BMI1"}};
  std::string text;
  auto add = [&](const std::string& name) { text += (text.empty() ? "" : ", ") + name; };
  for (auto [bit, name] : kNames) {
    if (features & bit) add(name);
  }
  for (unsigned bit = 0; bit < 64; ++bit) {
    if ((features >> bit & 1) && !(kKnownCpuFeatures >> bit & 1)) add("bit " + std::to_string(bit));
  }
  return text.empty() ? "none" : text;
}

}  // namespace kiln::jit
