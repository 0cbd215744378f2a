// Module::serialize and Engine::deserialize (the format is docs/serialize.md).
#include "runtime/serialize.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#include <type_traits>
#include <utility>

#include "jit/jit.hpp"
#include "runtime/build_id.hpp"
#include "runtime/checksum.hpp"

namespace kiln::runtime {

static_assert(std::endian::native == std::endian::little,
              "artifacts are little-endian and read with plain loads");

namespace {

// The fixed part of the header: magic, format version, header size, artifact size.
constexpr size_t kFixedHeaderSize = 24;
constexpr size_t kChecksumSize = 8;
// Header strings are short names; a longer one means the header is not what it claims.
constexpr uint32_t kMaxHeaderString = 256;

class Writer {
 public:
  explicit Writer(size_t reserve) { out_.reserve(reserve); }
  void bytes(const void* data, size_t size) {
    auto p = static_cast<const uint8_t*>(data);
    out_.insert(out_.end(), p, p + size);
  }
  void u8(uint8_t value) { out_.push_back(value); }
  void u32(uint32_t value) { bytes(&value, 4); }
  void u64(uint64_t value) { bytes(&value, 8); }
  void string(std::string_view text) {
    u32(uint32_t(text.size()));
    bytes(text.data(), text.size());
  }
  // Sections start 8-aligned so that their entries could be read in place.
  void align8() { out_.resize((out_.size() + 7) & ~size_t(7), 0); }
  void patch32(size_t at, uint32_t value) { std::memcpy(out_.data() + at, &value, 4); }
  void patch64(size_t at, uint64_t value) { std::memcpy(out_.data() + at, &value, 8); }
  size_t size() const { return out_.size(); }
  std::vector<uint8_t> take() { return std::move(out_); }

 private:
  std::vector<uint8_t> out_;
};

// Bounds-checked reads: the checksum guarantees the bytes are the ones written, but a reader
// that trusted lengths would turn a writer's bug (or a forged checksum) into a wild read.
class Reader {
 public:
  Reader(std::span<const uint8_t> bytes, size_t at) : bytes_(bytes), at_(at) {}
  size_t at() const { return at_; }
  bool u8(uint8_t& value) { return read(&value, 1); }
  bool u32(uint32_t& value) { return read(&value, 4); }
  bool u64(uint64_t& value) { return read(&value, 8); }
  bool span(uint64_t size, std::span<const uint8_t>& out) {
    if (size > bytes_.size() - at_) return false;
    out = bytes_.subspan(at_, size_t(size));
    at_ += size_t(size);
    return true;
  }
  bool string(std::string& out) {
    uint32_t size;
    std::span<const uint8_t> text;
    if (!u32(size) || size > kMaxHeaderString || !span(size, text)) return false;
    out.assign(text.begin(), text.end());
    return true;
  }
  bool align8() {
    const size_t aligned = (at_ + 7) & ~size_t(7);
    if (aligned > bytes_.size()) return false;
    at_ = aligned;
    return true;
  }

 private:
  bool read(void* out, size_t size) {
    if (size > bytes_.size() - at_) return false;
    std::memcpy(out, bytes_.data() + at_, size);
    at_ += size;
    return true;
  }
  std::span<const uint8_t> bytes_;
  size_t at_;
};

Error malformed(std::string_view what, size_t at) {
  return Error("malformed serialized module: " + std::string(what) + " at byte " +
               std::to_string(at));
}

std::string describe_features(uint64_t bits) {
  std::string text;
  for (unsigned bit = 0; bit < 64; ++bit) {
    if (!(bits >> bit & 1)) continue;
    if (!text.empty()) text += ", ";
    const std::string_view name = wasm::proposal_name(wasm::Proposal(bit));
    text += name == "unknown" ? "proposal " + std::to_string(bit) : std::string(name);
  }
  return text.empty() ? "none" : text;
}

std::string yes_no(bool value) {
  return value ? "on" : "off";
}

std::string opt_level_name(jit::OptLevel level) {
  switch (level) {
    case jit::OptLevel::None:
      return "None";
    case jit::OptLevel::Speed:
      return "Speed";
    case jit::OptLevel::SpeedAndSize:
      return "SpeedAndSize";
  }
  return "level " + std::to_string(int(level));
}

// The sizes of one payload section's entries. Trap sites and source-map checkpoints have the
// layout of the runtime's structs (padding written as zeros), so loading them is one copy.
constexpr size_t kBodyEntry = 16, kFunctionEntry = 12, kTrapSiteEntry = 12, kCheckpointEntry = 12;
static_assert(sizeof(jit::TrapSite) == kTrapSiteEntry && offsetof(jit::TrapSite, code) == 4 &&
              sizeof(jit::TrapSite::code) == 1 && offsetof(jit::TrapSite, wasm_offset) == 8);
static_assert(std::is_trivially_copyable_v<jit::TrapSite>);
static_assert(sizeof(SourceMap::Checkpoint) == kCheckpointEntry &&
              offsetof(SourceMap::Checkpoint, wasm_offset) == 4 &&
              offsetof(SourceMap::Checkpoint, delta_offset) == 8 &&
              std::is_trivially_copyable_v<SourceMap::Checkpoint>);

constexpr uint32_t kTrapCodeCount = 0
#define KILN_COUNT_TRAP(code, name, message) +1
    KILN_TRAP_CODES(KILN_COUNT_TRAP)
#undef KILN_COUNT_TRAP
    ;

void write_leb(std::vector<uint8_t>& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(uint8_t(value) | 0x80);
    value >>= 7;
  }
  out.push_back(uint8_t(value));
}

// The module's bytes with the operators of every function body replaced by a lone `end` (the
// locals declarations stay): what a loaded module keeps, since its code is compiled already.
// Operators are most of a module (sqlite3: 727 of 853 KB); dropping them makes the artifact
// smaller and loading cheaper. The bytes were validated when the module was compiled, so the
// section walk needs no checks beyond staying in bounds.
std::vector<uint8_t> strip_function_bodies(std::span<const uint8_t> bytes,
                                           const wasm::ModuleInfo& info) {
  constexpr uint8_t kCodeSection = 10;
  std::vector<uint8_t> out(bytes.begin(), bytes.begin() + std::min<size_t>(8, bytes.size()));
  size_t at = 8;
  while (at < bytes.size()) {
    const size_t section_start = at;
    const uint8_t id = bytes[at++];
    uint64_t size = 0;
    for (unsigned shift = 0; at < bytes.size() && shift < 35; shift += 7) {
      const uint8_t byte = bytes[at++];
      size |= uint64_t(byte & 0x7F) << shift;
      if (!(byte & 0x80)) break;
    }
    const size_t end = size_t(std::min<uint64_t>(at + size, bytes.size()));
    if (id != kCodeSection) {
      out.insert(out.end(), bytes.begin() + ptrdiff_t(section_start),
                 bytes.begin() + ptrdiff_t(end));
    } else {
      std::vector<uint8_t> payload;
      write_leb(payload, info.bodies.size());
      for (const wasm::FunctionBody& body : info.bodies) {
        const auto locals = bytes.subspan(body.range.offset, body.code.offset - body.range.offset);
        write_leb(payload, locals.size() + 1);
        payload.insert(payload.end(), locals.begin(), locals.end());
        payload.push_back(0x0B);  // end
      }
      out.push_back(kCodeSection);
      write_leb(out, payload.size());
      out.insert(out.end(), payload.begin(), payload.end());
    }
    at = end;
  }
  return out;
}

// The header's fields after its fixed part: everything the code depends on besides the module.
void write_header_fields(Writer& out, const CodeSettings& settings) {
  out.string(KILN_VERSION);
  out.string(kiln_build_id());
  out.string(jit::target_name());
  out.u64(settings.cpu_features);
  out.u64(feature_bits(settings.features));
  out.u64(settings.compile.guard_size);
  out.u8(settings.compile.guard_pages);
  out.u8(settings.compile.consume_fuel);
  out.u8(settings.compile.epoch_interruption);
  out.u8(uint8_t(settings.compile.opt_level));
}

}  // namespace

std::vector<uint8_t> artifact_header_fields(const CodeSettings& settings) {
  Writer out(128);
  write_header_fields(out, settings);
  return out.take();
}

std::string_view kiln_build_id() {
  return KILN_BUILD_ID;
}

uint64_t feature_bits(const wasm::Features& features) {
  uint64_t bits = 0;
  for (unsigned bit = 0; bit < 32; ++bit) {  // Features is a bitset<32>
    if (features.has(wasm::Proposal(bit))) bits |= uint64_t(1) << bit;
  }
  return bits;
}

wasm::Features features_from_bits(uint64_t bits) {
  wasm::Features features = wasm::Features::mvp_only();
  for (unsigned bit = 0; bit < 32; ++bit) features.set(wasm::Proposal(bit), bits >> bit & 1);
  return features;
}

// ---- Writing

std::vector<uint8_t> Module::serialize() const {
  // The laid-out code ends with the last function; the rest of the last page is padding.
  uint32_t code_size = 0;
  for (const CodeFunction& function : code_info_.functions) {
    code_size = std::max(code_size, function.code_offset + function.code_size);
  }
  const std::vector<uint8_t> stripped =
      bodies_stripped_ ? std::vector<uint8_t>() : strip_function_bodies(bytes_, info_);
  const std::span<const uint8_t> wasm = bodies_stripped_ ? std::span(bytes_) : stripped;
  const size_t estimate = 256 + wasm.size() + info_.bodies.size() * kBodyEntry + code_size +
                          code_info_.functions.size() * kFunctionEntry +
                          code_info_.trap_sites.size() * kTrapSiteEntry +
                          code_info_.source_map.checkpoints().size() * kCheckpointEntry +
                          code_info_.source_map.deltas().size() + 7 * 16;
  Writer out(estimate);
  out.bytes(kArtifactMagic.data(), kArtifactMagic.size());
  out.u32(kArtifactFormatVersion);
  out.u32(0);  // header size, patched below
  out.u64(0);  // artifact size, patched below
  write_header_fields(out, settings_);
  out.align8();
  out.patch32(12, uint32_t(out.size()));

  out.u64(wasm.size());
  out.bytes(wasm.data(), wasm.size());
  out.align8();
  // Where the bodies are in the module as compiled: backtraces give offsets in it.
  out.u64(info_.bodies.size());
  for (const wasm::FunctionBody& body : info_.bodies) {
    out.u32(body.range.offset);
    out.u32(body.range.size);
    out.u32(body.code.offset);
    out.u32(body.code.size);
  }
  out.align8();
  out.u64(code_size);
  out.bytes(code_.begin(), code_size);
  out.align8();
  out.u64(code_info_.functions.size());
  for (const CodeFunction& function : code_info_.functions) {
    out.u32(function.code_offset);
    out.u32(function.code_size);
    out.u32(function.func_index);
  }
  out.align8();
  out.u64(code_info_.trap_sites.size());
  for (const jit::TrapSite& site : code_info_.trap_sites) {
    out.u32(site.code_offset);
    out.u8(uint8_t(site.code));
    out.u8(0);
    out.u8(0);
    out.u8(0);
    out.u32(site.wasm_offset);
  }
  out.align8();
  const std::span<const SourceMap::Checkpoint> checkpoints = code_info_.source_map.checkpoints();
  out.u64(checkpoints.size());
  for (const SourceMap::Checkpoint& checkpoint : checkpoints) {
    out.u32(checkpoint.code_offset);
    out.u32(checkpoint.wasm_offset);
    out.u32(checkpoint.delta_offset);
  }
  out.align8();
  const std::span<const uint8_t> deltas = code_info_.source_map.deltas();
  out.u64(deltas.size());
  out.bytes(deltas.data(), deltas.size());
  out.align8();

  out.patch64(16, out.size() + kChecksumSize);
  std::vector<uint8_t> artifact = out.take();
  const uint64_t checksum = xxh64(artifact);
  const size_t at = artifact.size();
  artifact.resize(at + kChecksumSize);
  std::memcpy(artifact.data() + at, &checksum, kChecksumSize);
  return artifact;
}

// ---- Reading

Result<ArtifactHeader> read_artifact_header(std::span<const uint8_t> artifact) {
  static constexpr uint8_t kWasmMagic[4] = {0x00, 0x61, 0x73, 0x6D};
  if (artifact.size() >= 4 && std::equal(kWasmMagic, kWasmMagic + 4, artifact.begin())) {
    return Error(
        "not a serialized module: these bytes are a WebAssembly binary (compile it with "
        "Module::compile)");
  }
  if (artifact.empty()) return Error("not a serialized Kiln module: the input is empty");
  const size_t magic_bytes = std::min(artifact.size(), kArtifactMagic.size());
  const bool magic = std::equal(artifact.begin(), artifact.begin() + ptrdiff_t(magic_bytes),
                                kArtifactMagic.begin());
  if (magic && artifact.size() < kArtifactMagic.size()) {
    return Error("truncated serialized module: " + std::to_string(artifact.size()) +
                 " bytes, shorter than its header");
  }
  if (!magic) {
    return Error(
        "not a serialized Kiln module: wrong magic number (Module::serialize writes "
        "artifacts starting with \"\\0kilnaot\")");
  }
  ArtifactHeader header;
  Reader in(artifact, kArtifactMagic.size());
  if (!in.u32(header.format_version) || !in.u32(header.header_size) || !in.u64(header.size)) {
    return Error("truncated serialized module: " + std::to_string(artifact.size()) +
                 " bytes, shorter than its header");
  }
  if (header.format_version != kArtifactFormatVersion) {
    return Error("serialized module format version " + std::to_string(header.format_version) +
                 " is not the version this build reads (" + std::to_string(kArtifactFormatVersion) +
                 "): compile the module again");
  }
  if (artifact.size() < header.size) {
    return Error("truncated serialized module: " + std::to_string(artifact.size()) +
                 " bytes of the " + std::to_string(header.size) + " its header announces");
  }
  if (artifact.size() > header.size) {
    return Error("serialized module followed by " + std::to_string(artifact.size() - header.size) +
                 " trailing bytes (its header announces " + std::to_string(header.size) + ")");
  }
  if (header.size < kFixedHeaderSize + kChecksumSize || header.header_size < kFixedHeaderSize ||
      header.header_size > header.size - kChecksumSize) {
    return malformed("inconsistent header and artifact sizes", 12);
  }
  const std::span<const uint8_t> covered = artifact.first(artifact.size() - kChecksumSize);
  uint64_t stored;
  std::memcpy(&stored, artifact.data() + covered.size(), kChecksumSize);
  const uint64_t computed = xxh64(covered);
  if (stored != computed) {
    char text[160];
    std::snprintf(text, sizeof text,
                  "serialized module is corrupted or was altered: checksum mismatch (stored "
                  "%016llx, computed %016llx)",
                  static_cast<unsigned long long>(stored),
                  static_cast<unsigned long long>(computed));
    return Error(text);
  }

  Reader fields(artifact.first(header.header_size), kFixedHeaderSize);
  uint64_t features = 0;
  uint8_t guard_pages = 0, consume_fuel = 0, epoch_interruption = 0, opt_level = 0;
  if (!fields.string(header.kiln_version) || !fields.string(header.build_id) ||
      !fields.string(header.isa) || !fields.u64(header.settings.cpu_features) ||
      !fields.u64(features) || !fields.u64(header.settings.compile.guard_size) ||
      !fields.u8(guard_pages) || !fields.u8(consume_fuel) || !fields.u8(epoch_interruption) ||
      !fields.u8(opt_level)) {
    return malformed("header fields overrun the header", fields.at());
  }
  if (features >> 32 || guard_pages > 1 || consume_fuel > 1 || epoch_interruption > 1 ||
      opt_level > uint8_t(jit::OptLevel::SpeedAndSize)) {
    return malformed("header settings out of range", fields.at());
  }
  header.settings.features = features_from_bits(features);
  header.settings.compile.guard_pages = guard_pages;
  header.settings.compile.consume_fuel = consume_fuel;
  header.settings.compile.epoch_interruption = epoch_interruption;
  header.settings.compile.opt_level = jit::OptLevel(opt_level);
  return header;
}

Result<void> check_artifact_compatible(const ArtifactHeader& header, const CodeSettings& engine) {
  auto build_name = [](std::string_view version, std::string_view build_id) {
    std::string name = "Kiln " + std::string(version);
    if (!build_id.empty()) name += " (build " + std::string(build_id) + ")";
    return name;
  };
  // Code generation, the VMContext layout and the builtins change between builds, so code runs
  // only in the build that compiled it.
  if (header.kiln_version != KILN_VERSION || header.build_id != kiln_build_id()) {
    return Error("serialized module was compiled by " +
                 build_name(header.kiln_version, header.build_id) + ", but this is " +
                 build_name(KILN_VERSION, kiln_build_id()) + ": compile the module again");
  }
  if (header.isa != jit::target_name()) {
    return Error("serialized module holds " + header.isa + " code, but this machine runs " +
                 std::string(jit::target_name()) + " code");
  }
  if (const uint64_t missing = header.settings.cpu_features & ~engine.cpu_features) {
    return Error("serialized module's code uses CPU features this CPU lacks: " +
                 jit::cpu_feature_names(missing) + " (compile the module on this machine)");
  }
  std::string differences;
  auto differ = [&](std::string_view setting, const std::string& module, const std::string& here) {
    if (module == here) return;
    differences += differences.empty() ? "" : "; ";
    differences +=
        std::string(setting) + " is " + module + " in the module, " + here + " in this engine";
  };
  const uint64_t module_features = feature_bits(header.settings.features);
  const uint64_t engine_features = feature_bits(engine.features);
  if (module_features != engine_features) {
    std::string text = "wasm features differ (";
    if (uint64_t only = module_features & ~engine_features)
      text += "enabled for the module only: " + describe_features(only);
    if (uint64_t only = engine_features & ~module_features) {
      if (text.back() != '(') text += "; ";
      text += "enabled in this engine only: " + describe_features(only);
    }
    differences += (differences.empty() ? "" : "; ") + text + ")";
  }
  const jit::CompileOptions& module_options = header.settings.compile;
  differ("guard pages (memory_guard_size and memory_reservation)",
         yes_no(module_options.guard_pages), yes_no(engine.compile.guard_pages));
  differ("the guard size", std::to_string(module_options.guard_size),
         std::to_string(engine.compile.guard_size));
  differ("fuel (consume_fuel)", yes_no(module_options.consume_fuel),
         yes_no(engine.compile.consume_fuel));
  differ("epoch interruption", yes_no(module_options.epoch_interruption),
         yes_no(engine.compile.epoch_interruption));
  differ("the optimisation level (cranelift_opt_level)", opt_level_name(module_options.opt_level),
         opt_level_name(engine.compile.opt_level));
  if (!differences.empty()) {
    return Error("serialized module was compiled with other settings than this engine's: " +
                 differences + " (compile it again with this engine)");
  }
  return {};
}

Result<std::shared_ptr<const Module>> Engine::deserialize(std::span<const uint8_t> artifact) const {
  auto header = read_artifact_header(artifact);
  if (!header) return std::move(header.err());
  if (auto compatible = check_artifact_compatible(header.ok(), code_settings()); !compatible) {
    return std::move(compatible.err());
  }

  Reader in(artifact.first(artifact.size() - kChecksumSize), header.ok().header_size);
  auto section = [&](std::string_view what, size_t entry_size, std::span<const uint8_t>& out,
                     uint64_t& count) -> Result<void> {
    const size_t at = in.at();
    if (!in.u64(count) || count > UINT32_MAX || !in.span(count * entry_size, out) || !in.align8()) {
      return malformed(std::string(what) + " overrun the artifact", at);
    }
    return {};
  };
  std::span<const uint8_t> wasm, bodies, code, functions, trap_sites, checkpoints, deltas;
  uint64_t wasm_size, body_count, code_size, function_count, trap_site_count, checkpoint_count,
      delta_size;
  if (auto r = section("the wasm bytes", 1, wasm, wasm_size); !r) return std::move(r.err());
  if (auto r = section("the function bodies", kBodyEntry, bodies, body_count); !r)
    return std::move(r.err());
  if (auto r = section("the code", 1, code, code_size); !r) return std::move(r.err());
  if (auto r = section("the function table", kFunctionEntry, functions, function_count); !r)
    return std::move(r.err());
  if (auto r = section("the trap sites", kTrapSiteEntry, trap_sites, trap_site_count); !r)
    return std::move(r.err());
  if (auto r = section("the source map", kCheckpointEntry, checkpoints, checkpoint_count); !r)
    return std::move(r.err());
  if (auto r = section("the source map", 1, deltas, delta_size); !r) return std::move(r.err());
  if (in.at() != artifact.size() - kChecksumSize) {
    return malformed("bytes after the last section", in.at());
  }

  auto decoded = decode_sections(wasm);
  if (!decoded) {
    return Error("serialized module's wasm bytes do not decode: " + decoded.err().to_string());
  }
  std::shared_ptr<Module> module = std::move(decoded.ok());
  module->settings_ = header.ok().settings;
  module->bodies_stripped_ = true;
  wasm::ModuleInfo& info = module->info_;
  CodeInfo& code_info = module->code_info_;
  if (body_count != info.bodies.size()) {
    return malformed("the body table does not match the module's functions",
                     size_t(bodies.data() - artifact.data()));
  }
  for (size_t i = 0; i < body_count; ++i) {
    wasm::FunctionBody& body = info.bodies[i];
    std::memcpy(&body.range.offset, bodies.data() + i * kBodyEntry, 4);
    std::memcpy(&body.range.size, bodies.data() + i * kBodyEntry + 4, 4);
    std::memcpy(&body.code.offset, bodies.data() + i * kBodyEntry + 8, 4);
    std::memcpy(&body.code.size, bodies.data() + i * kBodyEntry + 12, 4);
  }

  // The function table is what the runtime indexes compiled code by: check it against the
  // module, so that no function_code() can point outside the code.
  if (function_count != info.bodies.size()) {
    return malformed("the function table does not match the module's functions",
                     header.ok().header_size);
  }
  code_info.functions.resize(size_t(function_count));
  module->function_offsets_.resize(size_t(function_count));
  for (uint32_t i = 0; i < function_count; ++i) {
    CodeFunction& function = code_info.functions[i];
    std::memcpy(&function.code_offset, functions.data() + i * kFunctionEntry, 4);
    std::memcpy(&function.code_size, functions.data() + i * kFunctionEntry + 4, 4);
    std::memcpy(&function.func_index, functions.data() + i * kFunctionEntry + 8, 4);
    if (function.func_index != info.imported_funcs + i ||
        uint64_t(function.code_offset) + function.code_size > code_size ||
        (i > 0 && function.code_offset < code_info.functions[i - 1].code_offset)) {
      return malformed("function " + std::to_string(info.imported_funcs + i) +
                           " lies outside the code or out of order",
                       header.ok().header_size);
    }
    module->function_offsets_[i] = function.code_offset;
  }
  // The tables' entries are laid out as the runtime's structs are: one copy each.
  code_info.trap_sites.resize(size_t(trap_site_count));
  if (!trap_sites.empty()) {  // an empty vector's data() may be null, which memcpy may not get
    std::memcpy(code_info.trap_sites.data(), trap_sites.data(), trap_sites.size());
  }
  for (const jit::TrapSite& site : code_info.trap_sites) {
    if (uint32_t(site.code) >= kTrapCodeCount) {
      return malformed("unknown trap code", size_t(trap_sites.data() - artifact.data()));
    }
  }
  std::vector<SourceMap::Checkpoint> map_checkpoints(static_cast<size_t>(checkpoint_count));
  if (!checkpoints.empty()) {
    std::memcpy(map_checkpoints.data(), checkpoints.data(), checkpoints.size());
  }
  if (!code_info.source_map.assign(std::move(map_checkpoints),
                                   std::vector<uint8_t>(deltas.begin(), deltas.end()))) {
    return malformed("inconsistent source map", size_t(checkpoints.data() - artifact.data()));
  }

  auto memory = CodeMemory::allocate(size_t(code_size));
  if (!memory) return std::move(memory.err());
  module->code_ = std::move(memory.ok());
  std::span<uint8_t> out = module->code_.writable();
  std::memcpy(out.data(), code.data(), code.size());
  std::memset(out.data() + code.size(), 0xCC, out.size() - code.size());  // int3, as compiled
  if (auto published = module->publish_code(); !published) return std::move(published.err());
  return std::shared_ptr<const Module>(std::move(module));
}

}  // namespace kiln::runtime
