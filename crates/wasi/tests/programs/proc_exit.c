/* proc_exit: prints "before", flushes, then calls __wasi_proc_exit(7)
 * directly (bypassing libc's exit, so no atexit handlers or stdio flushing
 * happen).  Nothing else is printed; the exit status must be 7. */
#include <stdio.h>
#include <wasi/api.h>

int main(void) {
    puts("before");
    fflush(stdout);
    __wasi_proc_exit(7);
}
