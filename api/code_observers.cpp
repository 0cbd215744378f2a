// What outside tools learn about compiled code: perf's map and jitdump files
// (Config::profiler) and GDB's JIT interface (Config::debug_info).
#include "api/code_observers.hpp"

#include <elf.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

// GDB's JIT interface: GDB sets a breakpoint in __jit_debug_register_code and reads the
// descriptor's entries, each an in-memory object file whose symbols name the code.
extern "C" {
struct jit_code_entry {
  jit_code_entry* next_entry;
  jit_code_entry* prev_entry;
  const char* symfile_addr;
  uint64_t symfile_size;
};
struct jit_descriptor {
  uint32_t version;
  uint32_t action_flag;  // 0 none, 1 register, 2 unregister
  jit_code_entry* relevant_entry;
  jit_code_entry* first_entry;
};
__attribute__((noinline, used)) void __jit_debug_register_code() {
  asm volatile("" ::: "memory");
}
__attribute__((used)) jit_descriptor __jit_debug_descriptor = {1, 0, nullptr, nullptr};
}

namespace kiln::detail {

namespace {

std::mutex observers_mutex;

struct NamedCode {
  std::string name;
  uintptr_t address;
  size_t size;
};

std::vector<NamedCode> functions_of(const runtime::Module& module) {
  std::vector<NamedCode> out;
  const runtime::CodeInfo& info = module.code_info();
  for (const runtime::CodeFunction& function : info.functions) {
    std::string name = module.function_name(function.func_index);
    if (name.empty()) name = "wasm-function[" + std::to_string(function.func_index) + "]";
    out.push_back({"wasm::" + name, info.start + function.code_offset, function.code_size});
  }
  return out;
}

uint64_t monotonic_ns() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return uint64_t(now.tv_sec) * 1000000000ull + uint64_t(now.tv_nsec);
}

// ---- perf map: one "START SIZE NAME" line per function (perf reads it by the process id).

void write_perfmap(const std::vector<NamedCode>& functions) {
  const std::string path = perfmap_path();
  FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) return;  // profiling is best effort: it must never fail a compile
  for (const NamedCode& function : functions) {
    std::fprintf(file, "%lx %zx %s\n", (unsigned long)function.address, function.size,
                 function.name.c_str());
  }
  std::fclose(file);
}

// ---- jitdump (perf's format): a header, then one code-load record per function with its
// bytes; the file is mapped executable once so that `perf record` notices it.

struct JitdumpHeader {
  uint32_t magic = 0x4A695444;  // "JiTD"
  uint32_t version = 1;
  uint32_t total_size = sizeof(JitdumpHeader);
  uint32_t elf_mach = EM_X86_64;
  uint32_t pad1 = 0;
  uint32_t pid = 0;
  uint64_t timestamp = 0;
  uint64_t flags = 0;
};
struct JitdumpCodeLoad {
  uint32_t id = 0;  // JIT_CODE_LOAD
  uint32_t total_size = 0;
  uint64_t timestamp = 0;
  uint32_t pid = 0;
  uint32_t tid = 0;
  uint64_t vma = 0;
  uint64_t code_addr = 0;
  uint64_t code_size = 0;
  uint64_t code_index = 0;
};

FILE* jitdump_file() {
  static FILE* file = [] {
    FILE* opened = std::fopen(jitdump_path().c_str(), "w+");
    if (opened == nullptr) return opened;
    JitdumpHeader header;
    header.pid = uint32_t(getpid());
    header.timestamp = monotonic_ns();
    std::fwrite(&header, sizeof(header), 1, opened);
    std::fflush(opened);
    // perf finds the file through this mapping's record in its event stream.
    void* marker = mmap(nullptr, size_t(sysconf(_SC_PAGESIZE)), PROT_READ | PROT_EXEC, MAP_PRIVATE,
                        fileno(opened), 0);
    (void)marker;
    return opened;
  }();
  return file;
}

void write_jitdump(const std::vector<NamedCode>& functions) {
  FILE* file = jitdump_file();
  if (file == nullptr) return;
  static uint64_t next_index = 0;
  for (const NamedCode& function : functions) {
    JitdumpCodeLoad record;
    record.total_size = uint32_t(sizeof(record) + function.name.size() + 1 + function.size);
    record.timestamp = monotonic_ns();
    record.pid = uint32_t(getpid());
    record.tid = uint32_t(syscall(SYS_gettid));
    record.vma = record.code_addr = function.address;
    record.code_size = function.size;
    record.code_index = next_index++;
    std::fwrite(&record, sizeof(record), 1, file);
    std::fwrite(function.name.c_str(), function.name.size() + 1, 1, file);
    std::fwrite(reinterpret_cast<const void*>(function.address), function.size, 1, file);
  }
  std::fflush(file);
}

// ---- GDB: an ELF object with an empty .text at the code's address, a symbol per function and
// call-frame information, so that GDB names wasm frames and unwinds through them.

// Every function Kiln compiles (and each trampoline) keeps the frame-pointer discipline after
// its two-instruction prologue: CFA = rbp + 16, the return address at CFA - 8, the caller's rbp
// at CFA - 16. One CIE says so; each function gets an FDE without further instructions.
std::vector<uint8_t> debug_frame(const std::vector<NamedCode>& functions) {
  std::vector<uint8_t> out;
  auto u8 = [&](uint8_t v) { out.push_back(v); };
  auto u32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(uint8_t(v >> (8 * i)));
  };
  auto u64 = [&](uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(uint8_t(v >> (8 * i)));
  };
  auto pad_and_set_length = [&](size_t start) {
    while ((out.size() - start) % 8 != 0) u8(0);  // DW_CFA_nop
    const uint32_t length = uint32_t(out.size() - start - 4);
    std::memcpy(out.data() + start, &length, 4);
  };
  // CIE
  size_t start = out.size();
  u32(0);                   // length, set below
  u32(0xffffffff);          // CIE id (.debug_frame)
  u8(1);                    // version
  u8(0);                    // augmentation ""
  u8(1);                    // code alignment factor
  u8(0x78);                 // data alignment factor: -8 (sleb128)
  u8(16);                   // return address register: rip
  u8(0x0c), u8(6), u8(16);  // DW_CFA_def_cfa rbp, 16
  u8(0x80 | 16), u8(1);     // DW_CFA_offset rip, CFA - 8
  u8(0x80 | 6), u8(2);      // DW_CFA_offset rbp, CFA - 16
  pad_and_set_length(start);
  for (const NamedCode& function : functions) {
    start = out.size();
    u32(0);  // length
    u32(0);  // the CIE's offset in .debug_frame
    u64(function.address);
    u64(function.size);
    pad_and_set_length(start);
  }
  return out;
}

std::vector<uint8_t> symbol_file(uintptr_t start, uintptr_t end,
                                 const std::vector<NamedCode>& functions) {
  std::string strtab(1, '\0');
  std::vector<Elf64_Sym> symbols(1);  // index 0: the null symbol
  for (const NamedCode& function : functions) {
    Elf64_Sym symbol{};
    symbol.st_name = uint32_t(strtab.size());
    strtab += function.name;
    strtab += '\0';
    symbol.st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
    symbol.st_shndx = 1;  // .text
    symbol.st_value = function.address;
    symbol.st_size = function.size;
    symbols.push_back(symbol);
  }
  const std::vector<uint8_t> frames = debug_frame(functions);
  const std::string shstrtab =
      std::string("\0.text\0.symtab\0.strtab\0.shstrtab\0.debug_frame\0", 46);
  // Layout: ELF header, symbols, strtab, shstrtab, .debug_frame, a copy of the code (BFD, which
  // GDB reads the file with, refuses an executable .text without contents), section headers.
  const size_t symbols_offset = sizeof(Elf64_Ehdr);
  const size_t strtab_offset = symbols_offset + symbols.size() * sizeof(Elf64_Sym);
  const size_t shstrtab_offset = strtab_offset + strtab.size();
  const size_t frames_offset = (shstrtab_offset + shstrtab.size() + 7) & ~size_t(7);
  const size_t code_offset = (frames_offset + frames.size() + 15) & ~size_t(15);
  const size_t headers_offset = (code_offset + (end - start) + 7) & ~size_t(7);
  std::vector<Elf64_Shdr> sections(6);
  sections[1] = {
      1, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, start, code_offset, end - start, 0, 0, 16, 0};
  sections[2] = {
      7, SHT_SYMTAB,       0, 0, symbols_offset, symbols.size() * sizeof(Elf64_Sym), 3, 1,
      8, sizeof(Elf64_Sym)};
  sections[3] = {15, SHT_STRTAB, 0, 0, strtab_offset, strtab.size(), 0, 0, 1, 0};
  sections[4] = {23, SHT_STRTAB, 0, 0, shstrtab_offset, shstrtab.size(), 0, 0, 1, 0};
  sections[5] = {33, SHT_PROGBITS, 0, 0, frames_offset, frames.size(), 0, 0, 8, 0};

  Elf64_Ehdr header{};
  std::memcpy(header.e_ident, ELFMAG, SELFMAG);
  header.e_ident[EI_CLASS] = ELFCLASS64;
  header.e_ident[EI_DATA] = ELFDATA2LSB;
  header.e_ident[EI_VERSION] = EV_CURRENT;
  header.e_type = ET_EXEC;
  header.e_machine = EM_X86_64;
  header.e_version = EV_CURRENT;
  header.e_shoff = headers_offset;
  header.e_ehsize = sizeof(Elf64_Ehdr);
  header.e_shentsize = sizeof(Elf64_Shdr);
  header.e_shnum = uint16_t(sections.size());
  header.e_shstrndx = 4;

  std::vector<uint8_t> out(headers_offset + sections.size() * sizeof(Elf64_Shdr));
  std::memcpy(out.data(), &header, sizeof(header));
  std::memcpy(out.data() + symbols_offset, symbols.data(), symbols.size() * sizeof(Elf64_Sym));
  std::memcpy(out.data() + strtab_offset, strtab.data(), strtab.size());
  std::memcpy(out.data() + shstrtab_offset, shstrtab.data(), shstrtab.size());
  std::memcpy(out.data() + frames_offset, frames.data(), frames.size());
  std::memcpy(out.data() + code_offset, reinterpret_cast<const void*>(start), end - start);
  std::memcpy(out.data() + headers_offset, sections.data(), sections.size() * sizeof(Elf64_Shdr));
  return out;
}

}  // namespace

std::string perfmap_path() {
  return "/tmp/perf-" + std::to_string(getpid()) + ".map";
}
std::string jitdump_path() {
  return "/tmp/jit-" + std::to_string(getpid()) + ".dump";
}

struct GdbRegistration {
  std::vector<uint8_t> symfile;
  jit_code_entry entry{};
};

namespace {

// Registers an object file with GDB; the result unregisters it when the last reference goes.
// Called with observers_mutex held.
std::shared_ptr<GdbRegistration> register_with_gdb(std::vector<uint8_t> symfile) {
  auto* raw = new GdbRegistration;
  raw->symfile = std::move(symfile);
  raw->entry.symfile_addr = reinterpret_cast<const char*>(raw->symfile.data());
  raw->entry.symfile_size = raw->symfile.size();
  raw->entry.next_entry = __jit_debug_descriptor.first_entry;
  if (raw->entry.next_entry) raw->entry.next_entry->prev_entry = &raw->entry;
  __jit_debug_descriptor.first_entry = &raw->entry;
  __jit_debug_descriptor.relevant_entry = &raw->entry;
  __jit_debug_descriptor.action_flag = 1;
  __jit_debug_register_code();
  return std::shared_ptr<GdbRegistration>(raw, [](GdbRegistration* registration) {
    std::lock_guard<std::mutex> lock(observers_mutex);
    jit_code_entry* entry = &registration->entry;
    if (entry->prev_entry) entry->prev_entry->next_entry = entry->next_entry;
    if (entry->next_entry) entry->next_entry->prev_entry = entry->prev_entry;
    if (__jit_debug_descriptor.first_entry == entry)
      __jit_debug_descriptor.first_entry = entry->next_entry;
    __jit_debug_descriptor.relevant_entry = entry;
    __jit_debug_descriptor.action_flag = 2;
    __jit_debug_register_code();
    delete registration;
  });
}

// The entry trampoline and the host-call stub, which every call between the host and wasm
// passes: registered once, for good (they live as long as the process).
void register_trampolines_once() {
  static std::shared_ptr<GdbRegistration> trampolines = [] {
    const runtime::CodeInfo* info =
        runtime::find_code(reinterpret_cast<uintptr_t>(runtime::trampolines().host_stub));
    if (info == nullptr) return std::shared_ptr<GdbRegistration>();
    const std::vector<NamedCode> code = {
        {"kiln::trampolines", info->start, size_t(info->end - info->start)}};
    return register_with_gdb(symbol_file(info->start, info->end, code));
  }();
  (void)trampolines;
}

}  // namespace

std::shared_ptr<GdbRegistration> observe_new_code(const Config::Settings& settings,
                                                  const runtime::Module& module) {
  const bool debugging = settings.debug_info;
  if (settings.profiler == ProfilingStrategy::None && !debugging) return nullptr;
  const std::vector<NamedCode> functions = functions_of(module);
  std::lock_guard<std::mutex> lock(observers_mutex);
  if (settings.profiler == ProfilingStrategy::Perfmap) write_perfmap(functions);
  if (settings.profiler == ProfilingStrategy::Jitdump) write_jitdump(functions);
  if (!debugging) return nullptr;
  register_trampolines_once();
  const runtime::CodeInfo& info = module.code_info();
  return register_with_gdb(symbol_file(info.start, info.end, functions));
}

std::vector<std::pair<std::string, uintptr_t>> gdb_registered_symbols() {
  std::lock_guard<std::mutex> lock(observers_mutex);
  std::vector<std::pair<std::string, uintptr_t>> out;
  for (jit_code_entry* entry = __jit_debug_descriptor.first_entry; entry;
       entry = entry->next_entry) {
    const auto* base = reinterpret_cast<const uint8_t*>(entry->symfile_addr);
    Elf64_Ehdr header;
    std::memcpy(&header, base, sizeof(header));
    const auto* sections = reinterpret_cast<const Elf64_Shdr*>(base + header.e_shoff);
    for (uint16_t i = 0; i < header.e_shnum; ++i) {
      if (sections[i].sh_type != SHT_SYMTAB) continue;
      const Elf64_Shdr& strings = sections[sections[i].sh_link];
      const auto* symbols = reinterpret_cast<const Elf64_Sym*>(base + sections[i].sh_offset);
      const size_t count = sections[i].sh_size / sizeof(Elf64_Sym);
      for (size_t s = 1; s < count; ++s) {
        out.emplace_back(
            reinterpret_cast<const char*>(base + strings.sh_offset + symbols[s].st_name),
            uintptr_t(symbols[s].st_value));
      }
    }
  }
  return out;
}

}  // namespace kiln::detail
