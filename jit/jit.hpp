// The JIT's interface to the runtime.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kiln::jit {

// The instruction set this build emits code for, as asmjit sees the host.
std::string_view target_name();

// Optional x86-64 extensions the code generator uses when the host has them (beyond the x86-64
// baseline: SSE2, CMOV). Code compiled on a host with one of them needs it on every CPU it runs
// on, so a serialized module records the set and a CPU lacking one refuses to load it.
enum CpuFeature : uint64_t {
  kCpuSse41 = 1u << 0,   // roundss/roundsd: f32/f64 ceil, floor, trunc, nearest
  kCpuPopcnt = 1u << 1,  // popcnt: i32/i64.popcnt
  kCpuLzcnt = 1u << 2,   // lzcnt: i32/i64.clz (else bsr)
  kCpuBmi1 = 1u << 3,    // tzcnt: i32/i64.ctz (else bsf)
};
inline constexpr uint64_t kKnownCpuFeatures = kCpuSse41 | kCpuPopcnt | kCpuLzcnt | kCpuBmi1;
// The features above that this machine's CPU has: what the code generator assumes.
uint64_t host_cpu_features();
// "SSE4.1, POPCNT", or "none"; bits this build does not know are named "bit N".
std::string cpu_feature_names(uint64_t features);

}  // namespace kiln::jit
