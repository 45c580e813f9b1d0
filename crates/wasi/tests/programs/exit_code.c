/* exit_code: prints "exiting with N" and exits with status N = atoi(argv[1]). */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        puts("FAIL: usage: exit_code N");
        return 1;
    }
    int code = atoi(argv[1]);
    printf("exiting with %d\n", code);
    fflush(stdout);
    exit(code);
}
