// exit() with the status given as the first argument; output before it is flushed.
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  printf("exiting with %s\n", argc > 1 ? argv[1] : "0");
  exit(argc > 1 ? atoi(argv[1]) : 0);
}
