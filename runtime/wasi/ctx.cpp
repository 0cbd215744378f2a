// The WASI state of a store: settings turned into a descriptor table.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
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

Result<std::shared_ptr<HostFd>> listen_tcp(const std::string& host_port) {
  const std::string what = "WASI socket " + host_port + ": ";
  // HOST:PORT, with an IPv6 host in brackets.
  std::string host, port;
  if (!host_port.empty() && host_port[0] == '[') {
    const size_t close = host_port.find(']');
    if (close == std::string::npos || close + 1 >= host_port.size() || host_port[close + 1] != ':')
      return Error(what + "expected [IPV6]:PORT");
    host = host_port.substr(1, close - 1);
    port = host_port.substr(close + 2);
  } else {
    const size_t colon = host_port.rfind(':');
    if (colon == std::string::npos) return Error(what + "expected HOST:PORT");
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
  }
  if (host.empty() || port.empty() || port.find_first_not_of("0123456789") != std::string::npos ||
      port.size() > 5 || std::stoul(port) > 65535)
    return Error(what + "expected HOST:PORT with a port from 0 to 65535");
  struct addrinfo hints {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  struct addrinfo* found = nullptr;
  if (int status = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); status != 0)
    return Error(what + ::gai_strerror(status));
  std::unique_ptr<struct addrinfo, void (*)(struct addrinfo*)> addresses(found, ::freeaddrinfo);
  std::string failure = "no address";
  for (struct addrinfo* a = found; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      failure = std::strerror(errno);
      continue;
    }
    auto socket = std::make_shared<HostFd>(fd, true);
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
      failure = std::strerror(errno);
      continue;
    }
    return socket;
  }
  return Error(what + failure);
}

uint16_t local_port(const HostFd& socket) {
  struct sockaddr_storage address {};
  socklen_t length = sizeof address;
  if (::getsockname(socket.get(), reinterpret_cast<struct sockaddr*>(&address), &length) != 0)
    return 0;
  if (address.ss_family == AF_INET)
    return ntohs(reinterpret_cast<const struct sockaddr_in&>(address).sin_port);
  if (address.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<const struct sockaddr_in6&>(address).sin6_port);
  return 0;
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

Result<std::shared_ptr<WasiCtx>> make_ctx(Settings settings) {
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
  // Sockets first: they ask for their numbers; directories fill the free ones.
  for (Settings::Socket& socket : settings.sockets) {
    if (ctx->fds.count(socket.guest_fd))
      return Error("WASI: descriptor " + std::to_string(socket.guest_fd) +
                   " is given twice (a preopened socket's number is already taken)");
    ctx->fds.emplace(socket.guest_fd, socket_descriptor(std::move(socket.socket)));
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
