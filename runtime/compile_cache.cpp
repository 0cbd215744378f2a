#include "runtime/compile_cache.hpp"

#include <fcntl.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <system_error>

#include "runtime/checksum.hpp"
#include "runtime/serialize.hpp"
#include "runtime/sha256.hpp"

namespace kiln::runtime {

namespace {

// An entry starts with this magic and its own key, then the artifact: a file copied or renamed
// under another entry's name is not taken for that entry.
constexpr std::array<uint8_t, 8> kEntryMagic = {0x00, 'k', 'i', 'l', 'n', 'c', 'c', '1'};
constexpr size_t kEntryPrefix = kEntryMagic.size() + sizeof(CompileCache::Key);

// A build from a checkout with changes ("…-dirty") or from outside git has a build id that does
// not follow its sources.
bool build_id_names_the_code() {
  const std::string_view id = kiln_build_id();
  return !id.empty() && !id.ends_with("-dirty");
}

bool write_all(int fd, std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    bytes = bytes.subspan(size_t(written));
  }
  return true;
}

}  // namespace

std::string build_fingerprint() {
  static const std::string fingerprint = [] {
    struct Search {
      uintptr_t address;
      uint64_t hash = 0;
      bool found = false;
    } search{reinterpret_cast<uintptr_t>(&build_fingerprint)};
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* data) {
          auto& s = *static_cast<Search*>(data);
          bool contains = false;
          for (int i = 0; i < info->dlpi_phnum; ++i) {
            const ElfW(Phdr)& ph = info->dlpi_phdr[i];
            const uintptr_t start = info->dlpi_addr + ph.p_vaddr;
            if (ph.p_type == PT_LOAD && s.address >= start && s.address - start < ph.p_memsz)
              contains = true;
          }
          if (!contains) return 0;
          for (int i = 0; i < info->dlpi_phnum; ++i) {
            const ElfW(Phdr)& ph = info->dlpi_phdr[i];
            if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
            const auto* code = reinterpret_cast<const uint8_t*>(info->dlpi_addr + ph.p_vaddr);
            s.hash = xxh64(std::span<const uint8_t>(code, ph.p_filesz), s.hash);
          }
          s.found = true;
          return 1;
        },
        &search);
    if (!search.found) return std::string();
    const uint8_t* bytes = reinterpret_cast<const uint8_t*>(&search.hash);
    return to_hex(std::span<const uint8_t>(bytes, sizeof search.hash));
  }();
  return fingerprint;
}

Result<void> CompileCache::prepare(const std::filesystem::path& directory) {
  std::error_code error;
  const bool created = std::filesystem::create_directories(directory, error);
  if (error) {
    return Error("Config::cache: cannot create the cache directory " + directory.string() + ": " +
                 error.message());
  }
  if (!std::filesystem::is_directory(directory, error)) {
    return Error("Config::cache: " + directory.string() + " is not a directory");
  }
  // Entries hold machine code that runs on a hit: a directory made here is this user's alone.
  // (One that existed keeps its mode; load() checks each entry's owner and mode.)
  if (created) {
    std::filesystem::permissions(directory, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, error);
  }
  return {};
}

CompileCache::Key CompileCache::key(std::span<const uint8_t> wasm, const CodeSettings& settings) {
  static constexpr char kDomain[] = "kiln compile cache 1";
  Sha256 hasher;
  hasher.update(std::span(reinterpret_cast<const uint8_t*>(kDomain), sizeof kDomain));
  const uint64_t size = wasm.size();
  hasher.update(std::span(reinterpret_cast<const uint8_t*>(&size), sizeof size));
  hasher.update(wasm);
  hasher.update(artifact_header_fields(settings));
  const std::string fingerprint = build_id_names_the_code() ? std::string() : build_fingerprint();
  hasher.update(
      std::span(reinterpret_cast<const uint8_t*>(fingerprint.data()), fingerprint.size()));
  return hasher.finish();
}

std::filesystem::path CompileCache::entry_path(const Key& key) const {
  return directory_ / (to_hex(key) + ".kiln");
}

std::optional<std::vector<uint8_t>> CompileCache::load(const Key& key) const {
  const int fd = ::open(entry_path(key).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::vector<uint8_t> bytes;
  struct stat info {};
  const bool trusted = fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_uid == geteuid() &&
                       !(info.st_mode & (S_IWGRP | S_IWOTH)) &&
                       size_t(info.st_size) >= kEntryPrefix;
  if (trusted) {
    bytes.resize(size_t(info.st_size));
    size_t read_so_far = 0;
    while (read_so_far < bytes.size()) {
      const ssize_t got = ::read(fd, bytes.data() + read_so_far, bytes.size() - read_so_far);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      read_so_far += size_t(got);
    }
    bytes.resize(read_so_far);
  }
  ::close(fd);
  if (!trusted || bytes.size() < kEntryPrefix ||
      std::memcmp(bytes.data(), kEntryMagic.data(), kEntryMagic.size()) != 0 ||
      std::memcmp(bytes.data() + kEntryMagic.size(), key.data(), key.size()) != 0) {
    return std::nullopt;
  }
  bytes.erase(bytes.begin(), bytes.begin() + kEntryPrefix);
  return bytes;
}

bool CompileCache::store(const Key& key, std::span<const uint8_t> artifact) const {
  if (!prepare(directory_)) return false;
  static std::atomic<uint64_t> counter{0};
  const std::filesystem::path final_path = entry_path(key);
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) about "." + std::string.
  std::string name = ".";
  name += to_hex(key);
  name += ".tmp." + std::to_string(getpid()) + "." + std::to_string(counter.fetch_add(1));
  const std::filesystem::path temporary = directory_ / name;
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const bool written = write_all(fd, kEntryMagic) && write_all(fd, key) && write_all(fd, artifact);
  const bool closed = ::close(fd) == 0;
  // rename() replaces the entry in one step: readers see the old file or the new, never part of
  // one. (After a crash a file may be short or hold zeros: load's checks and the artifact's
  // checksum refuse it.)
  if (!written || !closed || ::rename(temporary.c_str(), final_path.c_str()) != 0) {
    ::unlink(temporary.c_str());
    return false;
  }
  return true;
}

}  // namespace kiln::runtime
