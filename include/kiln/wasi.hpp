// WasiConfig: what a store's WASI preview1 programs see (Wasmtime's `wasi.hh`).
//
//   WasiConfig wasi;
//   wasi.inherit_stdout();
//   wasi.argv({"prog", "input.txt"});
//   if (!wasi.preopen_dir("data", ".", WASMTIME_WASI_DIR_PERMS_READ,
//                         WASMTIME_WASI_FILE_PERMS_READ)) { ... }
//   store.context().set_wasi(std::move(wasi)).unwrap();   // the store's WASI state
//   linker.define_wasi().unwrap();                         // imports that read it
//
// A guest reaches only the preopened directories, with the permissions given: paths are
// resolved inside them (no `..`, absolute path or symlink leads out). `proc_exit` ends the call
// with an Error whose `i32_exit()` holds the status; the host process never exits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kiln/error.hpp"

// Permissions of preopen_dir, under Wasmtime's C API names (and Kiln's).
#ifndef WASMTIME_WASI_DIR_PERMS_READ
#define WASMTIME_WASI_DIR_PERMS_READ 1
#define WASMTIME_WASI_DIR_PERMS_WRITE 2
#define WASMTIME_WASI_FILE_PERMS_READ 1
#define WASMTIME_WASI_FILE_PERMS_WRITE 2
#endif

namespace kiln {

namespace wasi {
struct Settings;
}

// Directory permissions: list and look up (READ); create, rename and remove entries (WRITE).
constexpr size_t WASI_DIR_PERMS_READ = 1;
constexpr size_t WASI_DIR_PERMS_WRITE = 2;
// File permissions for files opened below a preopened directory.
constexpr size_t WASI_FILE_PERMS_READ = 1;
constexpr size_t WASI_FILE_PERMS_WRITE = 2;

// Move-only; consumed by Store::Context::set_wasi. By default a program gets no arguments, no
// environment, an empty stdin, discarded stdout/stderr and no directories.
class WasiConfig {
 public:
  WasiConfig();
  WasiConfig(WasiConfig&&) noexcept;
  WasiConfig& operator=(WasiConfig&&) noexcept;
  ~WasiConfig();

  // argv[0] included, as the program sees it.
  void argv(const std::vector<std::string>& args);
  void inherit_argv();
  void env(const std::vector<std::pair<std::string, std::string>>& vars);
  void inherit_env();

  // Files are opened now (stdout/stderr created or truncated): false when that fails.
  [[nodiscard]] bool stdin_file(const std::string& path);
  void inherit_stdin();
  [[nodiscard]] bool stdout_file(const std::string& path);
  void inherit_stdout();
  [[nodiscard]] bool stderr_file(const std::string& path);
  void inherit_stderr();

  // Gives the guest the host directory `host_path` under the name `guest_path` ("." for the
  // current directory, "/data", ...). The directory is opened now: false when that fails.
  // Perms are WASMTIME_WASI_DIR_PERMS_* and WASMTIME_WASI_FILE_PERMS_* (bitwise or).
  [[nodiscard]] bool preopen_dir(const std::string& host_path, const std::string& guest_path,
                                 size_t dir_perms, size_t file_perms);
  // Older Wasmtime's form: read and write.
  [[nodiscard]] bool preopen_dir(const std::string& host_path, const std::string& guest_path);

  // A TCP listener bound to `host_port` ("127.0.0.1:8080", "[::1]:8080", "localhost:0")
  // given to the guest as descriptor `fd_num`, where sock_accept takes connections from it.
  // Bound now: false when that fails. Pick a number past the preopened directories (3 plus
  // their count, or more): wasi-libc looks for directories from descriptor 3 up and stops at
  // the first descriptor that is not one.
  [[nodiscard]] bool preopen_socket(uint32_t fd_num, const std::string& host_port);
  // The same, saying why it failed, and returning the port bound (useful with port 0).
  Result<uint16_t> preopen_tcp_listener(uint32_t fd_num, const std::string& host_port);

  // Kiln internals: the settings, taken by set_wasi.
  std::unique_ptr<wasi::Settings> take_settings();

 private:
  std::unique_ptr<wasi::Settings> settings_;
};

}  // namespace kiln
