/* json: generate a JSON document, parse it into a tree, walk the tree.
 *
 * Builds a deterministic ~3 MiB JSON document in memory (an object holding
 * an array of records with nested objects and arrays, strings with escapes
 * including \uXXXX and surrogate pairs, integers, decimals with exponents,
 * booleans and nulls), parses it with a recursive-descent parser into a
 * tree of nodes (objects and arrays as child lists, strings unescaped to
 * UTF-8, numbers converted to double), then walks the tree computing counts
 * and sums, serializes the tree back to compact JSON and checks that a
 * second parse of that gives the same figures.  Writes the serialized form
 * to DIR/json_output.json.  Prints the figures; exits 0 on success.
 *
 * Usage: json [DIR]   (DIR defaults to /sandbox)
 *
 * Only arithmetic and exact powers of ten are used on doubles (no libm), so
 * the output is the same under any IEEE-754 C implementation.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORDS 9000

static void die(const char *what) {
    printf("FAIL: %s\n", what);
    exit(1);
}

static uint32_t rng_state = 0x9e3779b9u;

static uint32_t rng(void) {
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_state = x;
    return x;
}

/* ---- growable byte buffer ------------------------------------------------ */

struct buf {
    char *p;
    size_t n, cap;
};

static void reserve(struct buf *b, size_t extra) {
    if (b->n + extra <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + extra)
        cap *= 2;
    b->p = realloc(b->p, cap);
    if (!b->p)
        die("realloc");
    b->cap = cap;
}

static void put(struct buf *b, const char *s, size_t n) {
    reserve(b, n);
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void puts_(struct buf *b, const char *s) { put(b, s, strlen(s)); }

static void putc_(struct buf *b, char c) {
    reserve(b, 1);
    b->p[b->n++] = c;
}

/* ---- generator ----------------------------------------------------------- */

static const char *const words[] = {
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
    "india", "juliett", "kilo", "lima", "mike", "november", "oscar", "papa",
    "quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey",
    "xray", "yankee", "zulu", "caf\\u00e9", "na\\u00efve", "\\ud83d\\ude00",
    "tab\\there", "quote\\\"d", "back\\\\slash", "line\\nbreak", "\\u65e5\\u672c",
};
#define NWORDS (sizeof words / sizeof words[0])

static void gen_string(struct buf *b, int nwords) {
    putc_(b, '"');
    for (int i = 0; i < nwords; i++) {
        if (i)
            putc_(b, ' ');
        puts_(b, words[rng() % NWORDS]);
    }
    putc_(b, '"');
}

static void gen_number(struct buf *b) {
    char tmp[48];
    /* one rng() call per statement: argument evaluation order is unspecified */
    uint32_t kind = rng() % 4;
    int32_t whole = (int32_t)(rng() % 200000) - 100000;
    uint32_t r1 = rng(), r2 = rng(), r3 = rng();
    switch (kind) {
    case 0:
        snprintf(tmp, sizeof tmp, "%d", (int)whole);
        break;
    case 1:
        snprintf(tmp, sizeof tmp, "%d.%03u", (int)whole, r1 % 1000);
        break;
    case 2:
        snprintf(tmp, sizeof tmp, "%u.%02ue%d", r1 % 10, r2 % 100, (int)(r3 % 7));
        break;
    default:
        snprintf(tmp, sizeof tmp, "-0.%04uE-%u", r1 % 10000, 1 + r2 % 3);
        break;
    }
    puts_(b, tmp);
}

static void gen_value(struct buf *b, int depth);

static void gen_object(struct buf *b, int depth, int members) {
    static const char *const keys[] = {"id", "name", "tags", "score", "active",
                                       "meta", "values", "note", "child", "extra"};
    putc_(b, '{');
    for (int i = 0; i < members; i++) {
        if (i)
            putc_(b, ',');
        putc_(b, '"');
        puts_(b, keys[(i + (int)(rng() % 3)) % 10]);
        char tmp[16];
        snprintf(tmp, sizeof tmp, "_%d", i);
        puts_(b, tmp);
        puts_(b, "\":");
        gen_value(b, depth + 1);
    }
    putc_(b, '}');
}

static void gen_array(struct buf *b, int depth, int items) {
    putc_(b, '[');
    for (int i = 0; i < items; i++) {
        if (i)
            putc_(b, ',');
        gen_value(b, depth + 1);
    }
    putc_(b, ']');
}

static void gen_value(struct buf *b, int depth) {
    uint32_t r = rng() % 100;
    if (depth < 5 && r < 12)
        gen_object(b, depth, 1 + (int)(rng() % 5));
    else if (depth < 5 && r < 22)
        gen_array(b, depth, (int)(rng() % 7));
    else if (r < 50)
        gen_number(b);
    else if (r < 80)
        gen_string(b, 1 + (int)(rng() % 4));
    else if (r < 88)
        puts_(b, "true");
    else if (r < 95)
        puts_(b, "false");
    else
        puts_(b, "null");
}

static void generate(struct buf *b) {
    puts_(b, "{\"format\":\"keel-bench\",\"version\":3,\"records\":[");
    for (int i = 0; i < RECORDS; i++) {
        if (i)
            putc_(b, ',');
        char tmp[64];
        snprintf(tmp, sizeof tmp, "{\"id\":%d,\"name\":", i);
        puts_(b, tmp);
        gen_string(b, 2);
        puts_(b, ",\"tags\":");
        gen_array(b, 2, (int)(rng() % 5));
        puts_(b, ",\"score\":");
        gen_number(b);
        puts_(b, ",\"active\":");
        puts_(b, rng() & 1 ? "true" : "false");
        puts_(b, ",\"payload\":");
        gen_object(b, 1, 2 + (int)(rng() % 6));
        putc_(b, '}');
    }
    puts_(b, "],\"end\":null}");
}

/* ---- tree ---------------------------------------------------------------- */

enum kind { J_NULL, J_FALSE, J_TRUE, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT };

struct node {
    uint8_t kind;
    uint32_t key;    /* object members: offset of the key in the string pool */
    uint32_t keylen;
    uint32_t str;    /* strings: offset in the string pool */
    uint32_t len;    /* strings: byte length; arrays/objects: child count */
    uint32_t first;  /* arrays/objects: first child (0 = none) */
    uint32_t next;   /* next sibling (0 = none) */
    double num;
};

struct tree {
    struct node *nodes;
    uint32_t n, cap;
    struct buf pool; /* unescaped strings and keys */
};

static uint32_t new_node(struct tree *t, enum kind k) {
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 1024;
        t->nodes = realloc(t->nodes, t->cap * sizeof *t->nodes);
        if (!t->nodes)
            die("realloc nodes");
    }
    struct node *nd = &t->nodes[t->n];
    memset(nd, 0, sizeof *nd);
    nd->kind = (uint8_t)k;
    return t->n++;
}

/* ---- parser -------------------------------------------------------------- */

struct parser {
    const char *s;
    size_t pos, n;
    struct tree *t;
    int depth;
};

static _Noreturn void parse_error(struct parser *p, const char *what) {
    printf("FAIL: parse error at %zu: %s\n", p->pos, what);
    exit(1);
}

static void skip_ws(struct parser *p) {
    while (p->pos < p->n) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static uint32_t parse_hex4(struct parser *p) {
    if (p->pos + 4 > p->n)
        parse_error(p, "short \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p->s[p->pos++]);
        if (h < 0)
            parse_error(p, "bad hex digit");
        v = v << 4 | (uint32_t)h;
    }
    return v;
}

static void put_utf8(struct buf *b, uint32_t cp) {
    char tmp[4];
    size_t n;
    if (cp < 0x80) {
        tmp[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        tmp[0] = (char)(0xc0 | cp >> 6);
        tmp[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        tmp[0] = (char)(0xe0 | cp >> 12);
        tmp[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        tmp[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        tmp[0] = (char)(0xf0 | cp >> 18);
        tmp[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        tmp[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        tmp[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    put(b, tmp, n);
}

/* Parses a string literal into the pool; returns its offset, sets *len. */
static uint32_t parse_string(struct parser *p, uint32_t *len) {
    struct buf *pool = &p->t->pool;
    if (p->s[p->pos] != '"')
        parse_error(p, "expected string");
    p->pos++;
    uint32_t start = (uint32_t)pool->n;
    for (;;) {
        if (p->pos >= p->n)
            parse_error(p, "unterminated string");
        /* copy the run of plain characters in one go */
        size_t run = p->pos;
        while (run < p->n && p->s[run] != '"' && p->s[run] != '\\' &&
               (unsigned char)p->s[run] >= 0x20)
            run++;
        put(pool, p->s + p->pos, run - p->pos);
        p->pos = run;
        if (p->pos >= p->n)
            parse_error(p, "unterminated string");
        char c = p->s[p->pos++];
        if (c == '"')
            break;
        if (c != '\\')
            parse_error(p, "control character in string");
        if (p->pos >= p->n)
            parse_error(p, "unterminated escape");
        char e = p->s[p->pos++];
        switch (e) {
        case '"': putc_(pool, '"'); break;
        case '\\': putc_(pool, '\\'); break;
        case '/': putc_(pool, '/'); break;
        case 'b': putc_(pool, '\b'); break;
        case 'f': putc_(pool, '\f'); break;
        case 'n': putc_(pool, '\n'); break;
        case 'r': putc_(pool, '\r'); break;
        case 't': putc_(pool, '\t'); break;
        case 'u': {
            uint32_t cp = parse_hex4(p);
            if (cp >= 0xd800 && cp < 0xdc00) {
                if (p->pos + 2 > p->n || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
                    parse_error(p, "lone high surrogate");
                p->pos += 2;
                uint32_t lo = parse_hex4(p);
                if (lo < 0xdc00 || lo >= 0xe000)
                    parse_error(p, "bad low surrogate");
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp < 0xe000) {
                parse_error(p, "lone low surrogate");
            }
            put_utf8(pool, cp);
            break;
        }
        default:
            parse_error(p, "bad escape");
        }
    }
    *len = (uint32_t)pool->n - start;
    return start;
}

static const double pow10_table[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static double parse_number(struct parser *p) {
    int neg = 0;
    if (p->s[p->pos] == '-') {
        neg = 1;
        p->pos++;
    }
    if (p->pos >= p->n || p->s[p->pos] < '0' || p->s[p->pos] > '9')
        parse_error(p, "bad number");
    uint64_t mant = 0;
    int digits = 0, exp10 = 0;
    if (p->s[p->pos] == '0') {
        p->pos++;
    } else {
        while (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
            if (digits < 19) {
                mant = mant * 10 + (uint64_t)(p->s[p->pos] - '0');
                digits += mant != 0;
            } else {
                exp10++;
            }
            p->pos++;
        }
    }
    if (p->pos < p->n && p->s[p->pos] == '.') {
        p->pos++;
        if (p->pos >= p->n || p->s[p->pos] < '0' || p->s[p->pos] > '9')
            parse_error(p, "bad fraction");
        while (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
            if (digits < 19) {
                mant = mant * 10 + (uint64_t)(p->s[p->pos] - '0');
                digits += mant != 0;
                exp10--;
            }
            p->pos++;
        }
    }
    if (p->pos < p->n && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        p->pos++;
        int eneg = 0, e = 0;
        if (p->pos < p->n && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
            eneg = p->s[p->pos++] == '-';
        if (p->pos >= p->n || p->s[p->pos] < '0' || p->s[p->pos] > '9')
            parse_error(p, "bad exponent");
        while (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
            if (e < 10000)
                e = e * 10 + (p->s[p->pos] - '0');
            p->pos++;
        }
        exp10 += eneg ? -e : e;
    }
    double v = (double)mant;
    /* exact when mant < 2^53 and |exp10| <= 22, as in all generated numbers */
    while (exp10 > 22) {
        v *= 1e22;
        exp10 -= 22;
    }
    while (exp10 < -22) {
        v /= 1e22;
        exp10 += 22;
    }
    v = exp10 >= 0 ? v * pow10_table[exp10] : v / pow10_table[-exp10];
    return neg ? -v : v;
}

static int match_literal(struct parser *p, const char *lit) {
    size_t n = strlen(lit);
    if (p->pos + n <= p->n && memcmp(p->s + p->pos, lit, n) == 0) {
        p->pos += n;
        return 1;
    }
    return 0;
}

static uint32_t parse_value(struct parser *p);

static uint32_t parse_container(struct parser *p, int object) {
    struct tree *t = p->t;
    uint32_t id = new_node(t, object ? J_OBJECT : J_ARRAY);
    char close = object ? '}' : ']';
    if (++p->depth > 64)
        parse_error(p, "nesting too deep");
    p->pos++; /* '{' or '[' */
    skip_ws(p);
    uint32_t last = 0, count = 0;
    if (p->pos < p->n && p->s[p->pos] == close) {
        p->pos++;
    } else {
        for (;;) {
            skip_ws(p);
            uint32_t key = 0, keylen = 0;
            if (object) {
                if (p->pos >= p->n || p->s[p->pos] != '"')
                    parse_error(p, "expected key");
                key = parse_string(p, &keylen);
                skip_ws(p);
                if (p->pos >= p->n || p->s[p->pos] != ':')
                    parse_error(p, "expected ':'");
                p->pos++;
            }
            uint32_t child = parse_value(p);
            t->nodes[child].key = key;
            t->nodes[child].keylen = keylen;
            if (last)
                t->nodes[last].next = child;
            else
                t->nodes[id].first = child;
            last = child;
            count++;
            skip_ws(p);
            if (p->pos < p->n && p->s[p->pos] == ',') {
                p->pos++;
                continue;
            }
            if (p->pos < p->n && p->s[p->pos] == close) {
                p->pos++;
                break;
            }
            parse_error(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    t->nodes[id].len = count;
    p->depth--;
    return id;
}

static uint32_t parse_value(struct parser *p) {
    skip_ws(p);
    if (p->pos >= p->n)
        parse_error(p, "unexpected end");
    char c = p->s[p->pos];
    if (c == '{')
        return parse_container(p, 1);
    if (c == '[')
        return parse_container(p, 0);
    if (c == '"') {
        uint32_t len;
        uint32_t off = parse_string(p, &len);
        uint32_t id = new_node(p->t, J_STRING);
        p->t->nodes[id].str = off;
        p->t->nodes[id].len = len;
        return id;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        double v = parse_number(p);
        uint32_t id = new_node(p->t, J_NUMBER);
        p->t->nodes[id].num = v;
        return id;
    }
    if (match_literal(p, "true"))
        return new_node(p->t, J_TRUE);
    if (match_literal(p, "false"))
        return new_node(p->t, J_FALSE);
    if (match_literal(p, "null"))
        return new_node(p->t, J_NULL);
    parse_error(p, "unexpected character");
}

static uint32_t parse(const char *s, size_t n, struct tree *t) {
    memset(t, 0, sizeof *t);
    new_node(t, J_NULL); /* index 0 means "none" */
    putc_(&t->pool, 0);  /* offset 0 is the empty key */
    struct parser p = {s, 0, n, t, 0};
    uint32_t root = parse_value(&p);
    skip_ws(&p);
    if (p.pos != n)
        parse_error(&p, "trailing characters");
    return root;
}

/* ---- walking ------------------------------------------------------------- */

struct stats {
    uint32_t counts[7];
    uint32_t max_depth;
    uint64_t string_bytes, key_bytes;
    uint64_t members;
    double number_sum, abs_sum;
    int64_t int_sum;        /* sum of the integral numbers */
    uint32_t text_hash;     /* FNV-1a over keys and strings, in document order */
    double max_score;
    uint32_t active_records;
};

static void hash_bytes(uint32_t *h, const char *p, size_t n) {
    uint32_t x = *h;
    for (size_t i = 0; i < n; i++) {
        x ^= (uint8_t)p[i];
        x *= 16777619u;
    }
    *h = x;
}

static void walk(const struct tree *t, uint32_t id, uint32_t depth, struct stats *st) {
    const struct node *nd = &t->nodes[id];
    st->counts[nd->kind]++;
    if (depth > st->max_depth)
        st->max_depth = depth;
    if (nd->keylen) {
        st->key_bytes += nd->keylen;
        hash_bytes(&st->text_hash, t->pool.p + nd->key, nd->keylen);
    }
    switch (nd->kind) {
    case J_NUMBER:
        st->number_sum += nd->num;
        st->abs_sum += nd->num < 0 ? -nd->num : nd->num;
        if (nd->num == (double)(int64_t)nd->num)
            st->int_sum += (int64_t)nd->num;
        break;
    case J_STRING:
        st->string_bytes += nd->len;
        hash_bytes(&st->text_hash, t->pool.p + nd->str, nd->len);
        break;
    case J_ARRAY:
    case J_OBJECT:
        if (nd->kind == J_OBJECT)
            st->members += nd->len;
        for (uint32_t c = nd->first; c; c = t->nodes[c].next)
            walk(t, c, depth + 1, st);
        break;
    default:
        break;
    }
}

static const struct node *member(const struct tree *t, uint32_t obj, const char *key) {
    size_t kl = strlen(key);
    for (uint32_t c = t->nodes[obj].first; c; c = t->nodes[c].next)
        if (t->nodes[c].keylen == kl && memcmp(t->pool.p + t->nodes[c].key, key, kl) == 0)
            return &t->nodes[c];
    return NULL;
}

/* Query the records the way an application would. */
static void query(const struct tree *t, uint32_t root, struct stats *st) {
    const struct node *records = member(t, root, "records");
    if (!records || records->kind != J_ARRAY || records->len != RECORDS)
        die("records");
    st->max_score = -1e300;
    for (uint32_t r = records->first; r; r = t->nodes[r].next) {
        const struct node *score = member(t, r, "score");
        const struct node *active = member(t, r, "active");
        if (!score || score->kind != J_NUMBER || !active)
            die("record fields");
        if (score->num > st->max_score)
            st->max_score = score->num;
        st->active_records += active->kind == J_TRUE;
    }
}

/* ---- serializer ---------------------------------------------------------- */

static void ser_string(struct buf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    putc_(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': puts_(b, "\\\""); break;
        case '\\': puts_(b, "\\\\"); break;
        case '\n': puts_(b, "\\n"); break;
        case '\t': puts_(b, "\\t"); break;
        case '\r': puts_(b, "\\r"); break;
        default:
            if (c < 0x20) {
                char tmp[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                put(b, tmp, 6);
            } else {
                putc_(b, (char)c);
            }
        }
    }
    putc_(b, '"');
}

/* Numbers as an exact decimal: integer part and up to 9 fraction digits,
 * enough for every generated value (and exact to parse back). */
static void ser_number(struct buf *b, double v) {
    char tmp[64];
    if (v == (double)(int64_t)v && v < 9e15 && v > -9e15) {
        snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    } else {
        int neg = v < 0;
        double a = neg ? -v : v;
        /* round to 9 fraction digits in integer arithmetic */
        int64_t scaled = (int64_t)(a * 1e9 + 0.5);
        snprintf(tmp, sizeof tmp, "%s%lld.%09lld", neg ? "-" : "", (long long)(scaled / 1000000000),
                 (long long)(scaled % 1000000000));
    }
    puts_(b, tmp);
}

static void serialize(const struct tree *t, uint32_t id, struct buf *b) {
    const struct node *nd = &t->nodes[id];
    switch (nd->kind) {
    case J_NULL: puts_(b, "null"); break;
    case J_TRUE: puts_(b, "true"); break;
    case J_FALSE: puts_(b, "false"); break;
    case J_NUMBER: ser_number(b, nd->num); break;
    case J_STRING: ser_string(b, t->pool.p + nd->str, nd->len); break;
    case J_ARRAY:
    case J_OBJECT: {
        int obj = nd->kind == J_OBJECT;
        putc_(b, obj ? '{' : '[');
        for (uint32_t c = nd->first; c; c = t->nodes[c].next) {
            if (c != nd->first)
                putc_(b, ',');
            if (obj) {
                ser_string(b, t->pool.p + t->nodes[c].key, t->nodes[c].keylen);
                putc_(b, ':');
            }
            serialize(t, c, b);
        }
        putc_(b, obj ? '}' : ']');
        break;
    }
    }
}

static void analyse(const char *doc, size_t n, struct stats *st, struct tree *t, uint32_t *root) {
    *root = parse(doc, n, t);
    memset(st, 0, sizeof *st);
    st->text_hash = 2166136261u;
    walk(t, *root, 0, st);
    query(t, *root, st);
}

static void print_stats(const char *label, const struct stats *st) {
    printf("%s: null %u false %u true %u number %u string %u array %u object %u\n", label,
           st->counts[J_NULL], st->counts[J_FALSE], st->counts[J_TRUE], st->counts[J_NUMBER],
           st->counts[J_STRING], st->counts[J_ARRAY], st->counts[J_OBJECT]);
    printf("%s: members %llu max depth %u string bytes %llu key bytes %llu text fnv1a %08x\n", label,
           (unsigned long long)st->members, st->max_depth, (unsigned long long)st->string_bytes,
           (unsigned long long)st->key_bytes, (unsigned)st->text_hash);
    printf("%s: number sum %.6f abs sum %.6f integer sum %lld max score %.6f active %u\n", label,
           st->number_sum, st->abs_sum, (long long)st->int_sum, st->max_score, st->active_records);
}

static int same_stats(const struct stats *a, const struct stats *b) {
    return memcmp(a->counts, b->counts, sizeof a->counts) == 0 && a->max_depth == b->max_depth &&
           a->string_bytes == b->string_bytes && a->key_bytes == b->key_bytes &&
           a->members == b->members && a->int_sum == b->int_sum &&
           a->text_hash == b->text_hash && a->max_score == b->max_score &&
           a->active_records == b->active_records && a->number_sum == b->number_sum;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/sandbox";
    char path[512];
    snprintf(path, sizeof path, "%s/json_output.json", dir);

    struct buf doc = {0};
    generate(&doc);
    uint32_t h = 2166136261u;
    hash_bytes(&h, doc.p, doc.n);
    printf("document: %zu bytes fnv1a %08x\n", doc.n, (unsigned)h);

    struct tree t1, t2;
    struct stats s1, s2;
    uint32_t root1, root2;
    analyse(doc.p, doc.n, &s1, &t1, &root1);
    printf("nodes: %u string pool %zu bytes\n", t1.n - 1, t1.pool.n);
    print_stats("parsed", &s1);

    struct buf out = {0};
    serialize(&t1, root1, &out);
    uint32_t h2 = 2166136261u;
    hash_bytes(&h2, out.p, out.n);
    printf("serialized: %zu bytes fnv1a %08x\n", out.n, (unsigned)h2);

    FILE *f = fopen(path, "wb");
    if (!f || fwrite(out.p, 1, out.n, f) != out.n || fclose(f) != 0)
        die("writing the serialized document");

    analyse(out.p, out.n, &s2, &t2, &root2);
    if (!same_stats(&s1, &s2)) {
        print_stats("reparsed", &s2);
        die("reparsed figures differ");
    }
    printf("reparse ok\n");
    free(doc.p);
    free(out.p);
    free(t1.nodes);
    free(t1.pool.p);
    free(t2.nodes);
    free(t2.pool.p);
    return 0;
}
