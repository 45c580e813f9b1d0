/* hello: prints "hello, world" and exits 0. */
#include <stdio.h>

int main(void) {
    puts("hello, world");
    return 0;
}
