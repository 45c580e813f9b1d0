/* lz77: an LZ77 compressor and decompressor over generated text.
 *
 * Generates about 4 MiB of deterministic pseudo-English (a vocabulary of
 * made-up words drawn with a skewed distribution, sentences, paragraphs),
 * writes it to DIR/lz77_input.txt, reads it back, compresses it with a
 * hash-chain LZ77 (64 KiB window, matches of 4..259 bytes, lazy matching
 * one byte ahead), writes the compressed stream to DIR/lz77_output.lz, reads
 * that back, decompresses it and checks the round trip.  Prints the sizes
 * and FNV-1a hashes; exits 0 on success, 1 on any mismatch or I/O error.
 *
 * Usage: lz77 [DIR]   (DIR defaults to /sandbox)
 *
 * Stream format: groups of up to 8 items, each group led by a flag byte
 * whose bit i (LSB first) says whether item i is a match (3 bytes: 16-bit
 * little-endian distance 1..65535, then length-4) or a literal (1 byte).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INPUT_SIZE (4u << 20)
#define WINDOW 65535u
#define MIN_MATCH 4u
#define MAX_MATCH 259u
#define HASH_BITS 16
#define HASH_SIZE (1u << HASH_BITS)
#define MAX_CHAIN 48
#define GOOD_ENOUGH 64u

static uint32_t rng_state = 0x2545f491u;

static uint32_t rng(void) {
    /* xorshift32 */
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_state = x;
    return x;
}

static uint32_t fnv1a(const uint8_t *p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

static void die(const char *what) {
    printf("FAIL: %s\n", what);
    exit(1);
}

/* ---- input generation ---------------------------------------------------- */

#define VOCAB 1500

static char vocab[VOCAB][16];

static void make_vocab(void) {
    static const char *const onsets[] = {"b", "c", "d", "f", "g", "h", "l", "m", "n", "p",
                                         "r", "s", "t", "v", "w", "st", "tr", "ch", "sh", "th",
                                         "pl", "gr", "br", "qu", ""};
    static const char *const vowels[] = {"a", "e", "i", "o", "u", "ea", "ou", "ai", "ie", "y"};
    static const char *const codas[] = {"", "", "n", "r", "s", "t", "l", "nd", "ng", "ck", "st", "m"};
    for (int w = 0; w < VOCAB; w++) {
        char *s = vocab[w];
        s[0] = 0;
        int syllables = 1 + (int)(rng() % 3);
        for (int k = 0; k < syllables; k++) {
            /* one rng() call per statement: the order in which an
             * initializer list's expressions are evaluated is unspecified */
            const char *parts[3];
            parts[0] = onsets[rng() % (sizeof onsets / sizeof onsets[0])];
            parts[1] = vowels[rng() % (sizeof vowels / sizeof vowels[0])];
            parts[2] = codas[rng() % (sizeof codas / sizeof codas[0])];
            for (int j = 0; j < 3; j++) {
                if (strlen(s) + strlen(parts[j]) < sizeof vocab[0])
                    strcat(s, parts[j]);
            }
        }
        if (s[0] == 0)
            strcpy(s, "a");
    }
}

/* A skewed choice: small indices are much more frequent (roughly Zipf). */
static const char *pick_word(void) {
    uint32_t r = rng();
    uint32_t a = r % VOCAB, b = (r >> 11) % VOCAB, c = (r >> 21) % VOCAB;
    uint32_t m = a < b ? a : b;
    m = m < c ? m : c;
    return vocab[m];
}

static size_t generate(uint8_t *out, size_t size) {
    size_t n = 0;
    int sentence_words = 0, sentences = 0;
    int capital = 1;
    while (n + 64 < size) {
        const char *w = pick_word();
        size_t len = strlen(w);
        memcpy(out + n, w, len);
        if (capital && out[n] >= 'a' && out[n] <= 'z')
            out[n] = (uint8_t)(out[n] - 'a' + 'A');
        capital = 0;
        n += len;
        sentence_words++;
        uint32_t r = rng() % 100;
        if (sentence_words > 4 && r < 12) {
            out[n++] = (r < 2) ? '?' : (r < 3 ? '!' : '.');
            sentence_words = 0;
            capital = 1;
            if (++sentences % (4 + (int)(rng() % 5)) == 0) {
                out[n++] = '\n';
                out[n++] = '\n';
            } else {
                out[n++] = ' ';
            }
        } else if (r < 18) {
            out[n++] = ',';
            out[n++] = ' ';
        } else if (r < 19) {
            n += (size_t)sprintf((char *)out + n, " %u ", rng() % 10000);
        } else {
            out[n++] = ' ';
        }
    }
    while (n < size)
        out[n++] = '\n';
    return n;
}

/* ---- compression --------------------------------------------------------- */

static uint32_t hash4(const uint8_t *p) {
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return (v * 2654435761u) >> (32 - HASH_BITS);
}

static int32_t head[HASH_SIZE];
static int32_t *prev_pos; /* prev_pos[i & WINDOW_MASK] */
#define WINDOW_MASK 0xffffu

static void insert(const uint8_t *in, uint32_t pos) {
    uint32_t h = hash4(in + pos);
    prev_pos[pos & WINDOW_MASK] = head[h];
    head[h] = (int32_t)pos;
}

/* Longest match for position pos; returns its length (0 if < MIN_MATCH). */
static uint32_t longest_match(const uint8_t *in, uint32_t n, uint32_t pos, uint32_t *dist) {
    uint32_t best = 0;
    uint32_t limit = n - pos < MAX_MATCH ? n - pos : MAX_MATCH;
    if (limit < MIN_MATCH)
        return 0;
    int32_t cand = head[hash4(in + pos)];
    int chain = MAX_CHAIN;
    while (cand >= 0 && chain-- > 0) {
        uint32_t c = (uint32_t)cand;
        if (pos - c > WINDOW)
            break;
        if (in[c + best] == in[pos + best] && in[c] == in[pos]) {
            uint32_t len = 0;
            while (len < limit && in[c + len] == in[pos + len])
                len++;
            if (len > best) {
                best = len;
                *dist = pos - c;
                if (len >= limit || len >= GOOD_ENOUGH)
                    break;
            }
        }
        int32_t next = prev_pos[c & WINDOW_MASK];
        if (next >= cand)
            break; /* the slot was overwritten by a newer position */
        cand = next;
    }
    return best >= MIN_MATCH ? best : 0;
}

struct writer {
    uint8_t *out;
    size_t n;
    size_t flag_at;
    int items;
};

static void put_item(struct writer *w, int is_match, uint32_t a, uint32_t b) {
    if (w->items == 0) {
        w->flag_at = w->n++;
        w->out[w->flag_at] = 0;
    }
    if (is_match) {
        w->out[w->flag_at] |= (uint8_t)(1u << w->items);
        w->out[w->n++] = (uint8_t)(a & 0xff);
        w->out[w->n++] = (uint8_t)(a >> 8);
        w->out[w->n++] = (uint8_t)(b - MIN_MATCH);
    } else {
        w->out[w->n++] = (uint8_t)a;
    }
    w->items = (w->items + 1) & 7;
}

static size_t compress(const uint8_t *in, uint32_t n, uint8_t *out) {
    struct writer w = {out, 0, 0, 0};
    for (uint32_t i = 0; i < HASH_SIZE; i++)
        head[i] = -1;
    uint32_t pos = 0;
    while (pos < n) {
        uint32_t dist = 0, len = longest_match(in, n, pos, &dist);
        if (len && pos + 1 < n) {
            /* lazy evaluation: prefer a longer match starting one byte later */
            if (n - pos - 1 >= MIN_MATCH) {
                insert(in, pos);
                uint32_t dist2 = 0, len2 = longest_match(in, n, pos + 1, &dist2);
                if (len2 > len + 1) {
                    put_item(&w, 0, in[pos], 0);
                    pos++;
                    len = len2;
                    dist = dist2;
                } else {
                    put_item(&w, 1, dist, len);
                    for (uint32_t k = 1; k < len; k++)
                        if (pos + k + MIN_MATCH <= n)
                            insert(in, pos + k);
                    pos += len;
                    continue;
                }
            }
            put_item(&w, 1, dist, len);
            for (uint32_t k = 0; k < len; k++)
                if (pos + k + MIN_MATCH <= n)
                    insert(in, pos + k);
            pos += len;
        } else {
            if (pos + MIN_MATCH <= n)
                insert(in, pos);
            put_item(&w, 0, in[pos], 0);
            pos++;
        }
    }
    return w.n;
}

static size_t decompress(const uint8_t *in, size_t n, uint8_t *out, size_t cap) {
    size_t i = 0, o = 0;
    while (i < n) {
        uint8_t flags = in[i++];
        for (int k = 0; k < 8 && i < n; k++) {
            if (flags & (1u << k)) {
                if (i + 3 > n)
                    die("truncated match");
                uint32_t dist = (uint32_t)in[i] | (uint32_t)in[i + 1] << 8;
                uint32_t len = (uint32_t)in[i + 2] + MIN_MATCH;
                i += 3;
                if (dist == 0 || dist > o || o + len > cap)
                    die("bad match");
                uint8_t *d = out + o;
                const uint8_t *s = d - dist;
                for (uint32_t j = 0; j < len; j++)
                    d[j] = s[j];
                o += len;
            } else {
                if (o >= cap)
                    die("output overflow");
                out[o++] = in[i++];
            }
        }
    }
    return o;
}

/* ---- files --------------------------------------------------------------- */

static void write_file(const char *path, const uint8_t *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f)
        die("fopen for writing");
    size_t off = 0;
    while (off < n) {
        size_t chunk = n - off < 65536 ? n - off : 65536;
        if (fwrite(p + off, 1, chunk, f) != chunk)
            die("fwrite");
        off += chunk;
    }
    if (fclose(f) != 0)
        die("fclose");
}

static uint8_t *read_file(const char *path, size_t *n) {
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
    if (ferror(f))
        die("fread");
    fclose(f);
    *n = len;
    return p;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/sandbox";
    char in_path[512], out_path[512];
    snprintf(in_path, sizeof in_path, "%s/lz77_input.txt", dir);
    snprintf(out_path, sizeof out_path, "%s/lz77_output.lz", dir);

    make_vocab();
    uint8_t *text = malloc(INPUT_SIZE);
    prev_pos = malloc((WINDOW_MASK + 1) * sizeof *prev_pos);
    if (!text || !prev_pos)
        die("malloc");
    size_t n = generate(text, INPUT_SIZE);
    uint32_t text_hash = fnv1a(text, n);
    write_file(in_path, text, n);
    free(text);

    size_t n2;
    uint8_t *input = read_file(in_path, &n2);
    if (n2 != n || fnv1a(input, n2) != text_hash)
        die("input file read back differs");

    uint8_t *packed = malloc(n + n / 8 + 16);
    if (!packed)
        die("malloc");
    size_t packed_len = compress(input, (uint32_t)n, packed);
    uint32_t packed_hash = fnv1a(packed, packed_len);
    write_file(out_path, packed, packed_len);
    free(packed);

    size_t packed_len2;
    uint8_t *packed2 = read_file(out_path, &packed_len2);
    if (packed_len2 != packed_len || fnv1a(packed2, packed_len2) != packed_hash)
        die("compressed file read back differs");

    uint8_t *unpacked = malloc(n);
    if (!unpacked)
        die("malloc");
    size_t unpacked_len = decompress(packed2, packed_len2, unpacked, n);
    if (unpacked_len != n || memcmp(unpacked, input, n) != 0)
        die("round trip differs");

    printf("input %zu bytes fnv1a %08x\n", n, (unsigned)text_hash);
    printf("compressed %zu bytes (%.1f%%) fnv1a %08x\n", packed_len,
           100.0 * (double)packed_len / (double)n, (unsigned)packed_hash);
    printf("round trip ok\n");
    free(input);
    free(packed2);
    free(unpacked);
    free(prev_pos);
    return 0;
}
