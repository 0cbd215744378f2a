// stdin through read(), with poll() saying it is readable first.
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
  struct pollfd p = {0, POLLIN, 0};
  int ready = poll(&p, 1, 5000);
  printf("poll: %d, readable %d\n", ready, (p.revents & POLLIN) != 0);
  char buffer[64];
  ssize_t n = read(0, buffer, sizeof buffer);
  printf("read %zd: %.*s", n, (int)n, buffer);
  printf("then: %zd\n", read(0, buffer, sizeof buffer));
  return 0;
}
