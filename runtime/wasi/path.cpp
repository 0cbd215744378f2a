#include "runtime/wasi/path.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "runtime/wasi/ctx.hpp"

namespace kiln::wasi {

namespace {

// Linux's own limit on symlinks followed in one lookup.
constexpr int kMaxSymlinks = 40;
// Longer guest paths are refused before any work (Linux's PATH_MAX is 4096).
constexpr size_t kMaxPathBytes = 64 * 1024;
// Each directory entered stays open until the path is resolved (`..` returns to it): a bound
// keeps a hostile path from holding thousands of host descriptors at once.
constexpr size_t kMaxDepth = 1024;

}  // namespace

abi::Errno validate_path(std::string_view path) {
  if (path.size() > kMaxPathBytes) return abi::kNametoolong;
  size_t i = 0;
  while (i < path.size()) {
    const uint8_t byte = uint8_t(path[i]);
    if (byte == 0) return abi::kInval;  // the host would cut the path short there
    if (byte < 0x80) {
      ++i;
      continue;
    }
    // The length of the sequence and the smallest code point it may encode (no overlongs).
    size_t length;
    uint32_t code, minimum;
    if ((byte & 0xe0) == 0xc0) {
      length = 2, code = byte & 0x1f, minimum = 0x80;
    } else if ((byte & 0xf0) == 0xe0) {
      length = 3, code = byte & 0x0f, minimum = 0x800;
    } else if ((byte & 0xf8) == 0xf0) {
      length = 4, code = byte & 0x07, minimum = 0x10000;
    } else {
      return abi::kIlseq;
    }
    if (i + length > path.size()) return abi::kIlseq;
    for (size_t k = 1; k < length; ++k) {
      const uint8_t next = uint8_t(path[i + k]);
      if ((next & 0xc0) != 0x80) return abi::kIlseq;
      code = (code << 6) | (next & 0x3f);
    }
    if (code < minimum || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return abi::kIlseq;
    i += length;
  }
  return abi::kSuccess;
}

int read_link(int dir, const std::string& name, std::string& target) {
  std::vector<char> buffer(256);
  for (;;) {
    ssize_t length = ::readlinkat(dir, name.c_str(), buffer.data(), buffer.size());
    if (length < 0) return errno;
    if (size_t(length) < buffer.size()) {
      target.assign(buffer.data(), size_t(length));
      return 0;
    }
    if (buffer.size() >= kMaxPathBytes) return ENAMETOOLONG;
    buffer.resize(buffer.size() * 2);
  }
}

abi::Errno resolve_path(int root, std::string_view path, bool follow_last, ResolvedPath& out) {
  if (abi::Errno invalid = validate_path(path)) return invalid;
  if (path.empty()) return abi::kNoent;
  if (path.front() == '/') return abi::kNotcapable;

  // The directories entered below `root`, innermost last: `..` pops one, never `root` itself.
  std::vector<std::unique_ptr<HostFd>> stack;
  auto top = [&] { return stack.empty() ? root : stack.back()->get(); };
  std::string rest(path);
  int symlinks = 0;

  // When `name` in directory `top()` is a symlink, the path left becomes its target followed by
  // `suffix` (the rest of the path, from its '/').
  auto expand_symlink = [&](const std::string& name, const std::string& suffix,
                            bool& expanded) -> abi::Errno {
    expanded = false;
    std::string target;
    int error = read_link(top(), name, target);
    if (error == EINVAL || error == ENOENT) return abi::kSuccess;  // not a symlink (or gone)
    if (error != 0) return errno_from_host(error);
    if (++symlinks > kMaxSymlinks) return abi::kLoop;
    if (target.empty()) return abi::kNoent;
    if (target.front() == '/') return abi::kNotcapable;  // absolute: outside by definition
    rest = target + suffix;
    expanded = true;
    return abi::kSuccess;
  };

  for (;;) {
    const size_t slash = rest.find('/');
    std::string component = rest.substr(0, slash);
    // What follows the component ("" when it is the last one; trailing slashes dropped).
    std::string tail;
    bool trailing_slash = false;
    if (slash != std::string::npos) {
      const size_t next = rest.find_first_not_of('/', slash);
      if (next == std::string::npos) {
        trailing_slash = true;
      } else {
        tail = rest.substr(next);
      }
    }
    const bool last = tail.empty();

    if (component == "." || component.empty() || component == "..") {
      if (component == "..") {
        // Leaving the preopened directory is refused, never resolved on the host.
        if (stack.empty()) return abi::kNotcapable;
        stack.pop_back();
      }
      if (last) {
        out.name = ".";
        out.trailing_slash = trailing_slash;
        break;
      }
      rest = tail;
      continue;
    }

    if (!last) {
      // An intermediate directory: enter it without following a symlink.
      int fd = ::openat(top(), component.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) {
        if (stack.size() == kMaxDepth) {
          ::close(fd);
          return abi::kNametoolong;
        }
        stack.push_back(std::make_unique<HostFd>(fd, true));
        rest = tail;
        continue;
      }
      const int error = errno;
      if (error == ELOOP || error == ENOTDIR) {
        bool expanded;
        if (abi::Errno failed = expand_symlink(component, "/" + tail, expanded)) return failed;
        if (expanded) continue;
      }
      return errno_from_host(error);
    }

    // The last component: a symlink is followed when asked, or when a '/' follows it.
    if (follow_last || trailing_slash) {
      bool expanded;
      // "link/" keeps its slash: the target must be a directory.
      if (abi::Errno failed = expand_symlink(component, trailing_slash ? "/" : "", expanded))
        return failed;
      if (expanded) continue;
    }
    out.name = component;
    out.trailing_slash = trailing_slash;
    break;
  }

  if (stack.empty()) {
    out.opened.reset();
    out.parent = root;
  } else {
    out.opened = std::move(stack.back());
    out.parent = out.opened->get();
  }
  return abi::kSuccess;
}

}  // namespace kiln::wasi
