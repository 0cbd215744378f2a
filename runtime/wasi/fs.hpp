// Files and directories as WASI descriptors: their types and the rights each kind can carry.
#pragma once

#include <sys/stat.h>

#include <memory>

#include "runtime/wasi/abi.hpp"
#include "runtime/wasi/ctx.hpp"

namespace kiln::wasi {

namespace rights_sets {
using namespace abi::rights;
// What any file descriptor may be allowed, and what reading or writing adds.
constexpr uint64_t kFileBase =
    kFdSeek | kFdTell | kFdFilestatGet | kFdFdstatSetFlags | kFdAdvise | kPollFdReadwrite;
constexpr uint64_t kFileRead = kFdRead;
constexpr uint64_t kFileWrite =
    kFdWrite | kFdDatasync | kFdSync | kFdAllocate | kFdFilestatSetSize | kFdFilestatSetTimes;
constexpr uint64_t kFileAll = kFileBase | kFileRead | kFileWrite;
// The same for directories: looking up and stat-ing, listing, and changing what is inside.
constexpr uint64_t kDirBase = kPathOpen | kFdFilestatGet | kPathFilestatGet | kFdFdstatSetFlags;
constexpr uint64_t kDirRead = kFdReaddir | kPathReadlink;
constexpr uint64_t kDirWrite =
    kPathCreateDirectory | kPathCreateFile | kPathLinkSource | kPathLinkTarget | kPathRenameSource |
    kPathRenameTarget | kPathFilestatSetSize | kPathFilestatSetTimes | kFdFilestatSetTimes |
    kPathSymlink | kPathRemoveDirectory | kPathUnlinkFile | kFdSync | kFdDatasync;
constexpr uint64_t kDirAll = kDirBase | kDirRead | kDirWrite;
// Sockets: reading and writing (sock_recv and sock_send too), accepting and shutting down.
constexpr uint64_t kSocket = kFdRead | kFdWrite | kPollFdReadwrite | kFdFdstatSetFlags |
                             kFdFilestatGet | kSockShutdown | kSockAccept;
// Rights that mean "this descriptor writes": never granted silently less than asked.
constexpr uint64_t kWriteIntent = kFdWrite;
}  // namespace rights_sets

uint8_t filetype_from_mode(mode_t mode);
// The filetype of an open host descriptor (sockets told apart by their type).
uint8_t filetype_of(int fd);
// The host descriptor's status flags as WASI fdflags.
uint16_t host_fdflags(int fd);

// Descriptors made at start-up: the three standard streams and preopened directories.
Descriptor stdio_descriptor(std::shared_ptr<HostFd> host, bool input);
Descriptor preopen_descriptor(std::shared_ptr<HostFd> dir, uint32_t dir_perms, uint32_t file_perms);
// A socket: a preopened listener, or a connection sock_accept made.
Descriptor socket_descriptor(std::shared_ptr<HostFd> socket);
bool is_socket(const Descriptor& d);

}  // namespace kiln::wasi
