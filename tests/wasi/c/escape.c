// Ways out of the preopened directory, each refused (errno printed), and the ways that stay
// inside, allowed. Run with the scratch directory (holding inside.txt) preopened as ".".
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void try_open(const char* path) {
  int fd = open(path, O_RDONLY);
  printf("open %-28s %s\n", path, fd >= 0 ? "opened" : strerror(errno));
  if (fd >= 0) close(fd);
}

int main(void) {
  mkdir("sub", 0755);
  try_open("../escape-target");
  // wasi-libc maps an absolute path to a preopen itself: none matches, so it never asks.
  try_open("/etc/passwd");
  try_open("sub/../../escape-target");
  printf("symlink out: %s\n", symlink("../escape-target", "out") == 0 ? "made" : strerror(errno));
  try_open("out");
  printf("symlink abs: %s\n", symlink("/etc/passwd", "abs") == 0 ? "made" : strerror(errno));
  printf("mkdir ../x: %s\n", mkdir("../x", 0755) == 0 ? "made" : strerror(errno));
  printf("symlink in: %s\n", symlink("inside.txt", "in") == 0 ? "made" : strerror(errno));
  try_open("in");
  try_open("./inside.txt");
  try_open("sub/../inside.txt");
  return 0;
}
