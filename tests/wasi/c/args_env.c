// Arguments and environment as the program sees them.
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) printf("argv[%d] = %s\n", i, argv[i]);
  const char* names[] = {"GREETING", "EMPTY", "UNSET"};
  for (int i = 0; i < 3; ++i) {
    const char* value = getenv(names[i]);
    printf("%s %s%s%s\n", names[i], value ? "= '" : "unset", value ? value : "", value ? "'" : "");
  }
  return 0;
}
