// A WASI command run by an embedder (Wasmtime's examples/wasip1/main.cc, with the module inline):
// arguments, environment and stdout given through WasiConfig, a preopened directory the program
// lists, and proc_exit's status read from the error the call returns. Written as for Wasmtime's
// C++ API: only the include and the namespace alias differ.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include <kiln/kiln.hpp>

namespace wasmtime = kiln;
using namespace wasmtime;

// Prints its arguments' count, reads "greeting.txt" from the directory preopened as fd 3 and
// writes it to stdout, then exits with status 7.
const char* kProgram = R"(
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "greeting.txt")
  (data (i32.const 200) "argc = ?\0a")
  (func (export "_start")
    (drop (call $args_sizes (i32.const 0) (i32.const 4)))
    ;; "argc = N\n": one digit is enough here
    (i32.store8 (i32.const 207) (i32.add (i32.const 48) (i32.load (i32.const 0))))
    (i32.store8 (i32.const 208) (i32.const 10))
    (i32.store (i32.const 16) (i32.const 200))
    (i32.store (i32.const 20) (i32.const 9))
    (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
    ;; open greeting.txt in fd 3 for reading (rights: fd_read), read it, write it out
    (if (call $path_open (i32.const 3) (i32.const 1) (i32.const 100) (i32.const 12) (i32.const 0)
                         (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 8))
      (then (call $proc_exit (i32.const 1))))
    (i32.store (i32.const 16) (i32.const 1024))
    (i32.store (i32.const 20) (i32.const 1024))
    (drop (call $fd_read (i32.load (i32.const 8)) (i32.const 16) (i32.const 1) (i32.const 24)))
    (i32.store (i32.const 20) (i32.load (i32.const 24)))
    (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
    (call $proc_exit (i32.const 7))))
)";

int main() {
  // A directory for the program, holding the file it reads.
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("kiln-wasi-example-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "greeting.txt") << "Hello from a preopened directory!\n";

  Engine engine;
  Linker linker(engine);
  linker.define_wasi().unwrap();
  Module module = Module::compile(engine, kProgram).unwrap();

  Store store(engine);
  WasiConfig wasi;
  wasi.argv({"program", "first", "second"});
  wasi.env({{"GREETING", "hello"}});
  wasi.inherit_stdout();
  wasi.inherit_stderr();
  if (!wasi.preopen_dir(dir.string(), ".", WASMTIME_WASI_DIR_PERMS_READ,
                        WASMTIME_WASI_FILE_PERMS_READ)) {
    std::cerr << "cannot preopen " << dir << "\n";
    return 1;
  }
  store.context().set_wasi(std::move(wasi)).unwrap();

  Instance instance = linker.instantiate(store, module).unwrap();
  Func start = std::get<Func>(*instance.get(store, "_start"));
  std::cout << std::flush;  // the program writes to the same stdout, directly
  auto result = start.call(store, {});
  std::filesystem::remove_all(dir);
  if (result) {
    std::cout << "returned without exiting\n";
    return 1;
  }
  auto& error = result.err();
  if (auto* exit = std::get_if<Error>(&error.data); exit && exit->i32_exit()) {
    std::cout << "exited with status " << *exit->i32_exit() << "\n";
    return 0;
  }
  std::cout << "failed: " << error.message() << "\n";
  return 1;
}
