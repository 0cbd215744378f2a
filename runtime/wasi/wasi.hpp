// WASI preview1 (`wasi_snapshot_preview1`) on a POSIX host: the state one store's programs share
// (arguments, environment, the descriptor table with its preopened directories) and the imports.
//
// This library knows nothing of stores, instances or the JIT: a call gets the calling instance's
// linear memory as a byte span and its arguments as the runtime's 8-byte slots, and returns an
// errno, an exit request or a trap message. The public API (api/wasi.cpp) wires it to
// `Linker::define_wasi` and `Store::Context::set_wasi`, so the dependency runs one way
// (runtime/wasi -> api) and the same code could serve any other embedding.
//
// The guest is hostile: every pointer and length is checked against the memory before use (an
// error, EFAULT, never a host fault), and paths resolve component by component inside the
// directory they start from (runtime/wasi/path.hpp), so no `..`, absolute path or symlink reaches
// outside a preopened directory.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/error.hpp"

namespace kiln::wasi {

// A host file descriptor, closed on destruction when owned (the inherited stdio ones are not).
class HostFd {
 public:
  HostFd(int fd, bool owned) : fd_(fd), owned_(owned) {}
  HostFd(const HostFd&) = delete;
  HostFd& operator=(const HostFd&) = delete;
  ~HostFd();
  int get() const { return fd_; }
  bool owned() const { return owned_; }

 private:
  int fd_;
  bool owned_;
};

// Permissions of a preopened directory (Wasmtime's WASMTIME_WASI_{DIR,FILE}_PERMS_*): READ lets
// the guest list and read, WRITE lets it create, change and remove.
constexpr uint32_t kPermsRead = 1;
constexpr uint32_t kPermsWrite = 2;

// What a WasiConfig says; files and directories are opened when the config is written, so a
// missing one is reported there.
struct Settings {
  std::vector<std::string> args;
  std::vector<std::string> env;  // "NAME=VALUE"
  enum class StdioKind : uint8_t { Null, Inherit, File };
  struct Stdio {
    StdioKind kind = StdioKind::Null;
    std::shared_ptr<HostFd> file;  // StdioKind::File
  };
  std::array<Stdio, 3> stdio;
  struct Preopen {
    std::shared_ptr<HostFd> dir;
    std::string guest_path;
    uint32_t dir_perms = kPermsRead | kPermsWrite;
    uint32_t file_perms = kPermsRead | kPermsWrite;
  };
  std::vector<Preopen> preopens;
  // Listening sockets handed to the guest under a chosen descriptor number (sock_accept on
  // them gives connections).
  struct Socket {
    std::shared_ptr<HostFd> socket;
    uint32_t guest_fd = 0;
  };
  std::vector<Socket> sockets;
};

// Opens `path` for stdin (reading) or stdout/stderr (writing: created or truncated).
Result<std::shared_ptr<HostFd>> open_stdio_file(const std::string& path, bool for_writing);
// Opens the host directory `path` to be preopened.
Result<std::shared_ptr<HostFd>> open_directory(const std::string& path);
// A TCP socket bound to `host_port` ("127.0.0.1:8080", "[::1]:0", "localhost:8080") and
// listening, to be preopened; the error names the address and the reason.
Result<std::shared_ptr<HostFd>> listen_tcp(const std::string& host_port);
// The port a bound socket listens on (0 when it is not an IP socket).
uint16_t local_port(const HostFd& socket);
// The host process's own arguments and environment (for inherit_argv / inherit_env).
std::vector<std::string> host_args();
std::vector<std::string> host_env();

// One store's WASI state. Fails when two preopened sockets, or a socket and a standard stream,
// ask for the same descriptor number (directories take the numbers left free after them).
class WasiCtx;
Result<std::shared_ptr<WasiCtx>> make_ctx(Settings settings);

// One import of `wasi_snapshot_preview1`: its name and wasm signature (each parameter 'i' for
// i32 or 'I' for i64; the result is one i32 errno unless the function returns nothing).
struct Import {
  std::string_view name;
  std::string_view params;
  bool returns_errno;
};
std::span<const Import> imports();

// What a call did: returned an errno (written to slot 0), asked to exit the program with a
// status, or trapped (the guest broke a rule that has no errno, e.g. no memory export).
struct Outcome {
  enum class Kind : uint8_t { Return, Exit, Trap };
  Kind kind = Kind::Return;
  int32_t exit_status = 0;
  std::string trap_message;
};

// Calls import `index` (of imports()) with its arguments in `slots` (one per parameter); the
// errno goes to slots[0]. `memory` is the calling instance's "memory" export, if it has one.
Outcome call(WasiCtx& ctx, size_t index, std::span<uint8_t> memory, bool has_memory,
             uint64_t* slots);

}  // namespace kiln::wasi
