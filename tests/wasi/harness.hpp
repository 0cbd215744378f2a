// A guest for the WASI tests: a module importing every wasi_snapshot_preview1 function (with the
// signature witx gives it, written out here independently of the library, so a wrong signature
// fails to link) and exporting a wasm wrapper for each, so tests call WASI as wasm code does and
// then look at memory and the host file system.
#pragma once

#include <unistd.h>
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "kiln/kiln.hpp"

namespace wasi_test {

// errno values from the witx (checked by number, not through the library's own constants).
enum : int32_t {
  kSuccess = 0,
  kAcces = 2,
  kAgain = 6,
  kBadf = 8,
  kExist = 20,
  kFault = 21,
  kIlseq = 25,
  kInval = 28,
  kIsdir = 31,
  kLoop = 32,
  kNametoolong = 37,
  kNoent = 44,
  kNotconn = 53,
  kNotdir = 54,
  kNotempty = 55,
  kNotsock = 57,
  kNotsup = 58,
  kPerm = 63,
  kSpipe = 70,
  kNotcapable = 76,
};

// rights, oflags, lookupflags as the witx numbers them.
constexpr int64_t kRightFdRead = 1 << 1;
constexpr int64_t kRightFdSeek = 1 << 2;
constexpr int64_t kRightFdWrite = 1 << 6;
constexpr int64_t kRightFdReaddir = 1 << 14;
constexpr int64_t kAllRights = (int64_t(1) << 30) - 1;
constexpr int32_t kOflagCreat = 1, kOflagDirectory = 2, kOflagExcl = 4, kOflagTrunc = 8;
constexpr int32_t kFollow = 1;

struct Signature {
  const char* name;
  const char* params;  // 'i' i32, 'I' i64
  bool returns_errno;
};

inline const std::vector<Signature>& signatures() {
  static const std::vector<Signature> all = {
      {"args_get", "ii", true},
      {"args_sizes_get", "ii", true},
      {"environ_get", "ii", true},
      {"environ_sizes_get", "ii", true},
      {"clock_res_get", "ii", true},
      {"clock_time_get", "iIi", true},
      {"fd_advise", "iIIi", true},
      {"fd_allocate", "iII", true},
      {"fd_close", "i", true},
      {"fd_datasync", "i", true},
      {"fd_fdstat_get", "ii", true},
      {"fd_fdstat_set_flags", "ii", true},
      {"fd_fdstat_set_rights", "iII", true},
      {"fd_filestat_get", "ii", true},
      {"fd_filestat_set_size", "iI", true},
      {"fd_filestat_set_times", "iIIi", true},
      {"fd_pread", "iiiIi", true},
      {"fd_prestat_get", "ii", true},
      {"fd_prestat_dir_name", "iii", true},
      {"fd_pwrite", "iiiIi", true},
      {"fd_read", "iiii", true},
      {"fd_readdir", "iiiIi", true},
      {"fd_renumber", "ii", true},
      {"fd_seek", "iIii", true},
      {"fd_sync", "i", true},
      {"fd_tell", "ii", true},
      {"fd_write", "iiii", true},
      {"path_create_directory", "iii", true},
      {"path_filestat_get", "iiiii", true},
      {"path_filestat_set_times", "iiiiIIi", true},
      {"path_link", "iiiiiii", true},
      {"path_open", "iiiiiIIii", true},
      {"path_readlink", "iiiiii", true},
      {"path_remove_directory", "iii", true},
      {"path_rename", "iiiiii", true},
      {"path_symlink", "iiiii", true},
      {"path_unlink_file", "iii", true},
      {"poll_oneoff", "iiii", true},
      {"proc_exit", "i", false},
      {"proc_raise", "i", true},
      {"sched_yield", "", true},
      {"random_get", "ii", true},
      {"sock_accept", "iii", true},
      {"sock_recv", "iiiiii", true},
      {"sock_send", "iiiii", true},
      {"sock_shutdown", "ii", true},
  };
  return all;
}

// The module: every import, a wrapper export per import, and (unless `with_memory` is false) one
// page of memory exported as "memory".
inline std::string guest_wat(bool with_memory = true) {
  std::ostringstream imports, wrappers;
  for (const Signature& s : signatures()) {
    std::string params, args;
    for (size_t i = 0; s.params[i]; ++i) {
      params += s.params[i] == 'I' ? " i64" : " i32";
      args += " (local.get " + std::to_string(i) + ")";
    }
    const std::string type = (params.empty() ? "" : " (param" + params + ")") +
                             std::string(s.returns_errno ? " (result i32)" : "");
    imports << "  (import \"wasi_snapshot_preview1\" \"" << s.name << "\" (func $" << s.name << type
            << "))\n";
    wrappers << "  (func (export \"" << s.name << "\")" << type << " (call $" << s.name << args
             << "))\n";
  }
  return "(module\n" + imports.str() + (with_memory ? "  (memory (export \"memory\") 1)\n" : "") +
         wrappers.str() + ")";
}

// A directory removed with everything in it when the test ends.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "kiln-wasi-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline void write_file(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary);
  out << contents;
}

class Guest {
 public:
  explicit Guest(kiln::WasiConfig config, bool with_memory = true)
      : store_(engine_), linker_(engine_) {
    REQUIRE(store_.context().set_wasi(std::move(config)));
    REQUIRE(linker_.define_wasi());
    auto module = kiln::Module::compile(engine_, guest_wat(with_memory));
    if (!module) FAIL(module.err().message());
    auto instance = linker_.instantiate(store_, module.ok());
    if (!instance) FAIL(instance.err().message());
    instance_ = instance.ok();
    if (with_memory) memory_ = std::get<kiln::Memory>(*instance_->get(store_, "memory"));
  }

  // Calls the WASI function `name` through wasm; the errno (or the failure).
  kiln::TrapResult<std::vector<kiln::Val>> try_call(const std::string& name,
                                                    std::vector<kiln::Val> args) {
    auto item = instance_->get(store_, name);
    REQUIRE(item);
    return std::get<kiln::Func>(*item).call(store_, args);
  }
  int32_t call(const std::string& name, std::vector<kiln::Val> args) {
    auto result = try_call(name, std::move(args));
    if (!result) FAIL(name << ": " << result.err().message());
    REQUIRE(result.ok().size() == 1);
    return result.ok()[0].i32();
  }

  uint8_t* mem() { return memory_->data(store_).data(); }
  size_t mem_size() { return memory_->data(store_).size(); }
  // Puts `text` at `offset`; returns its length (for (ptr, len) arguments).
  int32_t put(uint32_t offset, const std::string& text) {
    std::memcpy(mem() + offset, text.data(), text.size());
    return int32_t(text.size());
  }
  std::string get(uint32_t offset, size_t length) {
    return std::string(reinterpret_cast<const char*>(mem() + offset), length);
  }
  uint32_t u32(uint32_t offset) {
    uint32_t v;
    std::memcpy(&v, mem() + offset, 4);
    return v;
  }
  uint64_t u64(uint32_t offset) {
    uint64_t v;
    std::memcpy(&v, mem() + offset, 8);
    return v;
  }
  uint16_t u16(uint32_t offset) {
    uint16_t v;
    std::memcpy(&v, mem() + offset, 2);
    return v;
  }
  void set_u32(uint32_t offset, uint32_t v) { std::memcpy(mem() + offset, &v, 4); }
  void set_u64(uint32_t offset, uint64_t v) { std::memcpy(mem() + offset, &v, 8); }
  void set_u16(uint32_t offset, uint16_t v) { std::memcpy(mem() + offset, &v, 2); }
  void set_u8(uint32_t offset, uint8_t v) { mem()[offset] = v; }

  // path_open below `dirfd` with the path placed at 2048; the new descriptor or -errno.
  int32_t open(int32_t dirfd, const std::string& path, int32_t oflags = 0,
               int64_t rights = kAllRights, int32_t lookup = kFollow, int32_t fdflags = 0) {
    int32_t len = put(2048, path);
    int32_t e =
        call("path_open", {dirfd, lookup, 2048, len, oflags, rights, kAllRights, fdflags, 1024});
    return e == kSuccess ? int32_t(u32(1024)) : -e;
  }
  // fd_write of `text` (placed at 4096, one iovec at 1040); bytes written or -errno.
  int32_t write(int32_t fd, const std::string& text) {
    put(4096, text);
    set_u32(1040, 4096);
    set_u32(1044, uint32_t(text.size()));
    int32_t e = call("fd_write", {fd, 1040, 1, 1048});
    return e == kSuccess ? int32_t(u32(1048)) : -e;
  }
  // fd_read of up to `max` bytes into 8192; the bytes, or nullopt and `error` set.
  std::optional<std::string> read(int32_t fd, uint32_t max, int32_t* error = nullptr) {
    set_u32(1040, 8192);
    set_u32(1044, max);
    int32_t e = call("fd_read", {fd, 1040, 1, 1048});
    if (error) *error = e;
    if (e != kSuccess) return std::nullopt;
    return get(8192, u32(1048));
  }
  // A path operation taking (fd, path, len): path_create_directory, path_unlink_file, ...
  int32_t path_call(const std::string& name, int32_t fd, const std::string& path) {
    int32_t len = put(2048, path);
    return call(name, {fd, 2048, len});
  }

  kiln::Store& store() { return store_; }

 private:
  kiln::Engine engine_;
  kiln::Store store_;
  kiln::Linker linker_;
  std::optional<kiln::Instance> instance_;
  std::optional<kiln::Memory> memory_;
};

}  // namespace wasi_test
