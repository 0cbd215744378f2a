// Files and directories through wasi-libc: create, write, read, seek, stat, rename, readdir,
// unlink, rmdir. Run with the scratch directory preopened as ".".
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int compare(const void* a, const void* b) {
  return strcmp(*(const char* const*)a, *(const char* const*)b);
}

int main(void) {
  if (mkdir("dir", 0755) != 0) return perror("mkdir"), 1;
  FILE* f = fopen("dir/hello.txt", "w");
  if (!f) return perror("fopen w"), 1;
  fprintf(f, "hello, file\nsecond line\n");
  fclose(f);

  f = fopen("dir/hello.txt", "r");
  char line[64];
  while (fgets(line, sizeof line, f)) printf("read: %s", line);
  fseek(f, 7, SEEK_SET);
  printf("after seek: %c, tell %ld\n", fgetc(f), ftell(f));
  fclose(f);

  struct stat st;
  stat("dir/hello.txt", &st);
  printf("size %lld, regular %d, dir %d\n", (long long)st.st_size, S_ISREG(st.st_mode),
         S_ISDIR(st.st_mode));

  int fd = open("dir/hello.txt", O_WRONLY | O_APPEND);
  write(fd, "appended\n", 9);
  close(fd);
  fd = open("dir/hello.txt", O_RDONLY);
  char buffer[128] = {0};
  ssize_t n = pread(fd, buffer, sizeof buffer - 1, 12);
  printf("pread %zd: %s", n, buffer);
  close(fd);

  for (int i = 0; i < 5; ++i) {
    char name[32];
    snprintf(name, sizeof name, "dir/file%d", i);
    close(open(name, O_CREAT | O_WRONLY, 0644));
  }
  if (rename("dir/file0", "dir/renamed") != 0) perror("rename");
  if (unlink("dir/file1") != 0) perror("unlink");

  DIR* d = opendir("dir");
  char* names[32];
  int count = 0;
  struct dirent* entry;
  while ((entry = readdir(d)) && count < 32) names[count++] = strdup(entry->d_name);
  closedir(d);
  qsort(names, count, sizeof names[0], compare);
  for (int i = 0; i < count; ++i) printf("entry: %s\n", names[i]);

  printf("rmdir non-empty: %s\n", rmdir("dir") == 0 ? "ok" : strerror(errno));
  printf("open missing: %s\n", open("dir/missing", O_RDONLY) < 0 ? strerror(errno) : "opened");
  printf("mkdir existing: %s\n", mkdir("dir", 0755) < 0 ? strerror(errno) : "made");
  return 0;
}
