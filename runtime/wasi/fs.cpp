#include "runtime/wasi/fs.hpp"

#include <fcntl.h>
#include <sys/socket.h>

namespace kiln::wasi {

uint8_t filetype_from_mode(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return abi::kFiletypeRegularFile;
    case S_IFDIR:
      return abi::kFiletypeDirectory;
    case S_IFLNK:
      return abi::kFiletypeSymbolicLink;
    case S_IFCHR:
      return abi::kFiletypeCharacterDevice;
    case S_IFBLK:
      return abi::kFiletypeBlockDevice;
    case S_IFSOCK:
      return abi::kFiletypeSocketStream;
    default:
      return abi::kFiletypeUnknown;  // FIFOs have no WASI type
  }
}

uint8_t filetype_of(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return abi::kFiletypeUnknown;
  uint8_t type = filetype_from_mode(st.st_mode);
  if (type == abi::kFiletypeSocketStream) {
    int socket_type = 0;
    socklen_t length = sizeof socket_type;
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &socket_type, &length) == 0 &&
        socket_type == SOCK_DGRAM)
      type = abi::kFiletypeSocketDgram;
  }
  return type;
}

namespace {
uint16_t fdflags_of(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return 0;
  uint16_t out = 0;
  if (flags & O_APPEND) out |= abi::kFdflagAppend;
  if (flags & O_NONBLOCK) out |= abi::kFdflagNonblock;
  if ((flags & O_SYNC) == O_SYNC) {
    out |= abi::kFdflagSync;
  } else if (flags & O_DSYNC) {
    out |= abi::kFdflagDsync;
  }
  return out;
}
}  // namespace

uint16_t host_fdflags(int fd) {
  return fdflags_of(fd);
}

Descriptor stdio_descriptor(std::shared_ptr<HostFd> host, bool input) {
  using namespace rights_sets;
  Descriptor d;
  d.filetype = filetype_of(host->get());
  d.fdflags = fdflags_of(host->get());
  d.rights_base = kFileBase | (input ? kFileRead : kFdWrite | kFdDatasync | kFdSync);
  // wasi-libc's isatty() asks for a character device that cannot seek: give a terminal no
  // seek rights, so a program sees its terminal as one (and line-buffers it).
  if (d.filetype == abi::kFiletypeCharacterDevice) d.rights_base &= ~(kFdSeek | kFdTell);
  // A stream inherited as a socket (inetd style) can also be shut down, and sock_recv and
  // sock_send work on it under the read and write rights.
  if (is_socket(d)) d.rights_base |= kSockShutdown;
  d.host = std::move(host);
  return d;
}

Descriptor preopen_descriptor(std::shared_ptr<HostFd> dir, uint32_t dir_perms,
                              uint32_t file_perms) {
  using namespace rights_sets;
  Descriptor d;
  d.host = std::move(dir);
  d.filetype = abi::kFiletypeDirectory;
  uint64_t dir_rights = kDirBase;
  if (dir_perms & kPermsRead) dir_rights |= kDirRead;
  if (dir_perms & kPermsWrite) dir_rights |= kDirWrite;
  uint64_t file_rights = kFileBase;
  if (file_perms & kPermsRead) file_rights |= kFileRead;
  if (file_perms & kPermsWrite) file_rights |= kFileWrite;
  d.rights_base = dir_rights;
  d.rights_inheriting = dir_rights | file_rights;
  return d;
}

Descriptor socket_descriptor(std::shared_ptr<HostFd> socket) {
  Descriptor d;
  d.filetype = filetype_of(socket->get());
  d.fdflags = fdflags_of(socket->get());
  d.rights_base = rights_sets::kSocket;
  d.rights_inheriting = rights_sets::kSocket;
  d.host = std::move(socket);
  return d;
}

bool is_socket(const Descriptor& d) {
  return d.filetype == abi::kFiletypeSocketStream || d.filetype == abi::kFiletypeSocketDgram;
}

}  // namespace kiln::wasi
