#include "runtime/code_memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace kiln::runtime {

namespace {

size_t page_size() {
  static const size_t size = size_t(sysconf(_SC_PAGESIZE));
  return size;
}

}  // namespace

CodeMemory& CodeMemory::operator=(CodeMemory&& other) noexcept {
  if (this != &other) {
    if (base_) munmap(base_, size_);
    base_ = other.base_;
    size_ = other.size_;
    sealed_ = other.sealed_;
    other.base_ = nullptr;
    other.size_ = 0;
    other.sealed_ = false;
  }
  return *this;
}

CodeMemory::~CodeMemory() {
  if (base_) munmap(base_, size_);
}

Result<CodeMemory> CodeMemory::allocate(size_t size) {
  const size_t page = page_size();
  if (size == 0) size = 1;
  if (size > (size_t(1) << 40)) return Error("code size too large: " + std::to_string(size));
  size_t rounded = (size + page - 1) / page * page;
  // Every page is written right away (the code, then int3 padding): populating the mapping in
  // one call is cheaper than taking a page fault per page.
  void* base = mmap(nullptr, rounded, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (base == MAP_FAILED) {
    return Error("cannot map " + std::to_string(rounded) +
                 " bytes for compiled code: " + std::strerror(errno));
  }
  CodeMemory memory;
  memory.base_ = static_cast<uint8_t*>(base);
  memory.size_ = rounded;
  return memory;
}

Result<CodeMemory> CodeMemory::from_bytes(std::span<const uint8_t> code) {
  auto memory = allocate(code.size());
  if (!memory) return memory;
  std::memcpy(memory.ok().writable().data(), code.data(), code.size());
  if (auto sealed = memory.ok().seal(); !sealed) return std::move(sealed).err();
  return memory;
}

std::span<uint8_t> CodeMemory::writable() {
  if (sealed_ || !base_) return {};
  return {base_, size_};
}

Result<void> CodeMemory::seal() {
  if (sealed_) return {};
  // On machines with split instruction caches (AArch64) the new code must be made visible to
  // instruction fetch; on x86-64 this is a no-op.
  __builtin___clear_cache(reinterpret_cast<char*>(base_), reinterpret_cast<char*>(base_ + size_));
  if (mprotect(base_, size_, PROT_READ | PROT_EXEC) != 0) {
    return Error(std::string("cannot make compiled code executable: ") + std::strerror(errno));
  }
  sealed_ = true;
  return {};
}

}  // namespace kiln::runtime
