#include "spec-tests/profiles.hpp"

namespace kiln::spec {

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
  return wasm::Features::everything();
}

}  // namespace kiln::spec
