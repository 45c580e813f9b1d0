/* env: prints the number of environment variables, then all of environ
 * sorted by variable name (ties broken by the whole string), one per line,
 * then the value of KEEL_TEST (or that it is unset). */
#include "common.h"

extern char **environ;

static int cmp_env(const void *a, const void *b) {
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    size_t nx = strcspn(x, "="), ny = strcspn(y, "=");
    size_t n = nx < ny ? nx : ny;
    int c = memcmp(x, y, n);
    if (c != 0)
        return c;
    if (nx != ny)
        return nx < ny ? -1 : 1;
    return strcmp(x, y);
}

int main(void) {
    size_t count = 0;
    while (environ && environ[count])
        count++;
    char **sorted = calloc(count + 1, sizeof *sorted);
    CHECK(sorted != NULL, "calloc");
    for (size_t i = 0; i < count; i++)
        sorted[i] = environ[i];
    qsort(sorted, count, sizeof *sorted, cmp_env);

    printf("count: %zu\n", count);
    for (size_t i = 0; i < count; i++)
        printf("env: %s\n", sorted[i]);
    const char *v = getenv("KEEL_TEST");
    if (v)
        printf("KEEL_TEST is set: %s\n", v);
    else
        printf("KEEL_TEST is not set\n");
    free(sorted);
    return 0;
}
