// The functions of `wasi_snapshot_preview1`.
//
// Each checks its arguments in the order a guest can observe: flags and enums (EINVAL), the
// descriptor and its rights (EBADF, ENOTCAPABLE), then every pointer it will write or read
// (EFAULT past the end of memory, EINVAL when misaligned), and only then acts, so a call that
// fails on a bad pointer has changed nothing.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <limits>
#include <optional>

#include "runtime/wasi/ctx.hpp"
#include "runtime/wasi/fs.hpp"
#include "runtime/wasi/path.hpp"

namespace kiln::wasi {

namespace {

using abi::Errno;
namespace R = abi::rights;

// One call's view: the context, the memory and the raw arguments.
struct Call {
  WasiCtx& ctx;
  GuestMemory mem;
  const uint64_t* args;
  uint32_t u32(int i) const { return uint32_t(args[i]); }
  uint64_t u64(int i) const { return args[i]; }
};

Errno host_error() {
  return errno_from_host(errno);
}

// Host calls retried while a signal interrupts them.
template <typename F>
auto retry(F f) {
  decltype(f()) result;
  do {
    result = f();
  } while (result < 0 && errno == EINTR);
  return result;
}

bool clock_of(uint32_t id, clockid_t& out) {
  switch (id) {
    case abi::kClockRealtime:
      out = CLOCK_REALTIME;
      return true;
    case abi::kClockMonotonic:
      out = CLOCK_MONOTONIC;
      return true;
    case abi::kClockProcessCputime:
      out = CLOCK_PROCESS_CPUTIME_ID;
      return true;
    case abi::kClockThreadCputime:
      out = CLOCK_THREAD_CPUTIME_ID;
      return true;
    default:
      return false;
  }
}

uint64_t to_nanoseconds(const struct timespec& ts) {
  if (ts.tv_sec < 0) return 0;
  return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

struct timespec to_timespec(uint64_t ns) {
  struct timespec ts;
  ts.tv_sec = time_t(ns / 1'000'000'000u);
  ts.tv_nsec = long(ns % 1'000'000'000u);
  return ts;
}

// ---- args and environ

Errno strings_sizes_get(Call& c, const std::vector<std::string>& strings) {
  const uint32_t count_ptr = c.u32(0), size_ptr = c.u32(1);
  if (Errno e = c.mem.check(count_ptr, abi::kU32)) return e;
  if (Errno e = c.mem.check(size_ptr, abi::kU32)) return e;
  uint64_t bytes = 0;
  for (const std::string& s : strings) bytes += s.size() + 1;
  if (bytes > UINT32_MAX || strings.size() > UINT32_MAX) return abi::kOverflow;
  c.mem.store<uint32_t>(count_ptr, uint32_t(strings.size()));
  c.mem.store<uint32_t>(size_ptr, uint32_t(bytes));
  return abi::kSuccess;
}

Errno strings_get(Call& c, const std::vector<std::string>& strings) {
  const uint32_t pointers = c.u32(0), buffer = c.u32(1);
  uint64_t bytes = 0;
  for (const std::string& s : strings) bytes += s.size() + 1;
  if (Errno e = c.mem.check(pointers, abi::kU32, strings.size())) return e;
  if (Errno e = c.mem.check(buffer, bytes)) return e;
  uint32_t offset = buffer;  // stays below the memory's size: checked above
  for (size_t i = 0; i < strings.size(); ++i) {
    c.mem.store<uint32_t>(pointers + uint32_t(4 * i), offset);
    std::memcpy(c.mem.at(offset), strings[i].data(), strings[i].size());
    c.mem.at(offset)[strings[i].size()] = 0;
    offset += uint32_t(strings[i].size() + 1);
  }
  return abi::kSuccess;
}

Errno args_sizes_get(Call& c) {
  return strings_sizes_get(c, c.ctx.args);
}
Errno args_get(Call& c) {
  return strings_get(c, c.ctx.args);
}
Errno environ_sizes_get(Call& c) {
  return strings_sizes_get(c, c.ctx.env);
}
Errno environ_get(Call& c) {
  return strings_get(c, c.ctx.env);
}

// ---- clocks, randomness, scheduling

Errno clock_res_get(Call& c) {
  clockid_t clock;
  if (!clock_of(c.u32(0), clock)) return abi::kInval;
  const uint32_t out = c.u32(1);
  if (Errno e = c.mem.check(out, abi::kU64)) return e;
  struct timespec ts;
  if (::clock_getres(clock, &ts) != 0) return host_error();
  c.mem.store<uint64_t>(out, to_nanoseconds(ts));
  return abi::kSuccess;
}

Errno clock_time_get(Call& c) {
  clockid_t clock;
  if (!clock_of(c.u32(0), clock)) return abi::kInval;
  const uint32_t out = c.u32(2);  // argument 1 is the precision, a hint
  if (Errno e = c.mem.check(out, abi::kU64)) return e;
  struct timespec ts;
  if (::clock_gettime(clock, &ts) != 0) return host_error();
  c.mem.store<uint64_t>(out, to_nanoseconds(ts));
  return abi::kSuccess;
}

Errno random_get(Call& c) {
  const uint32_t buffer = c.u32(0), length = c.u32(1);
  if (Errno e = c.mem.check(buffer, length)) return e;
  uint32_t done = 0;
  while (done < length) {
    ssize_t got = ::getrandom(c.mem.at(buffer + done), length - done, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return host_error();
    }
    done += uint32_t(got);
  }
  return abi::kSuccess;
}

Errno sched_yield(Call&) {
  ::sched_yield();
  return abi::kSuccess;
}

// ---- descriptors

// The guest's iovec array as host iovecs, each range checked. Linux takes at most IOV_MAX
// buffers at once; more make a short transfer, which callers of read/write must handle anyway.
Errno gather_iovecs(Call& c, uint32_t iovs, uint32_t count, std::vector<struct iovec>& out) {
  if (Errno e = c.mem.check(iovs, abi::kIovec, count)) return e;
  out.clear();
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t buf = c.mem.load<uint32_t>(iovs + 8 * i);
    const uint32_t len = c.mem.load<uint32_t>(iovs + 8 * i + 4);
    if (!c.mem.contains(buf, len)) return abi::kFault;
    if (len == 0 || out.size() == IOV_MAX) continue;
    out.push_back({c.mem.at(buf), len});
  }
  return abi::kSuccess;
}

// Offsets and sizes arrive as u64; the host's off_t is signed.
bool fits_off_t(uint64_t value) {
  return value <= uint64_t(std::numeric_limits<off_t>::max());
}

Errno transfer(Call& c, uint64_t rights, bool positioned, bool writing) {
  Descriptor* d;
  if (Errno e = c.ctx.lookup(c.u32(0), rights, d)) return e;
  const uint32_t iovs = c.u32(1), count = c.u32(2);
  const uint64_t offset = positioned ? c.u64(3) : 0;
  const uint32_t result = c.u32(positioned ? 4 : 3);
  if (positioned && !fits_off_t(offset)) return abi::kInval;
  if (Errno e = c.mem.check(result, abi::kU32)) return e;
  std::vector<struct iovec> buffers;
  if (Errno e = gather_iovecs(c, iovs, count, buffers)) return e;
  ssize_t done = 0;
  if (!buffers.empty()) {
    const int fd = d->fd();
    const int n = int(buffers.size());
    done = retry([&] {
      if (positioned) {
        return writing ? ::pwritev(fd, buffers.data(), n, off_t(offset))
                       : ::preadv(fd, buffers.data(), n, off_t(offset));
      }
      return writing ? ::writev(fd, buffers.data(), n) : ::readv(fd, buffers.data(), n);
    });
    if (done < 0) return host_error();
  }
  c.mem.store<uint32_t>(result, uint32_t(done));
  return abi::kSuccess;
}

Errno fd_read(Call& c) {
  return transfer(c, R::kFdRead, false, false);
}
Errno fd_write(Call& c) {
  return transfer(c, R::kFdWrite, false, true);
}
Errno fd_pread(Call& c) {
  return transfer(c, R::kFdRead | R::kFdSeek, true, false);
}
Errno fd_pwrite(Call& c) {
  return transfer(c, R::kFdWrite | R::kFdSeek, true, true);
}

Errno fd_seek(Call& c) {
  const int64_t offset = int64_t(c.u64(1));
  const uint32_t whence = c.u32(2), result = c.u32(3);
  if (whence > abi::kWhenceEnd) return abi::kInval;
  // Asking where we are is telling, not seeking.
  const uint64_t needed = offset == 0 && whence == abi::kWhenceCur ? R::kFdTell : R::kFdSeek;
  Descriptor* d;
  if (Errno e = c.ctx.lookup(c.u32(0), needed, d)) return e;
  if (Errno e = c.mem.check(result, abi::kU64)) return e;
  static constexpr int kWhence[] = {SEEK_SET, SEEK_CUR, SEEK_END};
  off_t position = ::lseek(d->fd(), off_t(offset), kWhence[whence]);
  if (position < 0) return host_error();
  c.mem.store<uint64_t>(result, uint64_t(position));
  return abi::kSuccess;
}

Errno fd_tell(Call& c) {
  Descriptor* d;
  if (Errno e = c.ctx.lookup(c.u32(0), R::kFdTell, d)) return e;
  const uint32_t result = c.u32(1);
  if (Errno e = c.mem.check(result, abi::kU64)) return e;
  off_t position = ::lseek(d->fd(), 0, SEEK_CUR);
  if (position < 0) return host_error();
  c.mem.store<uint64_t>(result, uint64_t(position));
  return abi::kSuccess;
}

Errno fd_close(Call& c) {
  auto found = c.ctx.fds.find(c.u32(0));
  if (found == c.ctx.fds.end()) return abi::kBadf;
  c.ctx.fds.erase(found);  // the host descriptor closes with its last owner
  return abi::kSuccess;
}

Errno fd_sync(Call& c) {
  Descriptor* d;
  if (Errno e = c.ctx.lookup(c.u32(0), R::kFdSync, d)) return e;
  return ::fsync(d->fd()) == 0 ? abi::kSuccess : host_error();
}

Errno fd_datasync(Call& c) {
  Descriptor* d;
  if (Errno e = c.ctx.lookup(c.u32(0), R::kFdDatasync, d)) return e;
  return ::fdatasync(d->fd()) == 0 ? abi::kSuccess : host_error();
}

Errno fd_advise(Call& c) {
  const uint64_t offset = c.u64(1), length = c.u64(2);
  const uint32_t advice = c.u32(3);
  if (advice > abi::kAdviceMax) return abi::kInval;
  Descriptor* d;
  if (Errno e = c.ctx.lookup(c.u32(0), R::kFdAdvise, d)) return e;
  if (!fits_off_t(offset) || !fits_off_t(length)) return abi::kInval;
  static constexpr int kAdvice[] = {POSIX_FADV_NORMAL,   POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                                    POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED,   POSIX_FADV_NOREUSE};
  int error = ::posix_fadvise(d->fd(), off_t(offset), off_t(length), kAdvice[advice]);
  return errno_from_host(error);
}

Errno fd_allocate(Call& c) {
  const uint64_t offset = c.u64(1), length = c.u64(2);
  Descriptor* d;
  if (Errno e = c.ctx.lookup(c.u32(0), R::kFdAllocate, d)) return e;
  if (!fits_off_t(offset) || !fits_off_t(length) || length == 0) return abi::kInval;
  int error = ::posix_fallocate(d->fd(), off_t(offset), off_t(length));
  return errno_from_host(error);
}

Errno fd_fdstat_get(Call& c) {
  Descriptor* d;
  if (Errno e = c.ctx.lookup(c.u32(0), 0, d)) return e;
  const uint32_t out = c.u32(1);
  if (Errno e = c.mem.check(out, abi::kFdstat)) return e;
  std::memset(c.mem.at(out), 0, abi::kFdstat.size);
  c.mem.store<uint8_t>(out, d->filetype);
  c.mem.store<uint16_t>(out + 2, d->fdflags);
  c.mem.store<uint64_t>(out + 8, d->rights_base);
  c.mem.store<uint64_t>(out + 16, d->rights_inheriting);
  return abi::kSuccess;
}

Errno fd_fdstat_set_flags(Call& c) {
  const uint32_t flags = c.u32(1);
  if (flags & ~abi::kFdflagsAll) return abi::kInval;
  Descriptor* d;
  if (Errno e = c.ctx.lookup(c.u32(0), R::kFdFdstatSetFlags, d)) return e;
  // Only APPEND and NONBLOCK can change on an open descriptor (as in Wasmtime).
  if (flags & (abi::kFdflagDsync | abi::kFdflagRsync | abi::kFdflagSync)) return abi::kInval;
  if (d->host->owned()) {
    int host = ::fcntl(d->fd(), F_GETFL);
    if (host < 0) return host_error();
    host &= ~(O_APPEND | O_NONBLOCK);
    if (flags & abi::kFdflagAppend) host |= O_APPEND;
    if (flags & abi::kFdflagNonblock) host |= O_NONBLOCK;
    if (::fcntl(d->fd(), F_SETFL, host) != 0) return host_error();
  }
  d->fdflags = uint16_t((d->fdflags & ~(abi::kFdflagAppend | abi::kFdflagNonblock)) | flags);
  return abi::kSuccess;
}

Errno fd_fdstat_set_rights(Call& c) {
  const uint64_t base = c.u64(1), inheriting = c.u64(2);
  if ((base | inheriting) & ~R::kAll) return abi::kInval;
  Descriptor* d;
  if (Errno e = c.ctx.lookup(c.u32(0), 0, d)) return e;
  // Rights only ever shrink.
  if ((base & ~d->rights_base) || (inheriting & ~d->rights_inheriting)) return abi::kNotcapable;
  d->rights_base = base;
  d->rights_inheriting = inheriting;
  return abi::kSuccess;
}

void store_filestat(const GuestMemory& mem, uint32_t out, const struct stat& st) {
  std::memset(mem.at(out), 0, abi::kFilestat.size);
  mem.store<uint64_t>(out, uint64_t(st.st_dev));
  mem.store<uint64_t>(out + 8, uint64_t(st.st_ino));
  mem.store<uint8_t>(out + 16, filetype_from_mode(st.st_mode));
  mem.store<uint64_t>(out + 24, uint64_t(st.st_nlink));
  mem.store<uint64_t>(out + 32, uint64_t(st.st_size));
  mem.store<uint64_t>(out + 40, to_nanoseconds(st.st_atim));
  mem.store<uint64_t>(out + 48, to_nanoseconds(st.st_mtim));
  mem.store<uint64_t>(out + 56, to_nanoseconds(st.st_ctim));
}

Errno fd_filestat_get(Call& c) {
  Descriptor* d;
  if (Errno e = c.ctx.lookup(c.u32(0), R::kFdFilestatGet, d)) return e;
  const uint32_t out = c.u32(1);
  if (Errno e = c.mem.check(out, abi::kFilestat)) return e;
  struct stat st;
  if (::fstat(d->fd(), &st) != 0) return host_error();
  store_filestat(c.mem, out, st);
  return abi::kSuccess;
}

Errno fd_filestat_set_size(Call& c) {
  const uint64_t size = c.u64(1);
  Descriptor* d;
  if (Errno e = c.ctx.lookup(c.u32(0), R::kFdFilestatSetSize, d)) return e;
  if (!fits_off_t(size)) return abi::kInval;
  return retry([&] { return ::ftruncate(d->fd(), off_t(size)); }) == 0 ? abi::kSuccess
                                                                       : host_error();
}

// fstflags to utimensat's pair: each time set to a value, to now, or left alone.
Errno times_of(uint64_t atim, uint64_t mtim, uint32_t flags, struct timespec (&out)[2]) {
  if (flags & ~abi::kFstflagsAll) return abi::kInval;
  if ((flags & abi::kFstAtim) && (flags & abi::kFstAtimNow)) return abi::kInval;
  if ((flags & abi::kFstMtim) && (flags & abi::kFstMtimNow)) return abi::kInval;
  auto one = [](uint64_t value, bool set, bool now) {
    struct timespec ts {};
    if (now) {
      ts.tv_nsec = UTIME_NOW;
    } else if (set) {
      ts = to_timespec(value);
    } else {
      ts.tv_nsec = UTIME_OMIT;
    }
    return ts;
  };
  out[0] = one(atim, flags & abi::kFstAtim, flags & abi::kFstAtimNow);
  out[1] = one(mtim, flags & abi::kFstMtim, flags & abi::kFstMtimNow);
  return abi::kSuccess;
}

Errno fd_filestat_set_times(Call& c) {
  struct timespec times[2];
  if (Errno e = times_of(c.u64(1), c.u64(2), c.u32(3), times)) return e;
  Descriptor* d;
  if (Errno e = c.ctx.lookup(c.u32(0), R::kFdFilestatSetTimes, d)) return e;
  return ::futimens(d->fd(), times) == 0 ? abi::kSuccess : host_error();
}

Errno fd_prestat_get(Call& c) {
  Descriptor* d;
  if (Errno e = c.ctx.lookup(c.u32(0), 0, d)) return e;
  if (!d->preopen) return abi::kBadf;
  const uint32_t out = c.u32(1);
  if (Errno e = c.mem.check(out, abi::kPrestat)) return e;
  std::memset(c.mem.at(out), 0, abi::kPrestat.size);
  c.mem.store<uint8_t>(out, abi::kPreopentypeDir);
  c.mem.store<uint32_t>(out + 4, uint32_t(d->preopen->size()));
  return abi::kSuccess;
}

Errno fd_prestat_dir_name(Call& c) {
  Descriptor* d;
  if (Errno e = c.ctx.lookup(c.u32(0), 0, d)) return e;
  if (!d->preopen) return abi::kBadf;
  const uint32_t out = c.u32(1), length = c.u32(2);
  if (length < d->preopen->size()) return abi::kNametoolong;
  if (Errno e = c.mem.check(out, d->preopen->size())) return e;
  std::memcpy(c.mem.at(out), d->preopen->data(), d->preopen->size());
  return abi::kSuccess;
}

Errno fd_renumber(Call& c) {
  const uint32_t from = c.u32(0), to = c.u32(1);
  auto source = c.ctx.fds.find(from);
  auto target = c.ctx.fds.find(to);
  if (source == c.ctx.fds.end() || target == c.ctx.fds.end()) return abi::kBadf;
  if (from == to) return abi::kSuccess;
  target->second = std::move(source->second);
  c.ctx.fds.erase(source);
  return abi::kSuccess;
}

// Lists a directory from its start without moving the descriptor's own position.
Errno read_listing(Descriptor& d) {
  int fd = ::openat(d.fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return host_error();
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    Errno e = host_error();
    ::close(fd);
    return e;
  }
  std::vector<DirEntry> entries, dots;
  errno = 0;
  while (struct dirent* entry = ::readdir(dir)) {
    DirEntry out;
    out.name = entry->d_name;
    out.ino = entry->d_ino;
    switch (entry->d_type) {
      case DT_REG:
        out.type = abi::kFiletypeRegularFile;
        break;
      case DT_DIR:
        out.type = abi::kFiletypeDirectory;
        break;
      case DT_LNK:
        out.type = abi::kFiletypeSymbolicLink;
        break;
      case DT_CHR:
        out.type = abi::kFiletypeCharacterDevice;
        break;
      case DT_BLK:
        out.type = abi::kFiletypeBlockDevice;
        break;
      case DT_SOCK:
        out.type = abi::kFiletypeSocketStream;
        break;
      case DT_UNKNOWN: {
        struct stat st;
        if (::fstatat(fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
          out.type = filetype_from_mode(st.st_mode);
        break;
      }
      default:
        out.type = abi::kFiletypeUnknown;
        break;
    }
    // "." and ".." first, as Wasmtime lists them.
    (out.name == "." || out.name == ".." ? dots : entries).push_back(std::move(out));
    errno = 0;
  }
  const int error = errno;
  ::closedir(dir);
  if (error != 0) return errno_from_host(error);
  std::sort(dots.begin(), dots.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name.size() < b.name.size(); });
  dots.insert(dots.end(), std::make_move_iterator(entries.begin()),
              std::make_move_iterator(entries.end()));
  d.listing = std::move(dots);
  d.listing_valid = true;
  return abi::kSuccess;
}

Errno fd_readdir(Call& c) {
  Descriptor* d;
  if (Errno e = c.ctx.lookup(c.u32(0), R::kFdReaddir, d)) return e;
  const uint32_t buffer = c.u32(1), length = c.u32(2), used_out = c.u32(4);
  const uint64_t cookie = c.u64(3);
  if (Errno e = c.mem.check(buffer, length)) return e;
  if (Errno e = c.mem.check(used_out, abi::kU32)) return e;
  // Cookie n is "after the n-th entry"; a listing starts (and is re-read) at 0.
  if (cookie == 0 || !d->listing_valid) {
    if (Errno e = read_listing(*d)) return e;
  }
  uint32_t used = 0;
  for (uint64_t i = cookie; i < d->listing.size() && used < length; ++i) {
    const DirEntry& entry = d->listing[i];
    uint8_t header[abi::kDirent.size] = {};
    const uint64_t next = i + 1;
    const uint32_t name_length = uint32_t(entry.name.size());
    std::memcpy(header, &next, 8);
    std::memcpy(header + 8, &entry.ino, 8);
    std::memcpy(header + 16, &name_length, 4);
    header[20] = entry.type;
    // The last entry may be cut short: the guest sees a full buffer and asks again.
    const uint32_t header_bytes = std::min<uint32_t>(abi::kDirent.size, length - used);
    std::memcpy(c.mem.at(buffer + used), header, header_bytes);
    used += header_bytes;
    const uint32_t name_bytes = std::min<uint32_t>(name_length, length - used);
    std::memcpy(c.mem.at(buffer + used), entry.name.data(), name_bytes);
    used += name_bytes;
  }
  c.mem.store<uint32_t>(used_out, used);
  return abi::kSuccess;
}

// ---- paths

// Reads and resolves the guest path (ptr, len) relative to descriptor `fd`, which must hold
// `rights`.
Errno resolve_at(Call& c, uint32_t fd, uint64_t rights, uint32_t ptr, uint32_t len,
                 bool follow_last, ResolvedPath& out) {
  Descriptor* d;
  if (Errno e = c.ctx.lookup_dir(fd, rights, d)) return e;
  std::string path;
  if (Errno e = c.mem.read_string(ptr, len, path)) return e;
  return resolve_path(d->fd(), path, follow_last, out);
}

// A trailing '/' promises a directory: anything else is ENOTDIR.
Errno check_trailing_slash(const ResolvedPath& path) {
  if (!path.trailing_slash) return abi::kSuccess;
  struct stat st;
  if (::fstatat(path.parent, path.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return host_error();
  return S_ISDIR(st.st_mode) ? abi::kSuccess : abi::kNotdir;
}

Errno path_open(Call& c) {
  const uint32_t dirfd = c.u32(0), lookup = c.u32(1), path = c.u32(2), path_len = c.u32(3);
  const uint32_t oflags = c.u32(4), fdflags = c.u32(7), out = c.u32(8);
  const uint64_t base = c.u64(5), inheriting = c.u64(6);
  if (lookup & ~abi::kLookupflagsAll) return abi::kInval;
  if (oflags & ~abi::kOflagsAll) return abi::kInval;
  if (fdflags & ~abi::kFdflagsAll) return abi::kInval;
  if ((base | inheriting) & ~R::kAll) return abi::kInval;
  uint64_t needed = R::kPathOpen;
  if (oflags & abi::kOflagCreat) needed |= R::kPathCreateFile;
  if (oflags & abi::kOflagTrunc) needed |= R::kPathFilestatSetSize;
  // A directory is never created or truncated by path_open.
  if ((oflags & abi::kOflagDirectory) && (oflags & (abi::kOflagCreat | abi::kOflagTrunc)))
    return abi::kInval;
  Descriptor* dir;
  if (Errno e = c.ctx.lookup_dir(dirfd, needed, dir)) return e;
  if (Errno e = c.mem.check(out, abi::kU32)) return e;

  ResolvedPath resolved;
  if (Errno e =
          resolve_at(c, dirfd, 0, path, path_len, lookup & abi::kLookupSymlinkFollow, resolved))
    return e;
  const bool directory = (oflags & abi::kOflagDirectory) || resolved.trailing_slash;

  // Rights beyond the directory's inheritable ones are dropped (callers such as Rust's std ask
  // for more than they need), except writing a file: a write the preopen forbids fails here.
  // Asking to write a directory means nothing: its file rights are dropped below.
  if (!directory && (base & rights_sets::kWriteIntent & ~dir->rights_inheriting))
    return abi::kNotcapable;
  const uint64_t granted = base & dir->rights_inheriting;
  const uint64_t granted_inheriting = inheriting & dir->rights_inheriting;
  const bool read = granted & (R::kFdRead | R::kFdReaddir);
  const bool write =
      !directory &&
      (granted & (R::kFdWrite | R::kFdDatasync | R::kFdAllocate | R::kFdFilestatSetSize));
  int flags = O_CLOEXEC | O_NOFOLLOW | O_NOCTTY;
  flags |= read && write ? O_RDWR : write ? O_WRONLY : O_RDONLY;
  if (oflags & abi::kOflagCreat) flags |= O_CREAT;
  if (directory) flags |= O_DIRECTORY;
  if (oflags & abi::kOflagExcl) flags |= O_EXCL;
  if (oflags & abi::kOflagTrunc) flags |= O_TRUNC;
  if (fdflags & abi::kFdflagAppend) flags |= O_APPEND;
  if (fdflags & abi::kFdflagDsync) flags |= O_DSYNC;
  if (fdflags & abi::kFdflagNonblock) flags |= O_NONBLOCK;
  if (fdflags & abi::kFdflagRsync) flags |= O_RSYNC;
  if (fdflags & abi::kFdflagSync) flags |= O_SYNC;
  int fd = retry([&] { return ::openat(resolved.parent, resolved.name.c_str(), flags, 0666); });
  if (fd < 0) return host_error();

  Descriptor opened;
  opened.host = std::make_shared<HostFd>(fd, true);
  opened.filetype = filetype_of(fd);
  opened.fdflags = host_fdflags(fd);
  if (opened.is_directory()) {
    opened.rights_base = granted & rights_sets::kDirAll;
    opened.rights_inheriting = granted_inheriting;
  } else {
    opened.rights_base = granted & rights_sets::kFileAll;
    opened.rights_inheriting = 0;
  }
  uint32_t number;
  if (Errno e = c.ctx.insert(std::move(opened), number)) return e;
  c.mem.store<uint32_t>(out, number);
  return abi::kSuccess;
}

Errno path_create_directory(Call& c) {
  ResolvedPath p;
  if (Errno e = resolve_at(c, c.u32(0), R::kPathCreateDirectory, c.u32(1), c.u32(2), false, p))
    return e;
  return ::mkdirat(p.parent, p.name.c_str(), 0777) == 0 ? abi::kSuccess : host_error();
}

Errno path_remove_directory(Call& c) {
  ResolvedPath p;
  if (Errno e = resolve_at(c, c.u32(0), R::kPathRemoveDirectory, c.u32(1), c.u32(2), false, p))
    return e;
  return ::unlinkat(p.parent, p.name.c_str(), AT_REMOVEDIR) == 0 ? abi::kSuccess : host_error();
}

Errno path_unlink_file(Call& c) {
  ResolvedPath p;
  if (Errno e = resolve_at(c, c.u32(0), R::kPathUnlinkFile, c.u32(1), c.u32(2), false, p)) return e;
  if (p.trailing_slash) {
    // "file/" names no file; "dir/" is a directory, which unlink_file does not remove.
    struct stat st;
    if (::fstatat(p.parent, p.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return host_error();
    return S_ISDIR(st.st_mode) ? abi::kIsdir : abi::kNotdir;
  }
  return ::unlinkat(p.parent, p.name.c_str(), 0) == 0 ? abi::kSuccess : host_error();
}

Errno path_filestat_get(Call& c) {
  const uint32_t lookup = c.u32(1), out = c.u32(4);
  if (lookup & ~abi::kLookupflagsAll) return abi::kInval;
  Descriptor* d;
  if (Errno e = c.ctx.lookup_dir(c.u32(0), R::kPathFilestatGet, d)) return e;
  if (Errno e = c.mem.check(out, abi::kFilestat)) return e;
  ResolvedPath p;
  if (Errno e = resolve_at(c, c.u32(0), R::kPathFilestatGet, c.u32(2), c.u32(3),
                           lookup & abi::kLookupSymlinkFollow, p))
    return e;
  struct stat st;
  if (::fstatat(p.parent, p.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return host_error();
  if (p.trailing_slash && !S_ISDIR(st.st_mode)) return abi::kNotdir;
  store_filestat(c.mem, out, st);
  return abi::kSuccess;
}

Errno path_filestat_set_times(Call& c) {
  const uint32_t lookup = c.u32(1);
  if (lookup & ~abi::kLookupflagsAll) return abi::kInval;
  struct timespec times[2];
  if (Errno e = times_of(c.u64(4), c.u64(5), c.u32(6), times)) return e;
  ResolvedPath p;
  if (Errno e = resolve_at(c, c.u32(0), R::kPathFilestatSetTimes, c.u32(2), c.u32(3),
                           lookup & abi::kLookupSymlinkFollow, p))
    return e;
  if (Errno e = check_trailing_slash(p)) return e;
  return ::utimensat(p.parent, p.name.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0 ? abi::kSuccess
                                                                                : host_error();
}

Errno path_link(Call& c) {
  const uint32_t lookup = c.u32(1);
  if (lookup & ~abi::kLookupflagsAll) return abi::kInval;
  ResolvedPath from, to;
  if (Errno e = resolve_at(c, c.u32(0), R::kPathLinkSource, c.u32(2), c.u32(3),
                           lookup & abi::kLookupSymlinkFollow, from))
    return e;
  if (Errno e = resolve_at(c, c.u32(4), R::kPathLinkTarget, c.u32(5), c.u32(6), false, to))
    return e;
  if (from.trailing_slash || to.trailing_slash) {
    // Directories cannot be hard-linked; a file named with a '/' does not exist.
    if (Errno e = check_trailing_slash(from)) return e;
    return abi::kPerm;
  }
  // The source was resolved (and a symlink followed) inside the sandbox: never let linkat follow.
  return ::linkat(from.parent, from.name.c_str(), to.parent, to.name.c_str(), 0) == 0
             ? abi::kSuccess
             : host_error();
}

Errno path_readlink(Call& c) {
  const uint32_t buffer = c.u32(3), length = c.u32(4), used_out = c.u32(5);
  Descriptor* d;
  if (Errno e = c.ctx.lookup_dir(c.u32(0), R::kPathReadlink, d)) return e;
  if (Errno e = c.mem.check(buffer, length)) return e;
  if (Errno e = c.mem.check(used_out, abi::kU32)) return e;
  ResolvedPath p;
  if (Errno e = resolve_at(c, c.u32(0), R::kPathReadlink, c.u32(1), c.u32(2), false, p)) return e;
  std::string target;
  if (int error = read_link(p.parent, p.name, target)) return errno_from_host(error);
  // Truncated to the buffer, as readlink(2) does.
  const uint32_t copied = std::min<uint32_t>(length, uint32_t(target.size()));
  std::memcpy(c.mem.at(buffer), target.data(), copied);
  c.mem.store<uint32_t>(used_out, copied);
  return abi::kSuccess;
}

Errno path_rename(Call& c) {
  ResolvedPath from, to;
  if (Errno e = resolve_at(c, c.u32(0), R::kPathRenameSource, c.u32(1), c.u32(2), false, from))
    return e;
  if (Errno e = resolve_at(c, c.u32(3), R::kPathRenameTarget, c.u32(4), c.u32(5), false, to))
    return e;
  if (from.trailing_slash || to.trailing_slash) {
    // A trailing '/' on either side says the source is a directory.
    struct stat st;
    if (::fstatat(from.parent, from.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return host_error();
    if (!S_ISDIR(st.st_mode)) return abi::kNotdir;
  }
  return ::renameat(from.parent, from.name.c_str(), to.parent, to.name.c_str()) == 0 ? abi::kSuccess
                                                                                     : host_error();
}

Errno path_symlink(Call& c) {
  std::string target;
  if (Errno e = c.mem.read_string(c.u32(0), c.u32(1), target)) return e;
  if (Errno e = validate_path(target)) return e;
  ResolvedPath p;
  if (Errno e = resolve_at(c, c.u32(2), R::kPathSymlink, c.u32(3), c.u32(4), false, p)) return e;
  // An absolute target names the host's tree, never the sandbox's: refused, so that the guest
  // cannot plant links that lead outside for a host tool to follow later.
  if (target.empty()) return abi::kNoent;
  if (target.front() == '/') return abi::kNotcapable;
  if (p.trailing_slash) {
    struct stat st;
    return ::fstatat(p.parent, p.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 ? abi::kExist
                                                                              : abi::kNoent;
  }
  return ::symlinkat(target.c_str(), p.parent, p.name.c_str()) == 0 ? abi::kSuccess : host_error();
}

// ---- poll_oneoff

Errno poll_oneoff(Call& c) {
  const uint32_t in = c.u32(0), out = c.u32(1), count = c.u32(2), events_out = c.u32(3);
  if (count == 0) return abi::kInval;
  if (Errno e = c.mem.check(in, abi::kSubscription, count)) return e;
  if (Errno e = c.mem.check(out, abi::kEvent, count)) return e;
  if (Errno e = c.mem.check(events_out, abi::kU32)) return e;

  struct Event {
    uint64_t userdata;
    uint16_t error;
    uint8_t type;
    uint64_t nbytes;
    uint16_t flags;
  };
  std::vector<Event> events;
  struct Waiting {
    uint64_t userdata;
    uint8_t type;
    size_t poll_index;      // fd subscriptions
    uint64_t deadline = 0;  // clock subscriptions: CLOCK_MONOTONIC ns
  };
  std::vector<Waiting> clocks, fds;
  std::vector<struct pollfd> pollfds;
  struct timespec now_ts;
  ::clock_gettime(CLOCK_MONOTONIC, &now_ts);
  const uint64_t start = to_nanoseconds(now_ts);

  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t sub = in + i * abi::kSubscription.size;
    const uint64_t userdata = c.mem.load<uint64_t>(sub);
    const uint8_t tag = c.mem.load<uint8_t>(sub + 8);
    if (tag == abi::kEventClock) {
      const uint32_t id = c.mem.load<uint32_t>(sub + 16);
      const uint64_t timeout = c.mem.load<uint64_t>(sub + 24);
      const uint16_t flags = c.mem.load<uint16_t>(sub + 40);
      clockid_t clock;
      if (!clock_of(id, clock) || (flags & ~abi::kSubclockAbstime)) {
        events.push_back({userdata, abi::kInval, tag, 0, 0});
        continue;
      }
      uint64_t remaining = timeout;
      if (flags & abi::kSubclockAbstime) {
        struct timespec ts;
        ::clock_gettime(clock, &ts);
        const uint64_t now = to_nanoseconds(ts);
        remaining = timeout > now ? timeout - now : 0;
      }
      const uint64_t deadline = remaining > UINT64_MAX - start ? UINT64_MAX : start + remaining;
      clocks.push_back({userdata, tag, 0, deadline});
    } else if (tag == abi::kEventFdRead || tag == abi::kEventFdWrite) {
      Descriptor* d;
      if (Errno e = c.ctx.lookup(c.mem.load<uint32_t>(sub + 16), R::kPollFdReadwrite, d)) {
        events.push_back({userdata, e, tag, 0, 0});
        continue;
      }
      fds.push_back({userdata, tag, pollfds.size()});
      pollfds.push_back({d->fd(), short(tag == abi::kEventFdRead ? POLLIN : POLLOUT), 0});
    } else {
      return abi::kInval;
    }
  }

  // Wait for the first fd or clock, unless some subscription already has its answer.
  std::optional<uint64_t> earliest;
  for (const Waiting& w : clocks) earliest = std::min(earliest.value_or(w.deadline), w.deadline);
  for (;;) {
    ::clock_gettime(CLOCK_MONOTONIC, &now_ts);
    const uint64_t now = to_nanoseconds(now_ts);
    struct timespec wait {};
    struct timespec* wait_ptr = &wait;
    if (events.empty()) {
      if (earliest) {
        wait = to_timespec(*earliest > now ? *earliest - now : 0);
      } else {
        wait_ptr = nullptr;  // fds only: until one is ready
      }
    }
    int ready;
    if (pollfds.empty()) {
      ready = 0;
      if (wait_ptr != nullptr && (wait.tv_sec != 0 || wait.tv_nsec != 0)) {
        const struct timespec until = to_timespec(*earliest);
        if (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr) == EINTR) continue;
      }
    } else {
      ready = ::ppoll(pollfds.data(), pollfds.size(), wait_ptr, nullptr);
      if (ready < 0) {
        if (errno == EINTR) continue;
        return host_error();
      }
    }
    break;
  }

  for (const Waiting& w : fds) {
    const struct pollfd& p = pollfds[w.poll_index];
    if (p.revents == 0) continue;
    if (p.revents & POLLNVAL) {
      events.push_back({w.userdata, abi::kBadf, w.type, 0, 0});
      continue;
    }
    uint64_t nbytes = 0;
    if (w.type == abi::kEventFdRead) {
      struct stat st;
      if (::fstat(p.fd, &st) == 0 && S_ISREG(st.st_mode)) {
        off_t position = ::lseek(p.fd, 0, SEEK_CUR);
        if (position >= 0 && st.st_size > position) nbytes = uint64_t(st.st_size - position);
      } else {
        int available = 0;
        if (::ioctl(p.fd, FIONREAD, &available) == 0 && available > 0) nbytes = uint64_t(available);
      }
    }
    const uint16_t flags = (p.revents & (POLLHUP | POLLERR)) ? abi::kEventrwflagHangup : 0;
    events.push_back({w.userdata, abi::kSuccess, w.type, nbytes, flags});
  }
  ::clock_gettime(CLOCK_MONOTONIC, &now_ts);
  const uint64_t now = to_nanoseconds(now_ts);
  for (const Waiting& w : clocks) {
    // The wait ended at the earliest deadline: report it even if the clock reads a hair early.
    if (w.deadline <= now || (events.empty() && earliest && w.deadline == *earliest))
      events.push_back({w.userdata, abi::kSuccess, w.type, 0, 0});
  }

  for (size_t i = 0; i < events.size(); ++i) {
    const uint32_t event = out + uint32_t(i) * abi::kEvent.size;
    std::memset(c.mem.at(event), 0, abi::kEvent.size);
    c.mem.store<uint64_t>(event, events[i].userdata);
    c.mem.store<uint16_t>(event + 8, events[i].error);
    c.mem.store<uint8_t>(event + 10, events[i].type);
    c.mem.store<uint64_t>(event + 16, events[i].nbytes);
    c.mem.store<uint16_t>(event + 24, events[i].flags);
  }
  c.mem.store<uint32_t>(events_out, uint32_t(events.size()));
  return abi::kSuccess;
}

// ---- processes and sockets

Errno proc_raise(Call&) {
  return abi::kNotsup;
}

// Sockets: the guest gets them preopened (WasiConfig::preopen_socket, `kiln run --tcplisten`)
// or inherited as a standard stream; preview1 has no way to create one.

// The descriptor `fd` with `rights`, which must be a socket (ENOTSOCK otherwise).
Errno lookup_socket(Call& c, uint32_t fd, uint64_t rights, Descriptor*& d) {
  if (Errno e = c.ctx.lookup(fd, 0, d)) return e;
  if (!is_socket(*d)) return abi::kNotsock;
  return c.ctx.lookup(fd, rights, d);
}

Errno sock_accept(Call& c) {
  const uint32_t flags = c.u32(1), result = c.u32(2);
  // Only NONBLOCK means something for a new connection.
  if (flags & ~abi::kFdflagNonblock) return abi::kInval;
  Descriptor* listener;
  if (Errno e = lookup_socket(c, c.u32(0), R::kSockAccept, listener)) return e;
  if (Errno e = c.mem.check(result, abi::kU32)) return e;
  const int host_flags = SOCK_CLOEXEC | (flags & abi::kFdflagNonblock ? SOCK_NONBLOCK : 0);
  const int fd = retry([&] { return ::accept4(listener->fd(), nullptr, nullptr, host_flags); });
  if (fd < 0) return host_error();
  Descriptor connection = socket_descriptor(std::make_shared<HostFd>(fd, true));
  connection.rights_base &= listener->rights_inheriting;
  connection.rights_inheriting &= listener->rights_inheriting;
  uint32_t guest_fd;
  if (Errno e = c.ctx.insert(std::move(connection), guest_fd)) return e;  // closes the host fd
  c.mem.store<uint32_t>(result, guest_fd);
  return abi::kSuccess;
}

Errno sock_recv(Call& c) {
  const uint32_t iovs = c.u32(1), count = c.u32(2), flags = c.u32(3);
  const uint32_t result_length = c.u32(4), result_flags = c.u32(5);
  if (flags & ~abi::kRiflagsAll) return abi::kInval;
  Descriptor* d;
  if (Errno e = lookup_socket(c, c.u32(0), R::kFdRead, d)) return e;
  if (Errno e = c.mem.check(result_length, abi::kU32)) return e;
  if (Errno e = c.mem.check(result_flags, abi::kU16)) return e;
  std::vector<struct iovec> buffers;
  if (Errno e = gather_iovecs(c, iovs, count, buffers)) return e;
  struct msghdr message {};
  message.msg_iov = buffers.data();
  message.msg_iovlen = buffers.size();
  const int host_flags = (flags & abi::kRiflagRecvPeek ? MSG_PEEK : 0) |
                         (flags & abi::kRiflagRecvWaitall ? MSG_WAITALL : 0);
  const ssize_t got = retry([&] { return ::recvmsg(d->fd(), &message, host_flags); });
  if (got < 0) return host_error();
  c.mem.store<uint32_t>(result_length, uint32_t(got));
  c.mem.store<uint16_t>(result_flags,
                        uint16_t(message.msg_flags & MSG_TRUNC ? abi::kRoflagRecvDataTruncated : 0));
  return abi::kSuccess;
}

Errno sock_send(Call& c) {
  const uint32_t iovs = c.u32(1), count = c.u32(2), flags = c.u32(3), result = c.u32(4);
  if (flags != 0) return abi::kInval;  // siflags has no flag defined
  Descriptor* d;
  if (Errno e = lookup_socket(c, c.u32(0), R::kFdWrite, d)) return e;
  if (Errno e = c.mem.check(result, abi::kU32)) return e;
  std::vector<struct iovec> buffers;
  if (Errno e = gather_iovecs(c, iovs, count, buffers)) return e;
  struct msghdr message {};
  message.msg_iov = buffers.data();
  message.msg_iovlen = buffers.size();
  // A peer that went away is EPIPE for the guest, never SIGPIPE for the host process.
  const ssize_t sent = retry([&] { return ::sendmsg(d->fd(), &message, MSG_NOSIGNAL); });
  if (sent < 0) return host_error();
  c.mem.store<uint32_t>(result, uint32_t(sent));
  return abi::kSuccess;
}

Errno sock_shutdown(Call& c) {
  const uint32_t how = c.u32(1);
  if (how == 0 || (how & ~abi::kSdflagsAll)) return abi::kInval;
  Descriptor* d;
  if (Errno e = lookup_socket(c, c.u32(0), R::kSockShutdown, d)) return e;
  const int host_how = how == abi::kSdflagRd ? SHUT_RD : how == abi::kSdflagWr ? SHUT_WR : SHUT_RDWR;
  if (::shutdown(d->fd(), host_how) != 0) return host_error();
  return abi::kSuccess;
}

using Handler = Errno (*)(Call&);

struct Function {
  Import import;
  Handler handler;  // null: proc_exit
  bool needs_memory;
};

constexpr Function kFunctions[] = {
    {{"args_get", "ii", true}, args_get, true},
    {{"args_sizes_get", "ii", true}, args_sizes_get, true},
    {{"environ_get", "ii", true}, environ_get, true},
    {{"environ_sizes_get", "ii", true}, environ_sizes_get, true},
    {{"clock_res_get", "ii", true}, clock_res_get, true},
    {{"clock_time_get", "iIi", true}, clock_time_get, true},
    {{"fd_advise", "iIIi", true}, fd_advise, false},
    {{"fd_allocate", "iII", true}, fd_allocate, false},
    {{"fd_close", "i", true}, fd_close, false},
    {{"fd_datasync", "i", true}, fd_datasync, false},
    {{"fd_fdstat_get", "ii", true}, fd_fdstat_get, true},
    {{"fd_fdstat_set_flags", "ii", true}, fd_fdstat_set_flags, false},
    {{"fd_fdstat_set_rights", "iII", true}, fd_fdstat_set_rights, false},
    {{"fd_filestat_get", "ii", true}, fd_filestat_get, true},
    {{"fd_filestat_set_size", "iI", true}, fd_filestat_set_size, false},
    {{"fd_filestat_set_times", "iIIi", true}, fd_filestat_set_times, false},
    {{"fd_pread", "iiiIi", true}, fd_pread, true},
    {{"fd_prestat_get", "ii", true}, fd_prestat_get, true},
    {{"fd_prestat_dir_name", "iii", true}, fd_prestat_dir_name, true},
    {{"fd_pwrite", "iiiIi", true}, fd_pwrite, true},
    {{"fd_read", "iiii", true}, fd_read, true},
    {{"fd_readdir", "iiiIi", true}, fd_readdir, true},
    {{"fd_renumber", "ii", true}, fd_renumber, false},
    {{"fd_seek", "iIii", true}, fd_seek, true},
    {{"fd_sync", "i", true}, fd_sync, false},
    {{"fd_tell", "ii", true}, fd_tell, true},
    {{"fd_write", "iiii", true}, fd_write, true},
    {{"path_create_directory", "iii", true}, path_create_directory, true},
    {{"path_filestat_get", "iiiii", true}, path_filestat_get, true},
    {{"path_filestat_set_times", "iiiiIIi", true}, path_filestat_set_times, true},
    {{"path_link", "iiiiiii", true}, path_link, true},
    {{"path_open", "iiiiiIIii", true}, path_open, true},
    {{"path_readlink", "iiiiii", true}, path_readlink, true},
    {{"path_remove_directory", "iii", true}, path_remove_directory, true},
    {{"path_rename", "iiiiii", true}, path_rename, true},
    {{"path_symlink", "iiiii", true}, path_symlink, true},
    {{"path_unlink_file", "iii", true}, path_unlink_file, true},
    {{"poll_oneoff", "iiii", true}, poll_oneoff, true},
    {{"proc_exit", "i", false}, nullptr, false},
    {{"proc_raise", "i", true}, proc_raise, false},
    {{"sched_yield", "", true}, sched_yield, false},
    {{"random_get", "ii", true}, random_get, true},
    {{"sock_accept", "iii", true}, sock_accept, true},
    {{"sock_recv", "iiiiii", true}, sock_recv, true},
    {{"sock_send", "iiiii", true}, sock_send, true},
    {{"sock_shutdown", "ii", true}, sock_shutdown, false},
};

constexpr size_t kFunctionCount = sizeof kFunctions / sizeof kFunctions[0];

const std::array<Import, kFunctionCount>& import_table() {
  static const std::array<Import, kFunctionCount> table = [] {
    std::array<Import, kFunctionCount> out{};
    for (size_t i = 0; i < kFunctionCount; ++i) out[i] = kFunctions[i].import;
    return out;
  }();
  return table;
}

}  // namespace

std::span<const Import> imports() {
  return import_table();
}

Outcome call(WasiCtx& ctx, size_t index, std::span<uint8_t> memory, bool has_memory,
             uint64_t* slots) {
  const Function& function = kFunctions[index];
  Outcome outcome;
  if (function.handler == nullptr) {
    // proc_exit: statuses a host process can report; others are an error (as in Wasmtime).
    const uint32_t status = uint32_t(slots[0]);
    if (status >= 126) {
      outcome.kind = Outcome::Kind::Trap;
      outcome.trap_message = "exit with invalid exit status outside of [0..126)";
    } else {
      outcome.kind = Outcome::Kind::Exit;
      outcome.exit_status = int32_t(status);
    }
    return outcome;
  }
  if (function.needs_memory && !has_memory) {
    outcome.kind = Outcome::Kind::Trap;
    outcome.trap_message = "wasi_snapshot_preview1::" + std::string(function.import.name) +
                           ": the calling module exports no memory named \"memory\"";
    return outcome;
  }
  Call c{ctx, GuestMemory(has_memory ? memory : std::span<uint8_t>()), slots};
  slots[0] = function.handler(c);
  return outcome;
}

}  // namespace kiln::wasi
