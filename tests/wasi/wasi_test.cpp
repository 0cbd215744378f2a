// WASI preview1 through the public API: each function called from wasm, its results in memory
// and on the host, and its errno for bad descriptors, pointers, lengths and flags.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <chrono>
#include <set>

#include "tests/wasi/harness.hpp"

using namespace kiln;
using namespace wasi_test;

namespace {
constexpr uint32_t kPastEnd = 65536;  // the guest has one page: this is the first byte outside
}

TEST_CASE("WASI: the imports link with the witx signatures", "[wasi]") {
  Engine engine;
  Linker linker(engine);
  REQUIRE(linker.define_wasi());
  Store store(engine);
  for (const Signature& s : signatures()) {
    auto item = linker.get(store, "wasi_snapshot_preview1", s.name);
    INFO(s.name);
    REQUIRE(item);
    FuncType type = std::get<Func>(*item).type(store);
    REQUIRE(type.params().size() == std::strlen(s.params));
    for (size_t i = 0; s.params[i]; ++i)
      CHECK(type.params()[i].kind() == (s.params[i] == 'I' ? ValKind::I64 : ValKind::I32));
    CHECK(type.results().size() == (s.returns_errno ? 1u : 0u));
  }
  // Defining twice is a duplicate, as for any name.
  CHECK_FALSE(linker.define_wasi());
}

TEST_CASE("WASI: args and environ", "[wasi]") {
  WasiConfig config;
  config.argv({"prog", "one", ""});
  config.env({{"A", "1"}, {"EMPTY", ""}});
  Guest g(std::move(config));

  REQUIRE(g.call("args_sizes_get", {100, 104}) == kSuccess);
  CHECK(g.u32(100) == 3);
  CHECK(g.u32(104) == 10);  // "prog\0one\0\0"
  REQUIRE(g.call("args_get", {200, 300}) == kSuccess);
  CHECK(g.u32(200) == 300);
  CHECK(g.u32(204) == 305);
  CHECK(g.u32(208) == 309);
  CHECK(g.get(300, 10) == std::string("prog\0one\0\0", 10));

  REQUIRE(g.call("environ_sizes_get", {100, 104}) == kSuccess);
  CHECK(g.u32(100) == 2);
  CHECK(g.u32(104) == 11);  // "A=1\0EMPTY=\0"
  REQUIRE(g.call("environ_get", {200, 300}) == kSuccess);
  CHECK(g.get(g.u32(200), 4) == std::string("A=1\0", 4));
  CHECK(g.get(g.u32(204), 7) == std::string("EMPTY=\0", 7));

  // Bad pointers: past the end is EFAULT, a misaligned u32 EINVAL; nothing is written.
  CHECK(g.call("args_sizes_get", {int32_t(kPastEnd), 104}) == kFault);
  CHECK(g.call("args_sizes_get", {100, int32_t(kPastEnd - 2)}) == kInval);
  CHECK(g.call("args_sizes_get", {101, 104}) == kInval);
  CHECK(g.call("args_get", {int32_t(kPastEnd - 8), 300}) == kFault);  // 3 pointers need 12
  CHECK(g.call("args_get", {200, int32_t(kPastEnd - 9)}) == kFault);  // the strings need 10
  CHECK(g.call("args_get", {-4, 300}) == kFault);                     // 0xfffffffc
  CHECK(g.call("environ_get", {202, 300}) == kInval);
  CHECK(g.call("args_get", {200, int32_t(kPastEnd - 10)}) == kSuccess);  // exactly fits
}

TEST_CASE("WASI: no arguments and no environment by default", "[wasi]") {
  Guest g{WasiConfig()};
  REQUIRE(g.call("args_sizes_get", {100, 104}) == kSuccess);
  CHECK(g.u32(100) == 0);
  CHECK(g.u32(104) == 0);
  REQUIRE(g.call("environ_sizes_get", {100, 104}) == kSuccess);
  CHECK(g.u32(100) == 0);
  // stdout and stderr are open (and discard), stdin reads nothing.
  CHECK(g.write(1, "dropped") == 7);
  CHECK(g.read(0, 16) == std::string());
  CHECK(g.call("fd_prestat_get", {3, 100}) == kBadf);
}

TEST_CASE("WASI: clocks", "[wasi]") {
  Guest g{WasiConfig()};
  for (int32_t id = 0; id < 4; ++id) {
    INFO("clock " << id);
    g.set_u64(64, 0);
    REQUIRE(g.call("clock_res_get", {id, 64}) == kSuccess);
    CHECK(g.u64(64) > 0);
    REQUIRE(g.call("clock_time_get", {id, int64_t(1), 72}) == kSuccess);
    const uint64_t first = g.u64(72);
    REQUIRE(g.call("clock_time_get", {id, int64_t(1), 72}) == kSuccess);
    CHECK(g.u64(72) >= first);
  }
  // Realtime is the Unix epoch in nanoseconds.
  REQUIRE(g.call("clock_time_get", {0, int64_t(0), 72}) == kSuccess);
  const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  CHECK(std::llabs(int64_t(g.u64(72)) - now) < 10'000'000'000ll);
  CHECK(g.call("clock_time_get", {4, int64_t(0), 72}) == kInval);
  CHECK(g.call("clock_res_get", {-1, 64}) == kInval);
  CHECK(g.call("clock_time_get", {1, int64_t(0), int32_t(kPastEnd)}) == kFault);
  CHECK(g.call("clock_time_get", {1, int64_t(0), int32_t(kPastEnd - 8)}) == kSuccess);
  CHECK(g.call("clock_time_get", {1, int64_t(0), 68}) == kInval);  // a u64 is 8-aligned
}

TEST_CASE("WASI: random_get, sched_yield, proc_raise", "[wasi]") {
  Guest g{WasiConfig()};
  std::memset(g.mem() + 1000, 0, 256);
  REQUIRE(g.call("random_get", {1000, 256}) == kSuccess);
  int nonzero = 0;
  for (int i = 0; i < 256; ++i) nonzero += g.mem()[1000 + i] != 0;
  CHECK(nonzero > 200);
  CHECK(g.call("random_get", {int32_t(kPastEnd - 10), 11}) == kFault);
  CHECK(g.call("random_get", {int32_t(kPastEnd), 0}) == kSuccess);  // empty, at the end
  CHECK(g.call("random_get", {0, 65536}) == kSuccess);
  CHECK(g.call("sched_yield", {}) == kSuccess);
  CHECK(g.call("proc_raise", {6}) == kNotsup);
}

namespace {

// A host-side TCP client of the guest's listener on 127.0.0.1.
class Client {
 public:
  explicit Client(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    REQUIRE(fd_ >= 0);
    struct sockaddr_in address {};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // The kernel completes the handshake from the listen backlog, before the guest accepts.
    REQUIRE(::connect(fd_, reinterpret_cast<struct sockaddr*>(&address), sizeof address) == 0);
  }
  ~Client() { ::close(fd_); }
  void send(const std::string& text) {
    REQUIRE(::send(fd_, text.data(), text.size(), 0) == ssize_t(text.size()));
  }
  std::string receive(size_t at_most) {
    std::string buffer(at_most, '\0');
    ssize_t got = ::recv(fd_, buffer.data(), at_most, 0);
    REQUIRE(got >= 0);
    buffer.resize(size_t(got));
    return buffer;
  }

 private:
  int fd_;
};

}  // namespace

TEST_CASE("WASI: sockets on descriptors that are not sockets", "[wasi]") {
  Guest g{WasiConfig()};
  CHECK(g.call("sock_accept", {1, 0, 100}) == kNotsock);
  CHECK(g.call("sock_recv", {0, 100, 1, 0, 200, 204}) == kNotsock);
  CHECK(g.call("sock_send", {1, 100, 1, 0, 200}) == kNotsock);
  CHECK(g.call("sock_shutdown", {1, 3}) == kNotsock);
  CHECK(g.call("sock_shutdown", {99, 3}) == kBadf);
  CHECK(g.call("sock_accept", {99, 0, 100}) == kBadf);
}

TEST_CASE("WASI: a preopened TCP listener: accept, recv (peek), send, shutdown", "[wasi]") {
  TempDir dir;
  WasiConfig config;
  auto port = config.preopen_tcp_listener(3, "127.0.0.1:0");
  REQUIRE(port);
  REQUIRE(port.ok() != 0);
  REQUIRE(config.preopen_dir(dir.path(), "."));
  Guest g(std::move(config));

  // The listener is a stream socket at 3; the directory took the next free number.
  REQUIRE(g.call("fd_fdstat_get", {3, 512}) == kSuccess);
  CHECK(g.mem()[512] == 6);  // filetype socket_stream
  CHECK(g.call("fd_prestat_get", {3, 100}) == kBadf);
  CHECK(g.call("fd_prestat_get", {4, 100}) == kSuccess);

  // Nothing pending: accepting from a non-blocking listener says so. (sock_accept's own
  // NONBLOCK flag is the new connection's.)
  REQUIRE(g.call("fd_fdstat_set_flags", {3, 4 /* NONBLOCK */}) == kSuccess);
  CHECK(g.call("sock_accept", {3, 4, 100}) == kAgain);
  REQUIRE(g.call("fd_fdstat_set_flags", {3, 0}) == kSuccess);
  // Flags other than NONBLOCK, and a result outside memory, are refused before accepting.
  CHECK(g.call("sock_accept", {3, 1 /* APPEND */, 100}) == kInval);
  CHECK(g.call("sock_accept", {3, 0, int32_t(kPastEnd)}) == kFault);
  // A listener is not connected.
  g.set_u32(1100, 4000);
  g.set_u32(1104, 16);
  CHECK(g.call("sock_recv", {3, 1100, 1, 0, 200, 204}) == kNotconn);

  Client client(port.ok());
  REQUIRE(g.call("sock_accept", {3, 0, 100}) == kSuccess);
  const int32_t connection = int32_t(g.u32(100));
  CHECK(connection == 5);
  REQUIRE(g.call("fd_fdstat_get", {connection, 512}) == kSuccess);
  CHECK(g.mem()[512] == 6);

  client.send("ping");
  // PEEK leaves the bytes for the next receive; WAITALL waits for the whole buffer.
  g.set_u32(1104, 4);
  REQUIRE(g.call("sock_recv", {connection, 1100, 1, 1 /* PEEK */, 200, 204}) == kSuccess);
  CHECK(g.u32(200) == 4);
  CHECK(g.get(4000, 4) == "ping");
  std::memset(g.mem() + 4000, 0, 4);
  REQUIRE(g.call("sock_recv", {connection, 1100, 1, 2 /* WAITALL */, 200, 204}) == kSuccess);
  CHECK(g.u32(200) == 4);
  CHECK(g.get(4000, 4) == "ping");
  CHECK(g.mem()[204] == 0);  // roflags: nothing truncated
  CHECK(g.call("sock_recv", {connection, 1100, 1, 4, 200, 204}) == kInval);
  CHECK(g.call("sock_recv", {connection, 1100, 1, 0, 200, 205}) == kInval);  // roflags is a u16
  CHECK(g.call("sock_recv", {connection, 1100, 1, 0, int32_t(kPastEnd), 204}) == kFault);

  // Two buffers go out as one message.
  g.put(4100, "po");
  g.put(4200, "ng");
  g.set_u32(1200, 4100);
  g.set_u32(1204, 2);
  g.set_u32(1208, 4200);
  g.set_u32(1212, 2);
  REQUIRE(g.call("sock_send", {connection, 1200, 2, 0, 300}) == kSuccess);
  CHECK(g.u32(300) == 4);
  CHECK(client.receive(16) == "pong");
  CHECK(g.call("sock_send", {connection, 1200, 2, 1, 300}) == kInval);  // no siflags exist
  g.set_u32(1212, 100000);  // the second buffer runs past the memory
  CHECK(g.call("sock_send", {connection, 1200, 2, 0, 300}) == kFault);

  // Shutting the write side down is end-of-stream for the client.
  CHECK(g.call("sock_shutdown", {connection, 0}) == kInval);
  CHECK(g.call("sock_shutdown", {connection, 4}) == kInval);
  REQUIRE(g.call("sock_shutdown", {connection, 2 /* WR */}) == kSuccess);
  CHECK(client.receive(16).empty());
  REQUIRE(g.call("fd_close", {connection}) == kSuccess);
  CHECK(g.call("sock_send", {connection, 1200, 1, 0, 300}) == kBadf);
}

TEST_CASE("WASI: preopened sockets are refused on taken or bad descriptors and addresses", "[wasi]") {
  WasiConfig config;
  auto stdio = config.preopen_tcp_listener(1, "127.0.0.1:0");
  REQUIRE_FALSE(stdio);
  CHECK_THAT(stdio.err().message(), Catch::Contains("standard stream"));
  for (const char* bad : {"127.0.0.1", "127.0.0.1:65536", ":80", "127.0.0.1:x", "[::1:80"}) {
    INFO(bad);
    auto r = config.preopen_tcp_listener(3, bad);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.err().message(), Catch::Contains(bad));
  }
  CHECK_FALSE(config.preopen_socket(3, "no.such.host.invalid:80"));

  REQUIRE(config.preopen_socket(7, "127.0.0.1:0"));
  REQUIRE(config.preopen_socket(7, "127.0.0.1:0"));
  Engine engine;
  Store store(engine);
  auto set = store.context().set_wasi(std::move(config));
  REQUIRE_FALSE(set);
  CHECK_THAT(set.err().message(), Catch::Contains("descriptor 7 is given twice"));
}

TEST_CASE("WASI: stdio from files, fd_write and fd_read", "[wasi]") {
  TempDir dir;
  write_file(dir / "in.txt", "input bytes");
  WasiConfig config;
  REQUIRE(config.stdin_file(dir / "in.txt"));
  REQUIRE(config.stdout_file(dir / "out.txt"));
  REQUIRE(config.stderr_file(dir / "err.txt"));
  CHECK_FALSE(config.stdin_file(dir / "missing.txt"));
  Guest g(std::move(config));

  CHECK(g.write(1, "hello ") == 6);
  // Two iovecs in one call, one of them empty.
  g.put(4000, "world");
  g.put(4100, "!\n");
  g.set_u32(1100, 4000);
  g.set_u32(1104, 5);
  g.set_u32(1108, 4050);
  g.set_u32(1112, 0);
  g.set_u32(1116, 4100);
  g.set_u32(1120, 2);
  REQUIRE(g.call("fd_write", {1, 1100, 3, 1200}) == kSuccess);
  CHECK(g.u32(1200) == 7);
  CHECK(g.write(2, "oops") == 4);
  CHECK(read_file(dir / "out.txt") == "hello world!\n");
  CHECK(read_file(dir / "err.txt") == "oops");

  // An iovec whose buffer runs past memory: EFAULT, and nothing was written.
  g.set_u32(1100, 4000);
  g.set_u32(1104, 5);
  g.set_u32(1108, kPastEnd - 3);
  g.set_u32(1112, 4);
  CHECK(g.call("fd_write", {1, 1100, 2, 1200}) == kFault);
  g.set_u32(1108, 0xffffffff);  // base + len wraps around 32 bits
  g.set_u32(1112, 2);
  CHECK(g.call("fd_write", {1, 1100, 2, 1200}) == kFault);
  CHECK(g.call("fd_write", {1, int32_t(kPastEnd - 8), 2, 1200}) == kFault);  // the iovec array
  CHECK(g.call("fd_write", {1, 1102, 1, 1200}) == kInval);                   // iovecs are 4-aligned
  CHECK(g.call("fd_write", {1, 1100, 1, int32_t(kPastEnd)}) == kFault);
  CHECK(g.call("fd_write", {1, 1100, 0x20000000, 1200}) == kFault);  // count * 8 overflows u32
  CHECK(read_file(dir / "out.txt") == "hello world!\n");
  CHECK(g.write(7, "x") == -kBadf);
  CHECK(g.write(0, "x") == -kNotcapable);  // stdin is not writable

  CHECK(g.read(0, 5) == "input");
  CHECK(g.read(0, 100) == " bytes");
  CHECK(g.read(0, 100) == "");
  CHECK(g.read(1, 1) == std::nullopt);
  g.set_u32(1040, kPastEnd - 1);
  g.set_u32(1044, 2);
  CHECK(g.call("fd_read", {0, 1040, 1, 1048}) == kFault);
}

TEST_CASE("WASI: preopens and fd_prestat", "[wasi]") {
  TempDir dir;
  WasiConfig config;
  REQUIRE(config.preopen_dir(dir.path(), "/sandbox"));
  CHECK_FALSE(config.preopen_dir(dir / "missing", "x"));
  Guest g(std::move(config));
  REQUIRE(g.call("fd_prestat_get", {3, 100}) == kSuccess);
  CHECK(g.mem()[100] == 0);  // a directory
  CHECK(g.u32(104) == 8);
  REQUIRE(g.call("fd_prestat_dir_name", {3, 200, 8}) == kSuccess);
  CHECK(g.get(200, 8) == "/sandbox");
  CHECK(g.call("fd_prestat_dir_name", {3, 200, 7}) == kNametoolong);
  CHECK(g.call("fd_prestat_dir_name", {3, int32_t(kPastEnd - 4), 8}) == kFault);
  CHECK(g.call("fd_prestat_get", {4, 100}) == kBadf);
  CHECK(g.call("fd_prestat_get", {1, 100}) == kBadf);  // open, but not a preopen
  CHECK(g.call("fd_prestat_get", {3, 102}) == kInval);
  CHECK(g.call("fd_prestat_get", {3, int32_t(kPastEnd - 4)}) == kFault);
}

TEST_CASE("WASI: files: open, write, seek, tell, pread, pwrite, filestat, close", "[wasi]") {
  TempDir dir;
  WasiConfig config;
  REQUIRE(config.preopen_dir(dir.path(), "."));
  Guest g(std::move(config));

  int32_t fd = g.open(3, "data.txt", kOflagCreat | kOflagExcl);
  REQUIRE(fd == 4);
  CHECK(g.write(fd, "0123456789") == 10);
  CHECK(read_file(dir / "data.txt") == "0123456789");
  CHECK(g.open(3, "data.txt", kOflagCreat | kOflagExcl) == -kExist);

  // fd_tell, fd_seek with each whence.
  REQUIRE(g.call("fd_tell", {fd, 64}) == kSuccess);
  CHECK(g.u64(64) == 10);
  REQUIRE(g.call("fd_seek", {fd, int64_t(2), 0, 64}) == kSuccess);
  CHECK(g.u64(64) == 2);
  REQUIRE(g.call("fd_seek", {fd, int64_t(3), 1, 64}) == kSuccess);
  CHECK(g.u64(64) == 5);
  REQUIRE(g.call("fd_seek", {fd, int64_t(-1), 2, 64}) == kSuccess);
  CHECK(g.u64(64) == 9);
  CHECK(g.read(fd, 10) == "9");
  CHECK(g.call("fd_seek", {fd, int64_t(0), 3, 64}) == kInval);
  CHECK(g.call("fd_seek", {fd, int64_t(-100), 1, 64}) == kInval);
  CHECK(g.call("fd_seek", {fd, int64_t(0), 0, 65}) == kInval);
  CHECK(g.call("fd_seek", {fd, int64_t(0), 0, int32_t(kPastEnd)}) == kFault);
  CHECK(g.call("fd_seek", {99, int64_t(0), 0, 64}) == kBadf);

  // pread / pwrite leave the position alone.
  g.set_u32(1040, 8192);
  g.set_u32(1044, 4);
  REQUIRE(g.call("fd_pread", {fd, 1040, 1, int64_t(3), 1048}) == kSuccess);
  CHECK(g.u32(1048) == 4);
  CHECK(g.get(8192, 4) == "3456");
  g.put(4096, "AB");
  g.set_u32(1040, 4096);
  g.set_u32(1044, 2);
  REQUIRE(g.call("fd_pwrite", {fd, 1040, 1, int64_t(0), 1048}) == kSuccess);
  CHECK(g.u32(1048) == 2);
  REQUIRE(g.call("fd_tell", {fd, 64}) == kSuccess);
  CHECK(g.u64(64) == 10);
  CHECK(read_file(dir / "data.txt") == "AB23456789");
  CHECK(g.call("fd_pread", {fd, 1040, 1, int64_t(-1), 1048}) == kInval);

  // filestat: the host's view.
  REQUIRE(g.call("fd_filestat_get", {fd, 512}) == kSuccess);
  struct stat st;
  REQUIRE(::stat((dir / "data.txt").c_str(), &st) == 0);
  CHECK(g.u64(512 + 8) == uint64_t(st.st_ino));
  CHECK(g.mem()[512 + 16] == 4);  // regular file
  CHECK(g.u64(512 + 24) == 1);
  CHECK(g.u64(512 + 32) == 10);
  CHECK(g.u64(512 + 48) == uint64_t(st.st_mtim.tv_sec) * 1000000000u + st.st_mtim.tv_nsec);
  CHECK(g.call("fd_filestat_get", {fd, 516}) == kInval);
  CHECK(g.call("fd_filestat_get", {fd, int32_t(kPastEnd - 32)}) == kFault);

  REQUIRE(g.call("fd_filestat_set_size", {fd, int64_t(4)}) == kSuccess);
  CHECK(read_file(dir / "data.txt") == "AB23");
  REQUIRE(g.call("fd_filestat_set_times",
                 {fd, int64_t(5'000'000'000), int64_t(7'000'000'123), 1 | 4}) == kSuccess);
  REQUIRE(::stat((dir / "data.txt").c_str(), &st) == 0);
  CHECK(st.st_atim.tv_sec == 5);
  CHECK(st.st_mtim.tv_sec == 7);
  CHECK(st.st_mtim.tv_nsec == 123);
  CHECK(g.call("fd_filestat_set_times", {fd, int64_t(0), int64_t(0), 1 | 2}) == kInval);
  CHECK(g.call("fd_filestat_set_times", {fd, int64_t(0), int64_t(0), 16}) == kInval);
  CHECK(g.call("fd_sync", {fd}) == kSuccess);
  CHECK(g.call("fd_datasync", {fd}) == kSuccess);
  CHECK(g.call("fd_advise", {fd, int64_t(0), int64_t(4), 1}) == kSuccess);
  CHECK(g.call("fd_advise", {fd, int64_t(0), int64_t(4), 6}) == kInval);
  REQUIRE(g.call("fd_allocate", {fd, int64_t(0), int64_t(100)}) == kSuccess);
  CHECK(::stat((dir / "data.txt").c_str(), &st) == 0);
  CHECK(st.st_size == 100);

  // fdstat: a regular file with the rights asked for (within the preopen's).
  REQUIRE(g.call("fd_fdstat_get", {fd, 256}) == kSuccess);
  CHECK(g.mem()[256] == 4);
  CHECK((g.u64(264) & kRightFdWrite) != 0);
  CHECK((g.u64(264) & kRightFdReaddir) == 0);  // not for a file
  CHECK(g.call("fd_fdstat_get", {fd, 260}) == kInval);

  REQUIRE(g.call("fd_close", {fd}) == kSuccess);
  CHECK(g.call("fd_close", {fd}) == kBadf);
  CHECK(g.write(fd, "x") == -kBadf);
  // The lowest free number is reused.
  CHECK(g.open(3, "data.txt") == 4);
}

TEST_CASE("WASI: path_open flags: trunc, append, directory, trailing slash", "[wasi]") {
  TempDir dir;
  write_file(dir / "f.txt", "abcdef");
  std::filesystem::create_directory(dir / "sub");
  WasiConfig config;
  REQUIRE(config.preopen_dir(dir.path(), "."));
  Guest g(std::move(config));

  int32_t fd = g.open(3, "f.txt", 0, kAllRights, kFollow, /*append*/ 1);
  REQUIRE(fd >= 0);
  REQUIRE(g.call("fd_fdstat_get", {fd, 256}) == kSuccess);
  CHECK(g.u16(258) == 1);
  CHECK(g.write(fd, "gh") == 2);
  CHECK(read_file(dir / "f.txt") == "abcdefgh");
  // Clearing APPEND: the next write goes to the position (0 after opening).
  REQUIRE(g.call("fd_fdstat_set_flags", {fd, 0}) == kSuccess);
  REQUIRE(g.call("fd_seek", {fd, int64_t(0), 0, 64}) == kSuccess);
  CHECK(g.write(fd, "X") == 1);
  CHECK(read_file(dir / "f.txt") == "Xbcdefgh");
  CHECK(g.call("fd_fdstat_set_flags", {fd, 2}) == kInval);   // DSYNC cannot change
  CHECK(g.call("fd_fdstat_set_flags", {fd, 64}) == kInval);  // not a flag

  REQUIRE(g.open(3, "f.txt", kOflagTrunc) >= 0);
  CHECK(read_file(dir / "f.txt").empty());
  CHECK(g.open(3, "f.txt", kOflagDirectory) == -kNotdir);
  CHECK(g.open(3, "f.txt/") == -kNotdir);
  CHECK(g.open(3, "sub", kOflagDirectory | kOflagCreat) == -kInval);
  CHECK(g.open(3, "nothing.txt") == -kNoent);
  CHECK(g.open(3, "sub", 0, kRightFdWrite) == -kIsdir);
  int32_t sub = g.open(3, "sub/", kOflagDirectory);
  REQUIRE(sub >= 0);
  REQUIRE(g.call("fd_fdstat_get", {sub, 256}) == kSuccess);
  CHECK(g.mem()[256] == 3);                 // directory
  CHECK((g.u64(264) & kRightFdRead) == 0);  // not a file right
  // Files opened relative to the new descriptor.
  REQUIRE(g.open(sub, "inner.txt", kOflagCreat) >= 0);
  CHECK(std::filesystem::exists(dir / "sub/inner.txt"));
  CHECK(g.open(1, "x") == -kNotdir);  // stdout is no directory

  // Bad flags, paths and pointers.
  CHECK(g.open(3, "f.txt", 16) == -kInval);
  CHECK(g.open(3, "f.txt", 0, kAllRights, 2) == -kInval);
  CHECK(g.open(3, "f.txt", 0, kAllRights, kFollow, 32) == -kInval);
  CHECK(g.open(3, "f.txt", 0, int64_t(1) << 40) == -kInval);
  CHECK(g.open(3, "") == -kNoent);
  CHECK(g.open(3, std::string("f.txt\0x", 7)) == -kInval);
  CHECK(g.open(3, "\xff\xfe") == -kIlseq);
  CHECK(g.open(3, "\xc0\xaf") == -kIlseq);  // an overlong '/'
  CHECK(g.call("path_open", {3, 1, int32_t(kPastEnd - 2), 5, 0, kAllRights, kAllRights, 0, 1024}) ==
        kFault);
  g.put(2048, "f.txt");
  CHECK(g.call("path_open", {3, 1, 2048, 5, 0, kAllRights, kAllRights, 0, int32_t(kPastEnd)}) ==
        kFault);
  CHECK(g.call("path_open", {3, 1, 2048, 5, 0, kAllRights, kAllRights, 0, 1026}) == kInval);
  CHECK(g.call("path_open", {9, 1, 2048, 5, 0, kAllRights, kAllRights, 0, 1024}) == kBadf);
}

TEST_CASE("WASI: directories: create, readdir with cookies, rename, unlink, remove", "[wasi]") {
  TempDir dir;
  WasiConfig config;
  REQUIRE(config.preopen_dir(dir.path(), "."));
  Guest g(std::move(config));

  REQUIRE(g.path_call("path_create_directory", 3, "d") == kSuccess);
  CHECK(std::filesystem::is_directory(dir / "d"));
  CHECK(g.path_call("path_create_directory", 3, "d") == kExist);
  CHECK(g.path_call("path_create_directory", 3, "missing/d") == kNoent);
  for (int i = 0; i < 20; ++i) write_file(dir / ("d/file" + std::to_string(i)), "x");

  int32_t d = g.open(3, "d", kOflagDirectory);
  REQUIRE(d >= 0);
  // Read the listing through a small buffer, entry by entry, following d_next cookies.
  std::set<std::string> names;
  std::vector<std::string> order;
  uint64_t cookie = 0;
  for (int round = 0; round < 100; ++round) {
    REQUIRE(g.call("fd_readdir", {d, 16384, 200, int64_t(cookie), 1024}) == kSuccess);
    const uint32_t used = g.u32(1024);
    uint32_t at = 0;
    bool progressed = false;
    while (at + 24 <= used) {
      const uint32_t namlen = g.u32(16384 + at + 16);
      if (at + 24 + namlen > used) break;  // cut short: ask again from its cookie
      names.insert(g.get(16384 + at + 24, namlen));
      order.push_back(g.get(16384 + at + 24, namlen));
      cookie = g.u64(16384 + at);
      at += 24 + namlen;
      progressed = true;
    }
    if (used < 200) break;  // the end
    REQUIRE(progressed);
  }
  CHECK(names.size() == 22);
  CHECK(names.count(".") == 1);
  CHECK(names.count("..") == 1);
  CHECK(names.count("file7") == 1);
  CHECK(order.size() == 22);  // no entry twice
  REQUIRE(order.size() >= 2);
  CHECK(order[0] == ".");
  CHECK(order[1] == "..");
  // A cookie past the end: nothing.
  REQUIRE(g.call("fd_readdir", {d, 16384, 200, int64_t(1000), 1024}) == kSuccess);
  CHECK(g.u32(1024) == 0);
  // The entry type is reported.
  REQUIRE(g.call("fd_readdir", {d, 16384, 4096, int64_t(2), 1024}) == kSuccess);
  CHECK(g.mem()[16384 + 20] == 4);  // a regular file
  CHECK(g.call("fd_readdir", {d, int32_t(kPastEnd - 10), 11, int64_t(0), 1024}) == kFault);
  CHECK(g.call("fd_readdir", {d, 16384, 200, int64_t(0), 1026}) == kInval);
  CHECK(g.call("fd_readdir", {1, 16384, 200, int64_t(0), 1024}) == kNotcapable);

  // Rename, unlink, remove.
  g.put(2048, "d/file1");
  g.put(2100, "d/renamed");
  REQUIRE(g.call("path_rename", {3, 2048, 7, 3, 2100, 9}) == kSuccess);
  CHECK(std::filesystem::exists(dir / "d/renamed"));
  CHECK(g.call("path_rename", {3, 2048, 7, 3, 2100, 9}) == kNoent);
  CHECK(g.path_call("path_unlink_file", 3, "d/renamed") == kSuccess);
  CHECK(g.path_call("path_unlink_file", 3, "d/renamed") == kNoent);
  CHECK(g.path_call("path_unlink_file", 3, "d") == kIsdir);
  CHECK(g.path_call("path_unlink_file", 3, "d/file2/") == kNotdir);
  CHECK(g.path_call("path_remove_directory", 3, "d") == kNotempty);
  CHECK(g.path_call("path_remove_directory", 3, "d/file2") == kNotdir);
  for (int i = 0; i < 20; ++i)
    if (i != 1) REQUIRE(g.path_call("path_unlink_file", 3, "d/file" + std::to_string(i)) == 0);
  CHECK(g.path_call("path_remove_directory", 3, "d/") == kSuccess);
  CHECK_FALSE(std::filesystem::exists(dir / "d"));

  // path_filestat_get, following a symlink or not.
  write_file(dir / "target", "12345");
  REQUIRE(::symlink("target", (dir / "link").c_str()) == 0);
  g.put(2048, "link");
  REQUIRE(g.call("path_filestat_get", {3, kFollow, 2048, 4, 512}) == kSuccess);
  CHECK(g.mem()[512 + 16] == 4);
  CHECK(g.u64(512 + 32) == 5);
  REQUIRE(g.call("path_filestat_get", {3, 0, 2048, 4, 512}) == kSuccess);
  CHECK(g.mem()[512 + 16] == 7);  // the symlink itself
  CHECK(g.call("path_filestat_get", {3, 2, 2048, 4, 512}) == kInval);
  CHECK(g.call("path_filestat_get", {3, 0, 2048, 4, 516}) == kInval);
  CHECK(g.call("path_filestat_get", {3, 0, 2048, 4, int32_t(kPastEnd - 8)}) == kFault);
  REQUIRE(g.call("path_filestat_set_times",
                 {3, kFollow, 2048, 4, int64_t(0), int64_t(9'000'000'000), 4}) == kSuccess);
  struct stat st;
  REQUIRE(::stat((dir / "target").c_str(), &st) == 0);
  CHECK(st.st_mtim.tv_sec == 9);

  // path_readlink, path_link, path_symlink.
  REQUIRE(g.call("path_readlink", {3, 2048, 4, 3000, 100, 1024}) == kSuccess);
  CHECK(g.u32(1024) == 6);
  CHECK(g.get(3000, 6) == "target");
  REQUIRE(g.call("path_readlink", {3, 2048, 4, 3000, 3, 1024}) == kSuccess);
  CHECK(g.u32(1024) == 3);  // truncated, as readlink(2)
  CHECK(g.call("path_readlink", {3, 2048, 4, int32_t(kPastEnd - 2), 3, 1024}) == kFault);
  g.put(2100, "target");
  CHECK(g.call("path_readlink", {3, 2100, 6, 3000, 100, 1024}) == kInval);  // not a link
  g.put(2200, "hard");
  REQUIRE(g.call("path_link", {3, 0, 2100, 6, 3, 2200, 4}) == kSuccess);
  REQUIRE(::stat((dir / "target").c_str(), &st) == 0);
  CHECK(st.st_nlink == 2);
  g.put(2300, "viasym");
  REQUIRE(g.call("path_link", {3, kFollow, 2048, 4, 3, 2300, 6}) == kSuccess);  // link -> target
  CHECK(std::filesystem::is_regular_file(std::filesystem::symlink_status(dir / "viasym")));
  g.put(2400, "sub/x");
  g.put(2500, "newlink");
  REQUIRE(g.call("path_symlink", {2400, 5, 3, 2500, 7}) == kSuccess);
  CHECK(std::filesystem::read_symlink(dir / "newlink") == "sub/x");
  CHECK(g.call("path_symlink", {2400, 5, 3, 2500, 7}) == kExist);
}

TEST_CASE("WASI: fd_renumber and fd_fdstat_set_rights", "[wasi]") {
  TempDir dir;
  write_file(dir / "a", "A");
  write_file(dir / "b", "B");
  WasiConfig config;
  REQUIRE(config.preopen_dir(dir.path(), "."));
  Guest g(std::move(config));
  int32_t a = g.open(3, "a"), b = g.open(3, "b");
  REQUIRE(a == 4);
  REQUIRE(b == 5);
  REQUIRE(g.call("fd_renumber", {a, b}) == kSuccess);
  CHECK(g.read(b, 10) == "A");
  CHECK(g.read(a, 10) == std::nullopt);
  CHECK(g.call("fd_renumber", {a, b}) == kBadf);
  CHECK(g.call("fd_renumber", {b, 42}) == kBadf);

  REQUIRE(g.call("fd_fdstat_set_rights", {b, kRightFdSeek, int64_t(0)}) == kSuccess);
  int32_t error = 0;
  CHECK(g.read(b, 10, &error) == std::nullopt);
  CHECK(error == kNotcapable);
  CHECK(g.call("fd_fdstat_set_rights", {b, kRightFdSeek | kRightFdRead, int64_t(0)}) ==
        kNotcapable);  // rights never grow back
  CHECK(g.call("fd_fdstat_set_rights", {b, int64_t(1) << 31, int64_t(0)}) == kInval);
}

TEST_CASE("WASI: read-only preopens refuse writes", "[wasi]") {
  TempDir dir;
  write_file(dir / "f", "data");
  std::filesystem::create_directory(dir / "d");
  WasiConfig config;
  REQUIRE(config.preopen_dir(dir.path(), ".", WASMTIME_WASI_DIR_PERMS_READ,
                             WASMTIME_WASI_FILE_PERMS_READ));
  Guest g(std::move(config));
  CHECK(g.open(3, "new", kOflagCreat) == -kNotcapable);
  CHECK(g.open(3, "f", kOflagTrunc) == -kNotcapable);
  CHECK(g.open(3, "f", 0, kRightFdRead | kRightFdWrite) == -kNotcapable);
  // Asking for everything but writing gets what the preopen allows.
  int32_t fd = g.open(3, "f", 0, kAllRights & ~kRightFdWrite);
  REQUIRE(fd >= 0);
  CHECK(g.read(fd, 10) == "data");
  CHECK(g.write(fd, "x") == -kNotcapable);
  CHECK(g.call("fd_filestat_set_size", {fd, int64_t(0)}) == kNotcapable);
  CHECK(g.path_call("path_create_directory", 3, "x") == kNotcapable);
  CHECK(g.path_call("path_unlink_file", 3, "f") == kNotcapable);
  CHECK(g.path_call("path_remove_directory", 3, "d") == kNotcapable);
  // ... also below a subdirectory, which inherits the preopen's rights.
  int32_t d = g.open(3, "d", kOflagDirectory);
  REQUIRE(d >= 0);
  CHECK(g.open(d, "new", kOflagCreat) == -kNotcapable);
  CHECK(read_file(dir / "f") == "data");
  CHECK_FALSE(std::filesystem::exists(dir / "new"));
}

TEST_CASE("WASI: poll_oneoff", "[wasi]") {
  TempDir dir;
  write_file(dir / "in", "ready");
  WasiConfig config;
  REQUIRE(config.stdin_file(dir / "in"));
  Guest g(std::move(config));
  auto clock = [&](uint32_t at, uint64_t userdata, uint32_t id, uint64_t timeout, uint16_t flags) {
    std::memset(g.mem() + at, 0, 48);
    g.set_u64(at, userdata);
    g.set_u8(at + 8, 0);
    g.set_u32(at + 16, id);
    g.set_u64(at + 24, timeout);
    g.set_u16(at + 40, flags);
  };
  // One relative 2 ms timeout: it waits, then reports it.
  clock(4096, 77, 1, 2'000'000, 0);
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(g.call("poll_oneoff", {4096, 8192, 1, 1024}) == kSuccess);
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(2));
  REQUIRE(g.u32(1024) == 1);
  CHECK(g.u64(8192) == 77);
  CHECK(g.u16(8192 + 8) == 0);
  CHECK(g.mem()[8192 + 10] == 0);
  // An absolute realtime deadline in the past fires at once.
  clock(4096, 78, 0, 1, 1);
  REQUIRE(g.call("poll_oneoff", {4096, 8192, 1, 1024}) == kSuccess);
  REQUIRE(g.u32(1024) == 1);
  CHECK(g.u64(8192) == 78);
  // An fd that is ready beats a long clock.
  clock(4096, 1, 1, 60'000'000'000ull, 0);
  std::memset(g.mem() + 4096 + 48, 0, 48);
  g.set_u64(4096 + 48, 2);
  g.set_u8(4096 + 48 + 8, 1);  // fd_read
  g.set_u32(4096 + 48 + 16, 0);
  REQUIRE(g.call("poll_oneoff", {4096, 8192, 2, 1024}) == kSuccess);
  REQUIRE(g.u32(1024) == 1);
  CHECK(g.u64(8192) == 2);
  CHECK(g.mem()[8192 + 10] == 1);
  CHECK(g.u64(8192 + 16) == 5);  // bytes available
  // A bad descriptor is an event with its error, reported at once.
  g.set_u32(4096 + 48 + 16, 99);
  REQUIRE(g.call("poll_oneoff", {4096, 8192, 2, 1024}) == kSuccess);
  REQUIRE(g.u32(1024) == 1);
  CHECK(g.u16(8192 + 8) == kBadf);
  // Bad arguments.
  CHECK(g.call("poll_oneoff", {4096, 8192, 0, 1024}) == kInval);
  CHECK(g.call("poll_oneoff", {4100, 8192, 1, 1024}) == kInval);
  CHECK(g.call("poll_oneoff", {int32_t(kPastEnd - 48), 8192, 2, 1024}) == kFault);
  CHECK(g.call("poll_oneoff", {4096, int32_t(kPastEnd - 32), 2, 1024}) == kFault);
  CHECK(g.call("poll_oneoff", {4096, 8192, 0x10000000, 1024}) == kFault);
  g.set_u8(4096 + 8, 3);  // no such event type
  CHECK(g.call("poll_oneoff", {4096, 8192, 1, 1024}) == kInval);
}

TEST_CASE("WASI: proc_exit ends the call with an exit status", "[wasi]") {
  Guest g{WasiConfig()};
  auto exited = g.try_call("proc_exit", {7});
  REQUIRE_FALSE(exited);
  REQUIRE(std::holds_alternative<Error>(exited.err().data));
  const Error& error = std::get<Error>(exited.err().data);
  REQUIRE(error.i32_exit());
  CHECK(*error.i32_exit() == 7);
  CHECK(error.message() == "Exited with i32 exit status 7");
  auto zero = g.try_call("proc_exit", {0});
  REQUIRE_FALSE(zero);
  CHECK(std::get<Error>(zero.err().data).i32_exit() == 0);
  // The store stays usable.
  CHECK(g.call("sched_yield", {}) == kSuccess);
  // Statuses a process cannot report are a trap (as in Wasmtime).
  auto invalid = g.try_call("proc_exit", {126});
  REQUIRE_FALSE(invalid);
  REQUIRE(std::holds_alternative<Trap>(invalid.err().data));
  CHECK(invalid.err().message().find("invalid exit status") != std::string::npos);
  // Ordinary errors have no exit status.
  CHECK_FALSE(Error("x").i32_exit());
}

TEST_CASE("WASI: a module without memory, a store without WASI", "[wasi]") {
  Guest g(WasiConfig(), /*with_memory=*/false);
  CHECK(g.call("sched_yield", {}) == kSuccess);
  CHECK(g.call("fd_close", {0}) == kSuccess);
  auto trapped = g.try_call("fd_write", {1, 0, 0, 0});
  REQUIRE_FALSE(trapped);
  REQUIRE(std::holds_alternative<Trap>(trapped.err().data));
  CHECK(trapped.err().message().find("no memory") != std::string::npos);

  Engine engine;
  Store store(engine);
  Linker linker(engine);
  REQUIRE(linker.define_wasi());
  auto module = Module::compile(engine, guest_wat());
  REQUIRE(module);
  auto instance = linker.instantiate(store, module.ok());
  REQUIRE(instance);
  auto called =
      std::get<Func>(*instance.ok().get(store, "sched_yield")).call(store, std::vector<Val>{});
  REQUIRE_FALSE(called);
  CHECK(called.err().message().find("set_wasi") != std::string::npos);

  WasiConfig used;
  REQUIRE(store.context().set_wasi(std::move(used)));
  auto yielded =
      std::get<Func>(*instance.ok().get(store, "sched_yield")).call(store, std::vector<Val>{});
  REQUIRE(yielded);
  CHECK(yielded.ok()[0].i32() == 0);
}

TEST_CASE("WASI: proc_exit from a command's _start through a host call chain", "[wasi]") {
  Engine engine;
  Store store(engine);
  WasiConfig config;
  REQUIRE(store.context().set_wasi(std::move(config)));
  Linker linker(engine);
  REQUIRE(linker.define_wasi());
  auto module = Module::compile(engine, R"((module
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (memory (export "memory") 1)
    (func $deep (param i32) (if (local.get 0) (then (call $deep (i32.sub (local.get 0) (i32.const 1))))
                                          (else (call $exit (i32.const 42)))))
    (func (export "_start") (call $deep (i32.const 50)) unreachable)))");
  REQUIRE(module);
  auto instance = linker.instantiate(store, module.ok());
  REQUIRE(instance);
  auto run = std::get<Func>(*instance.ok().get(store, "_start")).call(store, std::vector<Val>{});
  REQUIRE_FALSE(run);
  REQUIRE(std::holds_alternative<Error>(run.err().data));
  CHECK(std::get<Error>(run.err().data).i32_exit() == 42);
  // Again: the exit status does not linger in the store.
  auto again = std::get<Func>(*instance.ok().get(store, "_start")).call(store, std::vector<Val>{});
  REQUIRE_FALSE(again);
  CHECK(std::get<Error>(again.err().data).i32_exit() == 42);
}
