// Capability security: a guest reaches only what was preopened. Each test tries one way out
// (`..`, absolute paths, symlinks made by the host or by the guest, a directory swapped for a
// symlink while the guest uses it) and checks it is refused and nothing outside changed.
#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <thread>

#include "tests/wasi/harness.hpp"

using namespace kiln;
using namespace wasi_test;

namespace {

// root/outside/secret (the target of every escape) and root/box (the preopen, fd 3), with
// box/a/f and box/f.
struct Sandbox {
  TempDir root;
  std::string box = root / "box";
  std::string outside = root / "outside";
  Sandbox() {
    std::filesystem::create_directories(outside);
    std::filesystem::create_directories(box + "/a");
    write_file(outside + "/secret", "SECRET");
    write_file(box + "/f", "inside");
    write_file(box + "/a/f", "inside a");
  }
  WasiConfig config() const {
    WasiConfig config;
    REQUIRE(config.preopen_dir(box, "."));
    return config;
  }
  void link(const std::string& target, const std::string& name) const {
    REQUIRE(::symlink(target.c_str(), (box + "/" + name).c_str()) == 0);
  }
  // Nothing outside the box appeared, vanished or changed.
  void check_outside_untouched() const {
    CHECK(read_file(outside + "/secret") == "SECRET");
    size_t entries = 0;
    for (const auto& entry : std::filesystem::directory_iterator(outside)) {
      (void)entry;
      ++entries;
    }
    CHECK(entries == 1);
  }
};

}  // namespace

TEST_CASE("WASI sandbox: `..` and absolute paths", "[wasi][sandbox]") {
  Sandbox s;
  Guest g(s.config());
  CHECK(g.open(3, "../outside/secret") == -kNotcapable);
  CHECK(g.open(3, "..") == -kNotcapable);
  CHECK(g.open(3, "a/../../outside/secret") == -kNotcapable);
  CHECK(g.open(3, "a/../a/../../outside") == -kNotcapable);
  CHECK(g.open(3, "./../box/f") == -kNotcapable);
  CHECK(g.open(3, "/etc/passwd") == -kNotcapable);
  CHECK(g.open(3, "/") == -kNotcapable);
  CHECK(g.open(3, (s.outside + "/secret")) == -kNotcapable);
  // `..` that stays inside is fine.
  int32_t fd = g.open(3, "a/../f");
  REQUIRE(fd >= 0);
  CHECK(g.read(fd, 100) == "inside");
  fd = g.open(3, "a//./f");
  REQUIRE(fd >= 0);
  CHECK(g.read(fd, 100) == "inside a");
  // "." and "a/.." name the preopen itself.
  for (const char* self : {".", "a/..", "./", "a/../."}) {
    INFO(self);
    int32_t dir = g.open(3, self, kOflagDirectory);
    REQUIRE(dir >= 0);
    REQUIRE(g.call("fd_filestat_get", {dir, 512}) == kSuccess);
    struct stat st;
    REQUIRE(::stat(s.box.c_str(), &st) == 0);
    CHECK(g.u64(512 + 8) == uint64_t(st.st_ino));
  }
  // A very deep path is refused before it holds too many host descriptors; `a/..` pairs do not
  // pile up.
  std::string deep;
  for (int i = 0; i < 2000; ++i) deep += "a/../";
  CHECK(g.open(3, deep + "f") >= 0);
  std::string chain = "a";
  for (int i = 0; i < 1100; ++i) chain += "/ina";
  s.link(".", "a/ina");
  CHECK(g.open(3, chain + "/f") == -kLoop);  // each ina is a symlink: 40 at most
  std::string nested = "n";
  for (int i = 0; i < 1100; ++i) nested += "/n";
  {
    // Made one level at a time: the host's own path calls stop at PATH_MAX.
    int fd = ::open(s.box.c_str(), O_RDONLY | O_DIRECTORY);
    for (int i = 0; i <= 1100; ++i) {
      REQUIRE(::mkdirat(fd, "n", 0755) == 0);
      int next = ::openat(fd, "n", O_RDONLY | O_DIRECTORY);
      ::close(fd);
      fd = next;
    }
    ::close(fd);
  }
  CHECK(g.open(3, nested.substr(0, 2 * 1000) + "/") >= 0);  // 1000 levels
  CHECK(g.open(3, nested + "/") == -kNametoolong);
  // A descriptor opened below the preopen is a capability of its own: `..` stops there too.
  int32_t a = g.open(3, "a", kOflagDirectory);
  REQUIRE(a >= 0);
  CHECK(g.open(a, "../f") == -kNotcapable);
  CHECK(g.open(a, "f") >= 0);

  // Every path operation refuses the same escapes.
  CHECK(g.path_call("path_create_directory", 3, "../outside/new") == kNotcapable);
  CHECK(g.path_call("path_unlink_file", 3, "../outside/secret") == kNotcapable);
  CHECK(g.path_call("path_remove_directory", 3, "../outside") == kNotcapable);
  CHECK(g.path_call("path_create_directory", 3, "/tmp/kiln-escape") == kNotcapable);
  g.put(2100, "../outside/secret");
  g.put(2200, "stolen");
  CHECK(g.call("path_link", {3, 0, 2100, 17, 3, 2200, 6}) == kNotcapable);
  CHECK(g.call("path_rename", {3, 2100, 17, 3, 2200, 6}) == kNotcapable);
  g.put(2300, "f");
  g.put(2400, "../outside/f");
  CHECK(g.call("path_rename", {3, 2300, 1, 3, 2400, 12}) == kNotcapable);
  CHECK(g.call("path_link", {3, 0, 2300, 1, 3, 2400, 12}) == kNotcapable);
  CHECK(g.call("path_filestat_get", {3, kFollow, 2100, 17, 512}) == kNotcapable);
  CHECK(g.call("path_filestat_set_times", {3, kFollow, 2100, 17, int64_t(0), int64_t(0), 2}) ==
        kNotcapable);
  CHECK(g.call("path_readlink", {3, 2100, 17, 3000, 100, 1024}) == kNotcapable);
  g.put(2500, "x");
  CHECK(g.call("path_symlink", {2500, 1, 3, 2400, 12}) == kNotcapable);
  s.check_outside_untouched();
  CHECK(std::filesystem::exists(s.box + "/f"));
}

TEST_CASE("WASI sandbox: symlinks the host put inside", "[wasi][sandbox]") {
  Sandbox s;
  s.link(s.outside, "abs");                // absolute, to the outside
  s.link("../outside", "rel");             // relative, to the outside
  s.link("a", "ina");                      // inside
  s.link("..", "a/up");                    // back to the box: inside
  s.link("../..", "a/up2");                // above the box
  s.link("../outside/created", "dangle");  // dangling, outside
  s.link("loop2", "loop1");
  s.link("loop1", "loop2");
  s.link("/etc/passwd", "passwd");
  Guest g(s.config());

  CHECK(g.open(3, "abs/secret") == -kNotcapable);
  CHECK(g.open(3, "abs", kOflagDirectory) == -kNotcapable);
  CHECK(g.open(3, "rel/secret") == -kNotcapable);
  CHECK(g.open(3, "rel") == -kNotcapable);
  CHECK(g.open(3, "a/up2/outside/secret") == -kNotcapable);
  CHECK(g.open(3, "passwd") == -kNotcapable);
  CHECK(g.open(3, "abs/", 0) == -kNotcapable);
  // Not following the last symlink: the link itself, which open refuses (ELOOP).
  CHECK(g.open(3, "abs", 0, kAllRights, /*lookup=*/0) == -kLoop);
  CHECK(g.open(3, "passwd", 0, kAllRights, 0) == -kLoop);
  // Creating through a dangling symlink that points outside creates nothing outside.
  CHECK(g.open(3, "dangle", kOflagCreat) == -kNotcapable);
  CHECK(g.open(3, "dangle", kOflagCreat, kAllRights, 0) == -kLoop);
  CHECK(g.open(3, "loop1") == -kLoop);
  // Symlinks that stay inside work.
  int32_t fd = g.open(3, "ina/f");
  REQUIRE(fd >= 0);
  CHECK(g.read(fd, 100) == "inside a");
  fd = g.open(3, "a/up/f");
  REQUIRE(fd >= 0);
  CHECK(g.read(fd, 100) == "inside");
  fd = g.open(3, "a/up/a/up/ina/f");
  REQUIRE(fd >= 0);
  CHECK(g.read(fd, 100) == "inside a");

  // Other operations: stat follows inside only; the links themselves can be looked at.
  g.put(2100, "abs");
  CHECK(g.call("path_filestat_get", {3, kFollow, 2100, 3, 512}) == kNotcapable);
  REQUIRE(g.call("path_filestat_get", {3, 0, 2100, 3, 512}) == kSuccess);
  CHECK(g.mem()[512 + 16] == 7);
  REQUIRE(g.call("path_readlink", {3, 2100, 3, 3000, 1000, 1024}) == kSuccess);
  CHECK(g.get(3000, g.u32(1024)) == s.outside);
  g.put(2200, "hard");
  CHECK(g.call("path_link", {3, kFollow, 2100, 3, 3, 2200, 4}) == kNotcapable);
  CHECK(g.path_call("path_create_directory", 3, "rel/new") == kNotcapable);
  CHECK(g.path_call("path_unlink_file", 3, "rel/secret") == kNotcapable);
  CHECK(g.path_call("path_unlink_file", 3, "abs/secret") == kNotcapable);
  g.put(2300, "f");
  g.put(2400, "rel/moved");
  CHECK(g.call("path_rename", {3, 2300, 1, 3, 2400, 9}) == kNotcapable);
  CHECK(g.call("path_filestat_set_times", {3, kFollow, 2100, 3, int64_t(0), int64_t(0), 2}) ==
        kNotcapable);
  // Removing a link removes the link, not what it points to.
  CHECK(g.path_call("path_unlink_file", 3, "abs") == kSuccess);
  CHECK(g.path_call("path_unlink_file", 3, "rel") == kSuccess);
  s.check_outside_untouched();
  CHECK_FALSE(std::filesystem::exists(s.outside + "/created"));
}

TEST_CASE("WASI sandbox: symlinks the guest makes", "[wasi][sandbox]") {
  Sandbox s;
  Guest g(s.config());
  auto symlink = [&](const std::string& target, const std::string& name) {
    g.put(2100, target);
    g.put(2300, name);
    return g.call("path_symlink", {2100, int32_t(target.size()), 3, 2300, int32_t(name.size())});
  };
  // Absolute targets are refused outright.
  CHECK(symlink(s.outside, "evil_abs") == kNotcapable);
  CHECK(symlink("/etc", "etc") == kNotcapable);
  CHECK_FALSE(std::filesystem::exists(std::filesystem::symlink_status(s.box + "/evil_abs")));
  // A relative target pointing out can be made, but never followed out.
  REQUIRE(symlink("../outside", "evil") == kSuccess);
  REQUIRE(symlink("../../outside/secret", "a/evil2") == kSuccess);
  CHECK(g.open(3, "evil/secret") == -kNotcapable);
  CHECK(g.open(3, "a/evil2") == -kNotcapable);
  CHECK(g.open(3, "evil", kOflagDirectory) == -kNotcapable);
  CHECK(g.path_call("path_create_directory", 3, "evil/x") == kNotcapable);
  REQUIRE(symlink("evil/secret", "chain") == kSuccess);
  CHECK(g.open(3, "chain") == -kNotcapable);
  CHECK(g.open(3, "chain", kOflagCreat | kOflagTrunc) == -kNotcapable);
  // A symlink to a file inside, then replaced by one to the outside: still refused.
  REQUIRE(symlink("f", "swap") == kSuccess);
  int32_t fd = g.open(3, "swap");
  REQUIRE(fd >= 0);
  CHECK(g.read(fd, 100) == "inside");
  REQUIRE(g.path_call("path_unlink_file", 3, "swap") == kSuccess);
  REQUIRE(symlink("../outside/secret", "swap") == kSuccess);
  CHECK(g.open(3, "swap") == -kNotcapable);
  // Renaming a directory that holds an escaping link deeper does not help it.
  REQUIRE(g.path_call("path_create_directory", 3, "deep") == kSuccess);
  REQUIRE(g.path_call("path_create_directory", 3, "deep/er") == kSuccess);
  REQUIRE(symlink("../../../outside/secret", "deep/er/link") == kSuccess);
  CHECK(g.open(3, "deep/er/link") == -kNotcapable);
  s.check_outside_untouched();
}

TEST_CASE("WASI sandbox: a directory swapped for a symlink while the guest walks it",
          "[wasi][sandbox]") {
  Sandbox s;
  // box/d is, turn by turn, a real directory holding f ("inside") and a symlink to the outside
  // (which holds secret, and f = "TOP SECRET" for this test). The swap is an atomic rename.
  write_file(s.outside + "/f", "TOP SECRET");
  std::filesystem::create_directory(s.box + "/d");
  write_file(s.box + "/d/f", "inside");
  std::filesystem::create_directory(s.root / "spare_dir");
  write_file(s.root / "spare_dir/f", "inside");
  REQUIRE(::symlink(s.outside.c_str(), (s.root / "spare_link").c_str()) == 0);
  Guest g(s.config());

  std::atomic<bool> stop{false};
  std::thread swapper([&] {
    const std::string d = s.box + "/d";
    bool link_in_place = false;
    while (!stop.load()) {
      // Put the other one in place of box/d, keeping the one taken out aside.
      const std::string incoming = link_in_place ? s.root / "spare_dir" : s.root / "spare_link";
      const std::string parked = link_in_place ? s.root / "spare_link" : s.root / "spare_dir";
      if (::rename(d.c_str(), (s.root / "parked").c_str()) != 0) continue;
      ::rename(incoming.c_str(), d.c_str());
      ::rename((s.root / "parked").c_str(), parked.c_str());
      link_in_place = !link_in_place;
    }
  });
  int inside = 0, refused = 0, other = 0;
  for (int i = 0; i < 3000; ++i) {
    int32_t fd = g.open(3, "d/f");
    if (fd >= 0) {
      auto text = g.read(fd, 100);
      REQUIRE(text);
      CHECK(*text == "inside");  // never "TOP SECRET"
      ++inside;
      REQUIRE(g.call("fd_close", {fd}) == kSuccess);
    } else if (fd == -kNotcapable) {
      ++refused;
    } else {
      ++other;  // ENOENT while the swap is half done
    }
    g.put(2100, "d/f");
    if (g.call("path_filestat_get", {3, kFollow, 2100, 3, 512}) == kSuccess)
      CHECK(g.u64(512 + 32) == 6);  // "inside", not "TOP SECRET"
  }
  stop = true;
  swapper.join();
  INFO("inside " << inside << ", refused " << refused << ", other " << other);
  CHECK(inside + refused + other == 3000);
  CHECK(read_file(s.outside + "/f") == "TOP SECRET");
  CHECK(read_file(s.outside + "/secret") == "SECRET");
}
