// Which proposals a decode/validate/compile accepts. Config switches map onto this; turning a
// proposal off makes a module that uses it fail with a message naming the proposal.
#pragma once

#include <bitset>

#include "decoder/opcodes.hpp"

namespace kiln::wasm {

class Features {
 public:
  // Everything of WebAssembly 3.0 plus threads, wide-arithmetic and custom page sizes; the
  // legacy exception encoding is off (it sits behind its own switch).
  static Features all_standard() {
    Features f;
    f.enabled_.set();
    f.enabled_.reset(size_t(Proposal::LegacyExceptions));
    return f;
  }
  // Literally everything Kiln knows, legacy exceptions included (the spec runner uses this).
  static Features everything() {
    Features f;
    f.enabled_.set();
    return f;
  }
  static Features mvp_only() {
    Features f;
    f.enabled_.set(size_t(Proposal::Mvp));
    return f;
  }

  bool has(Proposal p) const { return enabled_.test(size_t(p)); }
  Features& set(Proposal p, bool on) {
    enabled_.set(size_t(p), on);
    return *this;
  }

 private:
  std::bitset<32> enabled_;
};

}  // namespace kiln::wasm
