// The WASI state of a store: settings turned into a descriptor table.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "runtime/wasi/ctx.hpp"
#include "runtime/wasi/fs.hpp"

extern char** environ;

namespace kiln::wasi {

HostFd::~HostFd() {
  if (owned_ && fd_ >= 0) ::close(fd_);
}

abi::Errno errno_from_host(int host_errno) {
  switch (host_errno) {
    case 0:
      return abi::kSuccess;
    case E2BIG:
      return abi::k2big;
    case EACCES:
      return abi::kAcces;
    case EADDRINUSE:
      return abi::kAddrinuse;
    case EADDRNOTAVAIL:
      return abi::kAddrnotavail;
    case EAFNOSUPPORT:
      return abi::kAfnosupport;
    case EAGAIN:
      return abi::kAgain;
    case EALREADY:
      return abi::kAlready;
    case EBADF:
      return abi::kBadf;
    case EBADMSG:
      return abi::kBadmsg;
    case EBUSY:
      return abi::kBusy;
    case ECANCELED:
      return abi::kCanceled;
    case ECHILD:
      return abi::kChild;
    case ECONNABORTED:
      return abi::kConnaborted;
    case ECONNREFUSED:
      return abi::kConnrefused;
    case ECONNRESET:
      return abi::kConnreset;
    case EDEADLK:
      return abi::kDeadlk;
    case EDESTADDRREQ:
      return abi::kDestaddrreq;
    case EDOM:
      return abi::kDom;
    case EDQUOT:
      return abi::kDquot;
    case EEXIST:
      return abi::kExist;
    case EFAULT:
      return abi::kFault;
    case EFBIG:
      return abi::kFbig;
    case EHOSTUNREACH:
      return abi::kHostunreach;
    case EIDRM:
      return abi::kIdrm;
    case EILSEQ:
      return abi::kIlseq;
    case EINPROGRESS:
      return abi::kInprogress;
    case EINTR:
      return abi::kIntr;
    case EINVAL:
      return abi::kInval;
    case EIO:
      return abi::kIo;
    case EISCONN:
      return abi::kIsconn;
    case EISDIR:
      return abi::kIsdir;
    case ELOOP:
      return abi::kLoop;
    case EMFILE:
      return abi::kMfile;
    case EMLINK:
      return abi::kMlink;
    case EMSGSIZE:
      return abi::kMsgsize;
    case EMULTIHOP:
      return abi::kMultihop;
    case ENAMETOOLONG:
      return abi::kNametoolong;
    case ENETDOWN:
      return abi::kNetdown;
    case ENETRESET:
      return abi::kNetreset;
    case ENETUNREACH:
      return abi::kNetunreach;
    case ENFILE:
      return abi::kNfile;
    case ENOBUFS:
      return abi::kNobufs;
    case ENODEV:
      return abi::kNodev;
    case ENOENT:
      return abi::kNoent;
    case ENOEXEC:
      return abi::kNoexec;
    case ENOLCK:
      return abi::kNolck;
    case ENOLINK:
      return abi::kNolink;
    case ENOMEM:
      return abi::kNomem;
    case ENOMSG:
      return abi::kNomsg;
    case ENOPROTOOPT:
      return abi::kNoprotoopt;
    case ENOSPC:
      return abi::kNospc;
    case ENOSYS:
      return abi::kNosys;
    case ENOTCONN:
      return abi::kNotconn;
    case ENOTDIR:
      return abi::kNotdir;
    case ENOTEMPTY:
      return abi::kNotempty;
    case ENOTRECOVERABLE:
      return abi::kNotrecoverable;
    case ENOTSOCK:
      return abi::kNotsock;
    case ENOTSUP:
      return abi::kNotsup;  // == EOPNOTSUPP on Linux
    case ENOTTY:
      return abi::kNotty;
    case ENXIO:
      return abi::kNxio;
    case EOVERFLOW:
      return abi::kOverflow;
    case EOWNERDEAD:
      return abi::kOwnerdead;
    case EPERM:
      return abi::kPerm;
    case EPIPE:
      return abi::kPipe;
    case EPROTO:
      return abi::kProto;
    case EPROTONOSUPPORT:
      return abi::kProtonosupport;
    case EPROTOTYPE:
      return abi::kPrototype;
    case ERANGE:
      return abi::kRange;
    case EROFS:
      return abi::kRofs;
    case ESPIPE:
      return abi::kSpipe;
    case ESRCH:
      return abi::kSrch;
    case ESTALE:
      return abi::kStale;
    case ETIMEDOUT:
      return abi::kTimedout;
    case ETXTBSY:
      return abi::kTxtbsy;
    case EXDEV:
      return abi::kXdev;
    default:
      return abi::kIo;
  }
}

abi::Errno WasiCtx::lookup(uint32_t fd, uint64_t rights, Descriptor*& out) {
  auto found = fds.find(fd);
  if (found == fds.end()) return abi::kBadf;
  if ((found->second.rights_base & rights) != rights) return abi::kNotcapable;
  out = &found->second;
  return abi::kSuccess;
}

abi::Errno WasiCtx::lookup_dir(uint32_t fd, uint64_t rights, Descriptor*& out) {
  auto found = fds.find(fd);
  if (found == fds.end()) return abi::kBadf;
  if (!found->second.is_directory()) return abi::kNotdir;
  if ((found->second.rights_base & rights) != rights) return abi::kNotcapable;
  out = &found->second;
  return abi::kSuccess;
}

abi::Errno WasiCtx::insert(Descriptor descriptor, uint32_t& fd) {
  // The lowest number not in use (as POSIX open does): the map is ordered, so walk it.
  uint32_t candidate = 0;
  for (const auto& [number, _] : fds) {
    if (number != candidate) break;
    if (candidate == UINT32_MAX) return abi::kMfile;
    ++candidate;
  }
  fds.emplace(candidate, std::move(descriptor));
  fd = candidate;
  return abi::kSuccess;
}

abi::Errno GuestMemory::read_string(uint32_t ptr, uint32_t len, std::string& out) const {
  if (!contains(ptr, len)) return abi::kFault;
  out.assign(reinterpret_cast<const char*>(at(ptr)), len);
  return abi::kSuccess;
}

Result<std::shared_ptr<HostFd>> open_stdio_file(const std::string& path, bool for_writing) {
  const int flags = for_writing ? (O_WRONLY | O_CREAT | O_TRUNC) : O_RDONLY;
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0666);
  if (fd < 0) return Error(path + ": " + std::strerror(errno));
  return std::make_shared<HostFd>(fd, true);
}

Result<std::shared_ptr<HostFd>> open_directory(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error(path + ": " + std::strerror(errno));
  return std::make_shared<HostFd>(fd, true);
}

std::vector<std::string> host_args() {
  // The process's own arguments, as the kernel keeps them: NUL-separated.
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  size_t start = 0;
  while (start < all.size()) {
    size_t end = all.find('\0', start);
    if (end == std::string::npos) end = all.size();
    args.push_back(all.substr(start, end - start));
    start = end + 1;
  }
  return args;
}

std::vector<std::string> host_env() {
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry)
    env.emplace_back(*entry);
  return env;
}

std::shared_ptr<WasiCtx> make_ctx(Settings settings) {
  auto ctx = std::make_shared<WasiCtx>();
  ctx->args = std::move(settings.args);
  ctx->env = std::move(settings.env);
  for (int i = 0; i < 3; ++i) {
    const Settings::Stdio& stdio = settings.stdio[size_t(i)];
    std::shared_ptr<HostFd> host;
    switch (stdio.kind) {
      case Settings::StdioKind::Inherit:
        host = std::make_shared<HostFd>(i, false);
        break;
      case Settings::StdioKind::File:
        host = stdio.file;
        break;
      case Settings::StdioKind::Null: {
        // Nothing to read, and writes vanish (Wasmtime's default for each stream).
        int fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        host = std::make_shared<HostFd>(fd, true);
        break;
      }
    }
    ctx->fds.emplace(uint32_t(i), stdio_descriptor(std::move(host), i == 0));
  }
  for (Settings::Preopen& preopen : settings.preopens) {
    Descriptor dir =
        preopen_descriptor(std::move(preopen.dir), preopen.dir_perms, preopen.file_perms);
    dir.preopen = std::move(preopen.guest_path);
    uint32_t fd;
    (void)ctx->insert(std::move(dir), fd);
  }
  return ctx;
}

}  // namespace kiln::wasi
