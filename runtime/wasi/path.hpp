// Path resolution confined to a directory (the capability a WASI descriptor grants).
//
// A guest path is resolved one component at a time from the directory descriptor it is relative
// to, as cap-std does: each intermediate directory is opened with O_NOFOLLOW relative to the
// previous one, `..` pops back to the previous directory and is refused at the starting one,
// absolute paths are refused, and a symlink met on the way is read (readlinkat) and its target
// resolved the same way, inside the same directory tree (an absolute target is refused). The
// last component is returned with its parent's descriptor; callers finish with one `*at` call
// that does not follow symlinks, so replacing a component by a symlink between the checks and the
// use (a race) can make an operation fail but never reach outside.
#pragma once

#include <string>
#include <string_view>

#include "runtime/wasi/abi.hpp"
#include "runtime/wasi/wasi.hpp"

namespace kiln::wasi {

struct ResolvedPath {
  // The directory that holds the last component: `root` itself or a directory opened below it.
  std::unique_ptr<HostFd> opened;
  int parent = -1;
  // The last component: a plain name (no '/', never ".."), or "." when the path names the
  // directory `parent` itself.
  std::string name;
  // The path ended in '/': the last component must be a directory.
  bool trailing_slash = false;
};

// Resolves `path` below the directory `root`. With `follow_last`, a symlink as the last component
// is followed (still inside `root`). Errors: ENOTCAPABLE for an escape (absolute path, `..` above
// `root`, a symlink pointing outside), ELOOP after 40 symlinks, EINVAL/EILSEQ for a malformed
// path, and the host's errors (ENOENT, ENOTDIR, ...).
abi::Errno resolve_path(int root, std::string_view path, bool follow_last, ResolvedPath& out);

// The target of the symlink `name` in `dir` (readlinkat, any length).
int read_link(int dir, const std::string& name, std::string& target);

// Whether `path` is valid UTF-8 without NUL bytes (WASI paths are strings).
abi::Errno validate_path(std::string_view path);

}  // namespace kiln::wasi
