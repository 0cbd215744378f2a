// Engine, Module, memories, tables, cross-module type matching and trap descriptions.
#include "runtime/runtime.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "decoder/decoder.hpp"
#include "jit/jit.hpp"
#include "runtime/compile_cache.hpp"
#include "runtime/compile_functions.hpp"

namespace kiln::runtime {

// ---- Failures

std::string Trap::message() const {
  std::string text(trap_message(code));
  if (code == TrapCode::IndirectCallToNull && element_index) {
    text += " " + std::to_string(*element_index);
  }
  return text;
}

std::string Trap::describe() const {
  std::string text = "wasm trap: " + message();
  if (!frames.empty()) text += "\nwasm backtrace:";
  for (size_t i = 0; i < frames.size(); ++i) {
    const Frame& frame = frames[i];
    text += "\n  " + std::to_string(i) + ": ";
    if (frame.module_offset) {
      char offset[32];
      snprintf(offset, sizeof offset, "0x%x - ", *frame.module_offset);
      text += offset;
    }
    text += frame.name.empty() ? "<wasm function " + std::to_string(frame.func_index) + ">"
                               : frame.name;
  }
  return text;
}

Error Failure::to_error() const {
  if (trap) return Error(trap->describe());
  return Error(message);
}

// ---- Types across modules

CanonicalValType canonicalize(const wasm::ModuleTypes& types, wasm::ValType type) {
  if (type.is_ref() && type.heap.kind == wasm::HeapKind::Concrete) {
    type.heap.index = types.canonical_id(type.heap.index);
  }
  return {type};
}

namespace {

using wasm::HeapKind;

// The abstract heap type a concrete type sits under directly (func, struct or array).
HeapKind kind_of_concrete(const wasm::TypeRegistry& registry, uint32_t canonical_id) {
  switch (registry.entry(canonical_id).type.kind) {
    case wasm::CompositeKind::Func:
      return HeapKind::Func;
    case wasm::CompositeKind::Struct:
      return HeapKind::Struct;
    case wasm::CompositeKind::Array:
      return HeapKind::Array;
  }
  return HeapKind::Func;
}

bool abstract_subtype(HeapKind sub, HeapKind super) {
  if (sub == super) return true;
  switch (super) {
    case HeapKind::Any:
      return sub == HeapKind::Eq || sub == HeapKind::I31 || sub == HeapKind::Struct ||
             sub == HeapKind::Array || sub == HeapKind::None;
    case HeapKind::Eq:
      return sub == HeapKind::I31 || sub == HeapKind::Struct || sub == HeapKind::Array ||
             sub == HeapKind::None;
    case HeapKind::I31:
    case HeapKind::Struct:
    case HeapKind::Array:
      return sub == HeapKind::None;
    case HeapKind::Func:
      return sub == HeapKind::NoFunc;
    case HeapKind::Extern:
      return sub == HeapKind::NoExtern;
    case HeapKind::Exn:
      return sub == HeapKind::NoExn;
    default:
      return false;
  }
}

bool heap_subtype(const wasm::TypeRegistry& registry, wasm::HeapType sub, wasm::HeapType super) {
  const bool sub_concrete = sub.kind == HeapKind::Concrete;
  const bool super_concrete = super.kind == HeapKind::Concrete;
  if (sub_concrete && super_concrete) {
    return sub.index == super.index || registry.is_subtype(sub.index, super.index);
  }
  if (sub_concrete) return abstract_subtype(kind_of_concrete(registry, sub.index), super.kind);
  if (super_concrete) {
    const HeapKind kind = kind_of_concrete(registry, super.index);
    if (kind == HeapKind::Func) return sub.kind == HeapKind::NoFunc;
    return sub.kind == HeapKind::None;
  }
  return abstract_subtype(sub.kind, super.kind);
}

}  // namespace

bool is_subtype(const wasm::TypeRegistry& registry, CanonicalValType sub, CanonicalValType super) {
  if (sub.type.kind != super.type.kind) return false;
  if (!sub.type.is_ref()) return true;
  if (sub.type.nullable && !super.type.nullable) return false;
  return heap_subtype(registry, sub.type.heap, super.type.heap);
}

uint32_t slot_count(wasm::ValType type) {
  return type.kind == wasm::ValKind::V128 ? 2 : 1;
}

uint32_t slot_count(std::span<const wasm::ValType> types) {
  uint32_t slots = 0;
  for (const wasm::ValType& type : types) slots += slot_count(type);
  return slots;
}

// ---- Module

Module::~Module() {
  if (registered_) unregister_code(&code_info_);
}

std::string Module::function_name(uint32_t func_index) const {
  const std::string* name = info_.names.functions.find(func_index);
  return name ? *name : std::string();
}

// ---- Engine

Engine::Engine(EngineConfig config) : config_(std::move(config)) {
  install_signal_handlers();
  if (config_.cache_directory) cache_ = std::make_shared<CompileCache>(*config_.cache_directory);
}

Result<std::shared_ptr<const Module>> Engine::compile(std::span<const uint8_t> bytes) const {
  auto jit = [&] {
    return compile_with(
        bytes, [](const wasm::ModuleTypes&, uint32_t defined_index, jit::CompileScratch& scratch,
                  const jit::CompileOptions& options) {
          return jit::compile_function(defined_index, scratch, options);
        });
  };
  if (!cache_) return jit();
  const CompileCache::Key key = CompileCache::key(bytes, code_settings());
  if (std::optional<std::vector<uint8_t>> artifact = cache_->load(key)) {
    // deserialize checks the entry as any artifact (checksum, build, CPU, settings): a refused
    // one is compiled again and replaced, never run and never an error.
    if (auto loaded = deserialize(*artifact)) {
      cache_hits_.fetch_add(1, std::memory_order_relaxed);
      return loaded;
    }
    cache_entries_refused_.fetch_add(1, std::memory_order_relaxed);
  }
  cache_misses_.fetch_add(1, std::memory_order_relaxed);
  auto compiled = jit();
  if (compiled && cache_->store(key, compiled.ok()->serialize())) {
    cache_writes_.fetch_add(1, std::memory_order_relaxed);
  }
  return compiled;
}

CompileStatistics Engine::statistics() const {
  CompileStatistics statistics;
  statistics.modules_compiled = modules_compiled_.load(std::memory_order_relaxed);
  statistics.functions_compiled = functions_compiled_.load(std::memory_order_relaxed);
  statistics.cache_hits = cache_hits_.load(std::memory_order_relaxed);
  statistics.cache_misses = cache_misses_.load(std::memory_order_relaxed);
  statistics.cache_entries_refused = cache_entries_refused_.load(std::memory_order_relaxed);
  statistics.cache_writes = cache_writes_.load(std::memory_order_relaxed);
  return statistics;
}

CodeSettings Engine::code_settings() const {
  return {config_.features, config_.compile, jit::host_cpu_features()};
}

Result<std::shared_ptr<Module>> Engine::decode_sections(std::span<const uint8_t> bytes) const {
  std::shared_ptr<Module> module(new Module());
  module->bytes_.assign(bytes.begin(), bytes.end());
  auto decoded = wasm::decode_module(module->bytes_, config_.features);
  if (!decoded) return std::move(decoded.err());
  module->info_ = std::move(decoded.ok());
  auto types =
      wasm::validate_module_sections(module->info_, module->bytes_, config_.features, registry());
  if (!types) return std::move(types.err());
  module->types_ = std::make_unique<wasm::ModuleTypes>(std::move(types.ok()));
  module->gc_layouts_.reserve(module->info_.types.size());
  for (const wasm::SubType& type : module->info_.types) {
    module->gc_layouts_.push_back(jit::gc_layout(type));
  }
  module->settings_ = code_settings();
  return module;
}

Result<void> Module::publish_code() {
  if (auto sealed = code_.seal(); !sealed) return std::move(sealed.err());
  code_info_.start = uintptr_t(code_.begin());
  code_info_.end = uintptr_t(code_.end());
  code_info_.owner = this;
  register_code(&code_info_);
  registered_ = true;
  return {};
}

Result<std::shared_ptr<const Module>> Engine::compile_with(std::span<const uint8_t> bytes,
                                                           const FunctionCompiler& compiler) const {
  auto decoded = decode_sections(bytes);
  if (!decoded) return std::move(decoded.err());
  std::shared_ptr<Module> module = std::move(decoded.ok());

  const wasm::ModuleInfo& info = module->info_;
  const uint32_t defined = uint32_t(info.bodies.size());
  const CompileThreads threads{config_.parallel_compilation, config_.compile_threads,
                               config_.parallel_min_body_bytes};
  auto compiled = compile_functions(*module->types_, compiler, config_.compile, threads);
  if (!compiled) return std::move(compiled.err());
  const std::vector<jit::CompiledFunction>& functions = compiled.ok();
  modules_compiled_.fetch_add(1, std::memory_order_relaxed);
  functions_compiled_.fetch_add(defined, std::memory_order_relaxed);

  // Functions start 16-byte aligned (instruction fetch works in aligned 16-byte blocks), except
  // at OptLevel::SpeedAndSize, where they follow each other without padding.
  const size_t alignment = config_.compile.opt_level == jit::OptLevel::SpeedAndSize ? 1 : 16;
  size_t total = 0;
  module->function_offsets_.reserve(defined);
  for (const jit::CompiledFunction& function : functions) {
    total = (total + alignment - 1) & ~(alignment - 1);
    if (total + function.code.size() > UINT32_MAX) {
      return Error("the module's compiled code exceeds 4 GiB");
    }
    module->function_offsets_.push_back(uint32_t(total));
    total += function.code.size();
  }

  auto memory = CodeMemory::allocate(total);
  if (!memory) return std::move(memory.err());
  module->code_ = std::move(memory.ok());
  std::span<uint8_t> out = module->code_.writable();
  CodeInfo& code_info = module->code_info_;
  size_t trap_sites = 0, source_map = 0;
  for (const jit::CompiledFunction& function : functions) {
    trap_sites += function.trap_sites.size();
    source_map += function.source_map.size();
  }
  code_info.trap_sites.reserve(trap_sites);
  code_info.source_map.reserve(source_map);
  code_info.functions.reserve(defined);
  // Functions are placed in index order at increasing offsets and each one's entries are in
  // code order, so appending keeps the module's tables sorted (the signal handler searches
  // them): checked per entry instead of sorting. Only the gaps between functions are filled
  // with int3; the code itself is written once.
  uint32_t filled = 0;
  for (uint32_t i = 0; i < defined; ++i) {
    const jit::CompiledFunction& function = functions[i];
    const uint32_t base = module->function_offsets_[i];
    const uint32_t size = uint32_t(function.code.size());
    std::memset(out.data() + filled, 0xCC, base - filled);
    std::memcpy(out.data() + base, function.code.data(), size);
    filled = base + size;
    for (const jit::CallSite& site : function.call_sites) {
      if (site.callee < info.imported_funcs || site.callee >= info.func_count() ||
          size_t(site.rel32_offset) + 4 > size) {
        return Error("compiled code has a bad call site (callee " + std::to_string(site.callee) +
                     ")");
      }
      const int64_t target = module->function_offsets_[site.callee - info.imported_funcs];
      const int64_t next = int64_t(base) + site.rel32_offset + 4;
      const int32_t rel32 = int32_t(target - next);
      std::memcpy(out.data() + base + site.rel32_offset, &rel32, 4);
    }
    uint32_t previous = 0;
    for (jit::TrapSite site : function.trap_sites) {
      if (site.code_offset < previous || site.code_offset >= size) {
        return Error("compiled code has trap sites out of order or outside its function");
      }
      previous = site.code_offset;
      site.code_offset += base;
      code_info.trap_sites.push_back(site);
    }
    for (auto [code_offset, wasm_offset] : function.source_map) {
      // Functions are placed at increasing offsets, each one's map in code order: the module's
      // map is appended in order (SourceMap refuses anything else).
      if (code_offset > size || !code_info.source_map.push(code_offset + base, wasm_offset)) {
        return Error("compiled code has a source map out of order or outside its function");
      }
    }
    code_info.functions.push_back({base, size, info.imported_funcs + i});
  }
  std::memset(out.data() + filled, 0xCC, out.size() - filled);
  if (auto published = module->publish_code(); !published) return std::move(published.err());
  return std::shared_ptr<const Module>(std::move(module));
}

// ---- Memory

namespace {

constexpr uint64_t k4GiB = 4ull << 30;

uint64_t round_up_to_page(uint64_t bytes) {
  const uint64_t page = uint64_t(sysconf(_SC_PAGESIZE));
  return (bytes + page - 1) & ~(page - 1);
}

}  // namespace

Memory::~Memory() {
  if (reservation_) munmap(reservation_, reservation_size_);
}

Result<std::shared_ptr<Memory>> Memory::create(const wasm::MemoryType& type,
                                               const EngineConfig& config) {
  std::shared_ptr<Memory> memory(new Memory());
  memory->type_ = type;
  // The validator's limits (custom-page-sizes): a 32-bit memory spans at most 4 GiB, and its page
  // count fits the limits' u32 encoding, so 1-byte pages stop at 2^32-1 bytes (memory.grow's -1
  // stays unambiguous). A 64-bit memory has at most 2^64 bytes or 2^64-1 pages.
  const unsigned page_bits = type.page_size_log2;
  const uint64_t index_max_pages =
      type.index_type == wasm::IndexType::I32
          ? std::min<uint64_t>(uint64_t(1) << (32 - page_bits), UINT32_MAX)
          : (page_bits == 0 ? UINT64_MAX : uint64_t(1) << (64 - page_bits));
  memory->max_pages_ = std::min(type.limits.max.value_or(index_max_pages), index_max_pages);
  // 32-bit memories: the whole 4 GiB index space plus a guard, so compiled code needs no bounds
  // checks; a guard before the base too. 64-bit memories are bounds-checked by compiled code:
  // reserve up to 4 GiB of them (growing beyond fails).
  const uint64_t guard = config.compile.guard_pages ? config.compile.guard_size : 0;
  memory->capacity_ =
      memory->max_pages_ >= (k4GiB >> page_bits) ? k4GiB : memory->max_pages_ << page_bits;
  const uint64_t pre_guard = round_up_to_page(guard);
  const uint64_t post_guard = type.index_type == wasm::IndexType::I32 ? round_up_to_page(guard) : 0;
  const uint64_t reserved_memory =
      type.index_type == wasm::IndexType::I32 && config.compile.guard_pages
          ? k4GiB
          : round_up_to_page(memory->capacity_);
  memory->reservation_size_ = size_t(pre_guard + reserved_memory + post_guard);
  if (memory->reservation_size_ == 0) memory->reservation_size_ = size_t(round_up_to_page(1));
  void* reservation = mmap(nullptr, memory->reservation_size_, PROT_NONE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reservation == MAP_FAILED) {
    return Error("cannot reserve " + std::to_string(memory->reservation_size_) +
                 " bytes of address space for a linear memory");
  }
  memory->reservation_ = static_cast<uint8_t*>(reservation);
  memory->vm_.base = memory->reservation_ + pre_guard;
  memory->vm_.size = 0;
  if (type.limits.min > memory->max_pages_ || memory->grow(type.limits.min) == UINT64_MAX) {
    return Error("cannot allocate a linear memory of " + std::to_string(type.limits.min) +
                 " pages");
  }
  return memory;
}

uint64_t Memory::grow(uint64_t delta_pages) {
  if (!type_.shared) return grow_locked(delta_pages);
  std::lock_guard<std::mutex> lock(grow_lock_);
  return grow_locked(delta_pages);
}

uint64_t Memory::grow_locked(uint64_t delta_pages) {
  const uint64_t old_pages = pages();
  if (delta_pages > max_pages_ - old_pages) return UINT64_MAX;
  // capacity_ <= 4 GiB: checking the page count first keeps the shift from overflowing.
  if (old_pages + delta_pages > (capacity_ >> type_.page_size_log2)) return UINT64_MAX;
  const uint64_t new_bytes = (old_pages + delta_pages) << type_.page_size_log2;
  const uint64_t needed = round_up_to_page(new_bytes);
  if (needed > accessible_) {
    if (mprotect(vm_.base + accessible_, size_t(needed - accessible_), PROT_READ | PROT_WRITE) !=
        0) {
      return UINT64_MAX;
    }
    accessible_ = needed;
  }
  // Published after the pages are accessible: a thread reading the new size may use them.
  std::atomic_ref<uint64_t>(vm_.size).store(new_bytes, std::memory_order_release);
  return old_pages;
}

// ---- Table

Table::Table(const wasm::TableType& type, CanonicalValType element, uint64_t max_elements)
    : type_(type), element_(element) {
  const uint64_t index_max = type.index_type == wasm::IndexType::I32 ? UINT32_MAX : UINT64_MAX;
  max_ = std::min({type.limits.max.value_or(index_max), index_max, max_elements});
  vm_.elements = nullptr;
  vm_.size = 0;
}

uint64_t Table::grow(uint64_t delta, void* init) {
  const uint64_t old = vm_.size;
  if (delta > max_ - old) return UINT64_MAX;
  storage_.resize(size_t(old + delta), init);
  vm_.elements = storage_.data();
  vm_.size = old + delta;
  return old;
}

}  // namespace kiln::runtime
