// Clocks and sleeping (poll_oneoff) through wasi-libc.
#include <poll.h>
#include <stdio.h>
#include <time.h>

static long long ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

int main(void) {
  long long start = ns(CLOCK_MONOTONIC);
  struct timespec nap = {0, 20 * 1000 * 1000};
  printf("nanosleep: %d\n", nanosleep(&nap, NULL));
  long long slept = ns(CLOCK_MONOTONIC) - start;
  printf("slept at least 20 ms: %d\n", slept >= 20000000ll);
  printf("slept less than 5 s: %d\n", slept < 5000000000ll);
  start = ns(CLOCK_MONOTONIC);
  printf("poll timeout: %d\n", poll(NULL, 0, 10));
  printf("poll waited at least 10 ms: %d\n", ns(CLOCK_MONOTONIC) - start >= 10000000ll);
  time_t now = time(NULL);
  printf("realtime after 2020: %d\n", now > 1577836800);
  struct timespec res;
  printf("monotonic resolution ok: %d\n",
         clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0);
  long long cpu = ns(CLOCK_PROCESS_CPUTIME_ID);
  volatile unsigned sink = 0;
  for (unsigned i = 0; i < 50000000u; ++i) sink += i;
  printf("process cputime advances: %d\n", ns(CLOCK_PROCESS_CPUTIME_ID) > cpu);
  return 0;
}
