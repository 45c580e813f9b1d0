/* kvstore: a log-structured key-value store.
 *
 * Runs a deterministic mix of puts, overwrites, deletes and gets against an
 * open-addressing hash table, appending every change to DIR/kv.log (records
 * with a CRC-32 each).  Then reopens the log into a fresh table by replaying
 * it, checks that both tables hold the same data, compacts the live entries
 * (sorted by key) into DIR/kv.snap, loads the snapshot into a third table
 * and checks that too.  Prints the counts, file sizes and hashes; exits 0 on
 * success.
 *
 * Usage: kvstore [DIR]   (DIR defaults to /sandbox)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPS 150000
#define KEY_SPACE 60000

static void die(const char *what) {
    printf("FAIL: %s\n", what);
    exit(1);
}

static uint32_t rng_state = 0x1234567u;

static uint32_t rng(void) {
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_state = x;
    return x;
}

static uint32_t crc_table[256];

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32_update(uint32_t crc, const void *data, size_t n) {
    const uint8_t *p = data;
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static uint32_t hash_key(const char *k, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)k[i];
        h *= 16777619u;
    }
    h ^= h >> 15;
    h *= 0x2c1b3c6du;
    h ^= h >> 12;
    return h;
}

/* ---- hash table ---------------------------------------------------------- */

struct entry {
    char *key; /* NULL: empty; TOMBSTONE: deleted */
    char *val;
    uint32_t klen, vlen, hash;
};

static char tombstone_mark;
#define TOMBSTONE (&tombstone_mark)

struct table {
    struct entry *slots;
    uint32_t cap, live, used; /* used counts tombstones too */
};

static void table_init(struct table *t, uint32_t cap) {
    t->slots = calloc(cap, sizeof *t->slots);
    if (!t->slots)
        die("calloc");
    t->cap = cap;
    t->live = t->used = 0;
}

static struct entry *find_slot(struct table *t, const char *k, uint32_t klen, uint32_t h,
                               int for_insert) {
    uint32_t mask = t->cap - 1, i = h & mask;
    struct entry *grave = NULL;
    for (;;) {
        struct entry *e = &t->slots[i];
        if (e->key == NULL)
            return for_insert && grave ? grave : e;
        if (e->key == TOMBSTONE) {
            if (!grave)
                grave = e;
        } else if (e->hash == h && e->klen == klen && memcmp(e->key, k, klen) == 0) {
            return e;
        }
        i = (i + 1) & mask;
    }
}

static void table_put(struct table *t, const char *k, uint32_t klen, const char *v, uint32_t vlen);

static void grow(struct table *t) {
    struct table n;
    table_init(&n, t->live * 4 > t->cap ? t->cap * 2 : t->cap);
    for (uint32_t i = 0; i < t->cap; i++) {
        struct entry *e = &t->slots[i];
        if (e->key && e->key != TOMBSTONE) {
            struct entry *d = find_slot(&n, e->key, e->klen, e->hash, 1);
            *d = *e;
            n.live++;
            n.used++;
        }
    }
    free(t->slots);
    *t = n;
}

static void table_put(struct table *t, const char *k, uint32_t klen, const char *v, uint32_t vlen) {
    if ((t->used + 1) * 4 > t->cap * 3)
        grow(t);
    uint32_t h = hash_key(k, klen);
    struct entry *e = find_slot(t, k, klen, h, 1);
    if (e->key && e->key != TOMBSTONE) {
        if (e->vlen != vlen) {
            e->val = realloc(e->val, vlen ? vlen : 1);
            if (!e->val)
                die("realloc");
        }
        memcpy(e->val, v, vlen);
        e->vlen = vlen;
        return;
    }
    if (e->key == NULL)
        t->used++;
    e->key = malloc(klen);
    e->val = malloc(vlen ? vlen : 1);
    if (!e->key || !e->val)
        die("malloc");
    memcpy(e->key, k, klen);
    memcpy(e->val, v, vlen);
    e->klen = klen;
    e->vlen = vlen;
    e->hash = h;
    t->live++;
}

static int table_del(struct table *t, const char *k, uint32_t klen) {
    struct entry *e = find_slot(t, k, klen, hash_key(k, klen), 0);
    if (!e->key)
        return 0;
    free(e->key);
    free(e->val);
    e->key = TOMBSTONE;
    e->val = NULL;
    t->live--;
    return 1;
}

static const struct entry *table_get(struct table *t, const char *k, uint32_t klen) {
    const struct entry *e = find_slot(t, k, klen, hash_key(k, klen), 0);
    return e->key ? e : NULL;
}

static void table_free(struct table *t) {
    for (uint32_t i = 0; i < t->cap; i++)
        if (t->slots[i].key && t->slots[i].key != TOMBSTONE) {
            free(t->slots[i].key);
            free(t->slots[i].val);
        }
    free(t->slots);
}

/* ---- log records --------------------------------------------------------- */
/* [op u8: 1 put, 2 delete][klen u16][vlen u32][key][value][crc32 u32], LE */

static void put_u16(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static uint32_t get_u16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t log_bytes;

static void log_record(FILE *f, int op, const char *k, uint32_t klen, const char *v, uint32_t vlen) {
    uint8_t hdr[7], tail[4];
    hdr[0] = (uint8_t)op;
    put_u16(hdr + 1, klen);
    put_u32(hdr + 3, vlen);
    uint32_t crc = crc32_update(0, hdr, 7);
    crc = crc32_update(crc, k, klen);
    crc = crc32_update(crc, v, vlen);
    put_u32(tail, crc);
    if (fwrite(hdr, 1, 7, f) != 7 || fwrite(k, 1, klen, f) != klen ||
        (vlen && fwrite(v, 1, vlen, f) != vlen) || fwrite(tail, 1, 4, f) != 4)
        die("writing the log");
    log_bytes += 11u + klen + vlen;
}

static uint8_t *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f)
        die("fopen for reading");
    size_t cap = 1 << 20, len = 0;
    uint8_t *p = malloc(cap);
    for (;;) {
        if (len == cap) {
            cap *= 2;
            p = realloc(p, cap);
            if (!p)
                die("realloc");
        }
        size_t got = fread(p + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *n = len;
    return p;
}

/* Replays a log (or snapshot, which has the same format) into t. */
static uint32_t replay(struct table *t, const uint8_t *p, size_t n) {
    size_t i = 0;
    uint32_t records = 0;
    while (i < n) {
        if (n - i < 11)
            die("truncated record");
        uint32_t op = p[i], klen = get_u16(p + i + 1), vlen = get_u32(p + i + 3);
        if (n - i < 11u + (size_t)klen + vlen)
            die("truncated record");
        const char *k = (const char *)p + i + 7, *v = k + klen;
        uint32_t crc = crc32_update(0, p + i, 7u + klen + vlen);
        if (crc != get_u32(p + i + 7 + klen + vlen))
            die("record checksum");
        if (op == 1)
            table_put(t, k, klen, v, vlen);
        else if (op == 2)
            table_del(t, k, klen);
        else
            die("bad record type");
        i += 11u + klen + vlen;
        records++;
    }
    return records;
}

static int same_tables(struct table *a, struct table *b) {
    if (a->live != b->live)
        return 0;
    for (uint32_t i = 0; i < a->cap; i++) {
        const struct entry *e = &a->slots[i];
        if (!e->key || e->key == TOMBSTONE)
            continue;
        const struct entry *o = table_get(b, e->key, e->klen);
        if (!o || o->vlen != e->vlen || memcmp(o->val, e->val, e->vlen) != 0)
            return 0;
    }
    return 1;
}

static int cmp_entries(const void *a, const void *b) {
    const struct entry *x = *(const struct entry *const *)a, *y = *(const struct entry *const *)b;
    uint32_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    return x->klen < y->klen ? -1 : x->klen > y->klen;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/sandbox";
    char log_path[512], snap_path[512];
    snprintf(log_path, sizeof log_path, "%s/kv.log", dir);
    snprintf(snap_path, sizeof snap_path, "%s/kv.snap", dir);
    crc_init();

    struct table t;
    table_init(&t, 1024);
    FILE *log = fopen(log_path, "wb");
    if (!log)
        die("fopen log");
    static char logbuf[1 << 16];
    setvbuf(log, logbuf, _IOFBF, sizeof logbuf);

    uint32_t puts_n = 0, dels = 0, gets = 0, hits = 0, del_hits = 0;
    uint32_t get_hash = 2166136261u;
    char key[64], val[256];
    for (uint32_t op = 0; op < OPS; op++) {
        uint32_t r = rng();
        /* skewed key choice: half the traffic goes to 1/16 of the keys */
        uint32_t id = (r & 0x10000) ? rng() % (KEY_SPACE / 16) : rng() % KEY_SPACE;
        uint32_t klen = (uint32_t)snprintf(key, sizeof key, "user:%06u:%s", id,
                                           (id % 3 == 0) ? "profile" : (id % 3 == 1 ? "cart" : "session"));
        uint32_t kind = r % 100;
        if (kind < 55) {
            uint32_t vlen = 8 + rng() % 120;
            for (uint32_t j = 0; j < vlen; j++)
                val[j] = (char)('a' + (op + j * 7 + id) % 26);
            table_put(&t, key, klen, val, vlen);
            log_record(log, 1, key, klen, val, vlen);
            puts_n++;
        } else if (kind < 67) {
            del_hits += (uint32_t)table_del(&t, key, klen);
            log_record(log, 2, key, klen, "", 0);
            dels++;
        } else {
            const struct entry *e = table_get(&t, key, klen);
            gets++;
            if (e) {
                hits++;
                for (uint32_t j = 0; j < e->vlen; j++) {
                    get_hash ^= (uint8_t)e->val[j];
                    get_hash *= 16777619u;
                }
            }
        }
    }
    if (fclose(log) != 0)
        die("closing the log");
    printf("ops %u: puts %u deletes %u (%u hit) gets %u (%u hit, fnv1a %08x)\n", OPS, puts_n, dels,
           del_hits, gets, hits, (unsigned)get_hash);
    printf("live keys %u, log %llu bytes\n", t.live, (unsigned long long)log_bytes);

    /* reopen: replay the log */
    size_t log_len;
    uint8_t *log_data = read_all(log_path, &log_len);
    if (log_len != log_bytes)
        die("log size");
    uint32_t log_crc = crc32_update(0, log_data, log_len);
    struct table t2;
    table_init(&t2, 1024);
    uint32_t records = replay(&t2, log_data, log_len);
    free(log_data);
    if (!same_tables(&t, &t2) || !same_tables(&t2, &t))
        die("replayed table differs");
    printf("replayed %u records, log crc32 %08x\n", records, (unsigned)log_crc);

    /* compact: sorted snapshot of the live entries */
    const struct entry **live = malloc(t2.live * sizeof *live);
    if (!live)
        die("malloc");
    uint32_t n = 0;
    for (uint32_t i = 0; i < t2.cap; i++)
        if (t2.slots[i].key && t2.slots[i].key != TOMBSTONE)
            live[n++] = &t2.slots[i];
    qsort(live, n, sizeof *live, cmp_entries);
    FILE *snap = fopen(snap_path, "wb");
    if (!snap)
        die("fopen snapshot");
    uint64_t before = log_bytes;
    for (uint32_t i = 0; i < n; i++)
        log_record(snap, 1, live[i]->key, live[i]->klen, live[i]->val, live[i]->vlen);
    if (fclose(snap) != 0)
        die("closing the snapshot");
    uint64_t snap_bytes = log_bytes - before;
    free(live);

    size_t snap_len;
    uint8_t *snap_data = read_all(snap_path, &snap_len);
    if (snap_len != snap_bytes)
        die("snapshot size");
    uint32_t snap_crc = crc32_update(0, snap_data, snap_len);
    struct table t3;
    table_init(&t3, 1024);
    replay(&t3, snap_data, snap_len);
    free(snap_data);
    if (!same_tables(&t, &t3) || !same_tables(&t3, &t))
        die("snapshot table differs");
    printf("snapshot %u entries, %llu bytes, crc32 %08x\n", n, (unsigned long long)snap_bytes,
           (unsigned)snap_crc);
    printf("ok\n");
    table_free(&t);
    table_free(&t2);
    table_free(&t3);
    return 0;
}
