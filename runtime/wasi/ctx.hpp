// Internals of the WASI library: the descriptor table, guest memory access and errno mapping.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/wasi/abi.hpp"
#include "runtime/wasi/wasi.hpp"

namespace kiln::wasi {

// A host errno as the WASI errno that means the same (EIO for anything without one).
abi::Errno errno_from_host(int host_errno);

// One entry of a directory as fd_readdir reports it.
struct DirEntry {
  std::string name;
  uint64_t ino = 0;
  uint8_t type = abi::kFiletypeUnknown;
};

// A WASI file descriptor: the host descriptor, what the guest may do with it and, for a
// preopened directory, the name the guest knows it by.
struct Descriptor {
  std::shared_ptr<HostFd> host;
  uint8_t filetype = abi::kFiletypeUnknown;
  uint64_t rights_base = 0;
  uint64_t rights_inheriting = 0;
  // The guest's view of the fdflags: set at open; APPEND and NONBLOCK change the host's only
  // for descriptors the context owns (never the inherited standard streams, which the host
  // process shares).
  uint16_t fdflags = 0;
  std::optional<std::string> preopen;  // the guest path of a preopened directory
  // fd_readdir's listing, read when a listing starts (cookie 0) so that cookies stay stable.
  std::vector<DirEntry> listing;
  bool listing_valid = false;

  int fd() const { return host->get(); }
  bool is_directory() const { return filetype == abi::kFiletypeDirectory; }
};

class WasiCtx {
 public:
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::map<uint32_t, Descriptor> fds;

  // The descriptor `fd`, checked for `rights` (EBADF when absent, ENOTCAPABLE when lacking).
  abi::Errno lookup(uint32_t fd, uint64_t rights, Descriptor*& out);
  // The same for a directory that paths are resolved from (ENOTDIR for anything else).
  abi::Errno lookup_dir(uint32_t fd, uint64_t rights, Descriptor*& out);
  // Adds a descriptor under the lowest free number.
  abi::Errno insert(Descriptor descriptor, uint32_t& fd);
};

// The calling instance's linear memory. Every access is checked: a range past the end is
// EFAULT, a misaligned pointer to a structure is EINVAL (as Wasmtime's wiggle layer answers).
class GuestMemory {
 public:
  GuestMemory(std::span<uint8_t> bytes) : bytes_(bytes) {}

  // Whether [ptr, ptr + len) lies inside the memory (64-bit arithmetic: no wrap-around).
  bool contains(uint32_t ptr, uint64_t len) const { return uint64_t(ptr) + len <= bytes_.size(); }
  abi::Errno check(uint32_t ptr, uint64_t len, uint32_t align = 1) const {
    if (align > 1 && ptr % align != 0) return abi::kInval;
    return contains(ptr, len) ? abi::kSuccess : abi::kFault;
  }
  abi::Errno check(uint32_t ptr, abi::Layout layout, uint64_t count = 1) const {
    return check(ptr, uint64_t(layout.size) * count, layout.align);
  }
  // Only after a successful check of the range.
  uint8_t* at(uint32_t ptr) const { return bytes_.data() + ptr; }

  template <typename T>
  T load(uint32_t ptr) const {
    T value;
    std::memcpy(&value, at(ptr), sizeof(T));
    return value;
  }
  template <typename T>
  void store(uint32_t ptr, T value) const {
    std::memcpy(at(ptr), &value, sizeof(T));
  }

  // A guest string (ptr, len) as a host string: EFAULT past the end.
  abi::Errno read_string(uint32_t ptr, uint32_t len, std::string& out) const;

 private:
  std::span<uint8_t> bytes_;
};

}  // namespace kiln::wasi
