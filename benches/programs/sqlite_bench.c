/* sqlite_bench: our driver for SQLite (the amalgamation is not ours and is
 * not in this repository: build.sh takes sqlite3.c from the libsqlite3-sys
 * crate's source).
 *
 * Creates DIR/bench.db (rollback journal, exclusive locking mode,
 * synchronous=OFF so no fsync), a table of 50,000 generated rows inserted in
 * one transaction through a prepared statement, two secondary indexes, then
 * runs point lookups by primary key, indexed range queries, prefix queries,
 * an UPDATE and a DELETE, a grouped aggregate over a join, a sort and an
 * integrity check, and prints the results (hashes of the rows where there
 * are many).  Exits 0 on success.
 *
 * Usage: sqlite_bench [DIR]   (DIR defaults to /sandbox)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite3.h"

#define ROWS 50000
#define CATEGORIES 64

static sqlite3 *db;

static void die(const char *what) {
    printf("FAIL: %s: %s\n", what, db ? sqlite3_errmsg(db) : "");
    exit(1);
}

static void exec(const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        printf("FAIL: %s: %s\n", sql, err ? err : "?");
        exit(1);
    }
}

static sqlite3_stmt *prepare(const char *sql) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die(sql);
    return st;
}

static uint32_t rng_state = 0xdeadbeefu;

static uint32_t rng(void) {
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_state = x;
    return x;
}

static uint32_t fnv = 2166136261u;

static void hash_text(const unsigned char *s) {
    if (!s)
        s = (const unsigned char *)"<null>";
    for (; *s; s++) {
        fnv ^= *s;
        fnv *= 16777619u;
    }
    fnv ^= 0xff;
    fnv *= 16777619u;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/sandbox";
    char path[512], journal[520];
    snprintf(path, sizeof path, "%s/bench.db", dir);
    snprintf(journal, sizeof journal, "%s-journal", path);
    remove(path);
    remove(journal); /* left by an interrupted run: SQLite would roll it back */

    if (sqlite3_open(path, &db) != SQLITE_OK)
        die("open");
    /* One process owns the file: take the lock once and keep it.  (In the
     * WASI build SQLite locks with a DB.lock directory, a mkdir and rmdir
     * per transaction, which would make this a benchmark of the host's
     * file system.) */
    exec("PRAGMA locking_mode=EXCLUSIVE");
    exec("PRAGMA synchronous=OFF");
    exec("PRAGMA cache_size=-4096");
    exec("CREATE TABLE categories(id INTEGER PRIMARY KEY, label TEXT NOT NULL, weight REAL)");
    exec("CREATE TABLE items(id INTEGER PRIMARY KEY, category INTEGER NOT NULL, name TEXT NOT NULL,"
         " price REAL NOT NULL, qty INTEGER NOT NULL, note TEXT)");

    static const char *const syll[] = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo",
                                       "ze", "po", "qu", "ba", "do", "fi", "gu", "hy"};
    char name[64], note[160];

    exec("BEGIN");
    sqlite3_stmt *ins_cat = prepare("INSERT INTO categories VALUES(?, ?, ?)");
    for (int c = 0; c < CATEGORIES; c++) {
        snprintf(name, sizeof name, "cat-%s%s-%02d", syll[c % 16], syll[(c * 7) % 16], c);
        sqlite3_bind_int(ins_cat, 1, c);
        sqlite3_bind_text(ins_cat, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(ins_cat, 3, 0.5 + (double)(c % 9) / 8.0);
        if (sqlite3_step(ins_cat) != SQLITE_DONE)
            die("insert category");
        sqlite3_reset(ins_cat);
    }
    sqlite3_finalize(ins_cat);

    sqlite3_stmt *ins = prepare("INSERT INTO items VALUES(?, ?, ?, ?, ?, ?)");
    for (int i = 1; i <= ROWS; i++) {
        uint32_t r = rng();
        int n = 0;
        int parts = 2 + (int)(r % 4);
        for (int k = 0; k < parts; k++)
            n += snprintf(name + n, sizeof name - (size_t)n, "%s", syll[rng() % 16]);
        snprintf(name + n, sizeof name - (size_t)n, "-%u", rng() % 1000);
        int note_len = (int)(rng() % 120);
        for (int k = 0; k < note_len; k++)
            note[k] = (char)('a' + (i * 31 + k * 17) % 26);
        note[note_len] = 0;
        sqlite3_bind_int(ins, 1, i);
        sqlite3_bind_int(ins, 2, (int)(rng() % CATEGORIES));
        sqlite3_bind_text(ins, 3, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(ins, 4, (double)(rng() % 100000) / 100.0);
        sqlite3_bind_int(ins, 5, (int)(rng() % 500));
        if (r % 5 == 0)
            sqlite3_bind_null(ins, 6);
        else
            sqlite3_bind_text(ins, 6, note, note_len, SQLITE_TRANSIENT);
        if (sqlite3_step(ins) != SQLITE_DONE)
            die("insert item");
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    exec("COMMIT");
    exec("CREATE INDEX items_category_price ON items(category, price)");
    exec("CREATE INDEX items_name ON items(name)");
    printf("inserted %d rows\n", ROWS);

    /* point lookups by primary key */
    sqlite3_stmt *get = prepare("SELECT qty, length(name) FROM items WHERE id = ?");
    long long qty_sum = 0, name_len = 0;
    for (int i = 0; i < 20000; i++) {
        sqlite3_bind_int(get, 1, 1 + (int)(rng() % ROWS));
        if (sqlite3_step(get) != SQLITE_ROW)
            die("point lookup");
        qty_sum += sqlite3_column_int(get, 0);
        name_len += sqlite3_column_int(get, 1);
        sqlite3_reset(get);
    }
    sqlite3_finalize(get);
    printf("point lookups: qty sum %lld name bytes %lld\n", qty_sum, name_len);

    /* indexed range queries */
    sqlite3_stmt *range = prepare("SELECT count(*), coalesce(sum(qty), 0) FROM items"
                                  " WHERE category = ? AND price BETWEEN ? AND ?");
    long long range_rows = 0, range_qty = 0;
    for (int i = 0; i < 2000; i++) {
        double lo = (double)(rng() % 90000) / 100.0;
        sqlite3_bind_int(range, 1, (int)(rng() % CATEGORIES));
        sqlite3_bind_double(range, 2, lo);
        sqlite3_bind_double(range, 3, lo + 50.0);
        if (sqlite3_step(range) != SQLITE_ROW)
            die("range query");
        range_rows += sqlite3_column_int64(range, 0);
        range_qty += sqlite3_column_int64(range, 1);
        sqlite3_reset(range);
    }
    sqlite3_finalize(range);
    printf("range queries: rows %lld qty %lld\n", range_rows, range_qty);

    /* prefix search on the name index */
    sqlite3_stmt *prefix = prepare("SELECT count(*) FROM items WHERE name >= ? AND name < ?");
    long long prefix_rows = 0;
    for (int i = 0; i < 256; i++) {
        char lo[8], hi[8];
        snprintf(lo, sizeof lo, "%s%s", syll[i % 16], syll[i / 16]);
        snprintf(hi, sizeof hi, "%s%s~", syll[i % 16], syll[i / 16]);
        sqlite3_bind_text(prefix, 1, lo, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(prefix, 2, hi, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(prefix) != SQLITE_ROW)
            die("prefix query");
        prefix_rows += sqlite3_column_int64(prefix, 0);
        sqlite3_reset(prefix);
    }
    sqlite3_finalize(prefix);
    printf("prefix queries: rows %lld\n", prefix_rows);

    exec("BEGIN");
    exec("UPDATE items SET qty = qty + 1, price = price * 2 WHERE category % 7 = 3");
    exec("DELETE FROM items WHERE id % 10 = 0");
    exec("COMMIT");
    printf("after update/delete: %d changes in the delete\n", sqlite3_changes(db));

    /* aggregate with a join, grouped and ordered */
    sqlite3_stmt *agg = prepare(
        "SELECT c.label, count(*), sum(i.qty), printf('%.2f', avg(i.price)),"
        " sum(i.note IS NULL), max(length(i.note))"
        " FROM items i JOIN categories c ON c.id = i.category"
        " GROUP BY c.id ORDER BY sum(i.qty) * c.weight DESC, c.id");
    int groups = 0;
    long long total = 0;
    while (sqlite3_step(agg) == SQLITE_ROW) {
        for (int col = 0; col < 6; col++)
            hash_text(sqlite3_column_text(agg, col));
        if (groups < 3)
            printf("group %s: %d rows, qty %lld, avg price %s\n", sqlite3_column_text(agg, 0),
                   sqlite3_column_int(agg, 1), sqlite3_column_int64(agg, 2),
                   sqlite3_column_text(agg, 3));
        total += sqlite3_column_int(agg, 1);
        groups++;
    }
    sqlite3_finalize(agg);
    printf("aggregate: %d groups, %lld rows, fnv1a %08x\n", groups, total, (unsigned)fnv);

    /* a sort that cannot use an index */
    sqlite3_stmt *sorted = prepare("SELECT id, name, qty FROM items ORDER BY qty DESC, length(note), id LIMIT 2000");
    fnv = 2166136261u;
    int sorted_rows = 0;
    while (sqlite3_step(sorted) == SQLITE_ROW) {
        for (int col = 0; col < 3; col++)
            hash_text(sqlite3_column_text(sorted, col));
        sorted_rows++;
    }
    sqlite3_finalize(sorted);
    printf("sorted: %d rows fnv1a %08x\n", sorted_rows, (unsigned)fnv);

    sqlite3_stmt *check = prepare("PRAGMA integrity_check");
    if (sqlite3_step(check) != SQLITE_ROW)
        die("integrity_check");
    printf("integrity_check: %s\n", sqlite3_column_text(check, 0));
    sqlite3_finalize(check);
    if (sqlite3_close(db) != SQLITE_OK)
        die("close");
    return 0;
}
