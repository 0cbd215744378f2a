#include "spec-tests/profiles.hpp"

namespace kiln::spec {

namespace {

// WebAssembly 3.0 as released: every proposal Kiln knows except those still outside it, so
// that their encodings are malformed where the spec says so (a limits flag with bit 3 is a page
// size only under custom-page-sizes: binary.wast).
wasm::Features webassembly_3_0() {
  using wasm::Proposal;
  wasm::Features features = wasm::Features::everything();
  for (Proposal proposal : {Proposal::CustomPageSizes, Proposal::WideArithmetic, Proposal::Threads,
                            Proposal::LegacyExceptions}) {
    features.set(proposal, false);
  }
  return features;
}

}  // namespace

wasm::Features features_for_path(std::string_view path) {
  using wasm::Proposal;
  // The threads proposal forked from WebAssembly 1.0 with the early post-MVP proposals merged
  // (sign extension, saturating conversions, multi-value); it has no reference types (so one
  // table), no multi-memory and no memory64.
  if (path.starts_with("proposals/threads/")) {
    wasm::Features features = wasm::Features::mvp_only();
    for (Proposal proposal : {Proposal::SignExtension, Proposal::SaturatingConversions,
                              Proposal::MultiValue, Proposal::Threads}) {
      features.set(proposal, true);
    }
    return features;
  }
  // The other folders test one addition to 3.0 each.
  wasm::Features features = webassembly_3_0();
  if (path.starts_with("proposals/wide-arithmetic/")) features.set(Proposal::WideArithmetic, true);
  if (path.starts_with("proposals/custom-page-sizes/"))
    features.set(Proposal::CustomPageSizes, true);
  if (path.starts_with("legacy/")) features.set(Proposal::LegacyExceptions, true);
  return features;
}

}  // namespace kiln::spec
