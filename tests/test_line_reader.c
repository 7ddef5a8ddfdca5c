/* test_line_reader.c - Mal-API line files through mal_read_trace: counts on
 * the real sample against an independent count, gzip vs plain, bad inputs
 * (each message must name the file, the record and the byte), a 1 GB line in
 * bounded memory, stdin. */
#include "test_support.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "trace_reader.h"
#include "trace_reader_impl.h"
#include "vocab.h"

/* ---- a sink that keeps per-record totals and a hash of the id sequence ---- */
typedef struct rec {
    uint64_t calls, unknown, offset, seen_calls, seen_unknown;
} rec;

typedef struct collect {
    rec *recs;
    size_t n, cap;
    uint64_t hash;          /* FNV-1a over ids and unknown names, in order */
    int begun;              /* record_begin without record_end */
    size_t stop_after;      /* stop at this record_end (0 = never) */
    size_t max_unknown_len;
} collect;

static void mix(collect *c, uint64_t v)
{
    c->hash = (c->hash ^ v) * 1099511628211ull;
}

static int on_begin(void *ctx, const mal_record_info *info)
{
    collect *c = ctx;
    assert_false(c->begun);
    assert_int_equal(info->calls, 0);
    assert_int_equal(info->record, c->n + 1);
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->recs = realloc(c->recs, c->cap * sizeof *c->recs);
        assert_non_null(c->recs);
    }
    memset(&c->recs[c->n], 0, sizeof *c->recs);
    c->recs[c->n].offset = info->offset;
    c->begun = 1;
    return 0;
}

static int on_calls(void *ctx, int32_t id, uint64_t count)
{
    collect *c = ctx;
    assert_true(c->begun);
    assert_true(id >= 0 && id < 342);
    assert_int_equal(count, 1);   /* line files never repeat */
    c->recs[c->n].seen_calls += count;
    mix(c, (uint64_t)id);
    return 0;
}

static int on_unknown(void *ctx, const char *name, size_t len, uint64_t count)
{
    collect *c = ctx;
    assert_true(c->begun);
    assert_true(len >= 1 && len <= MAL_NAME_MAX + 1);
    if (len > c->max_unknown_len)
        c->max_unknown_len = len;
    c->recs[c->n].seen_unknown += count;
    mix(c, 1000000);
    for (size_t i = 0; i < len; i++)
        mix(c, (unsigned char)name[i]);
    return 0;
}

static int on_end(void *ctx, const mal_record_info *info)
{
    collect *c = ctx;
    assert_true(c->begun);
    rec *r = &c->recs[c->n];
    r->calls = info->calls;
    r->unknown = info->unknown;
    assert_int_equal(info->offset, r->offset);
    /* the totals match what the callbacks delivered */
    assert_int_equal(r->seen_calls + r->seen_unknown, info->calls);
    assert_int_equal(r->seen_unknown, info->unknown);
    c->begun = 0;
    c->n++;
    return c->stop_after && c->n == c->stop_after;
}

static int read_path(const char *path, mal_trace_format fmt, collect *c, mal_error *e)
{
    memset(c, 0, sizeof *c);
    c->hash = 14695981039346656037ull;
    mal_trace_sink sink = {c, on_begin, on_calls, on_unknown, on_end};
    mal_read_opts o = {.format = fmt};
    return mal_read_trace(path, &sample_vocab, &o, &sink, e);
}

static void collect_free(collect *c)
{
    free(c->recs);
    memset(c, 0, sizeof *c);
}

/* Write `text` (len bytes) to a temporary file, read it, expect an error
 * naming that file, "record R, byte B" and `what`. Returns records read. */
static size_t expect_error(const void *text, size_t len, int gz, uint64_t record, uint64_t byte,
                           const char *what)
{
    char *dir = tmp_dir(), *p = tmp_path(dir, gz ? "t.txt.gz" : "t.txt");
    if (gz)
        gz_write(p, text, len);
    else
        write_file(p, text, len);
    collect c;
    mal_error e = {{0}};
    assert_int_equal(read_path(p, MAL_FORMAT_AUTO, &c, &e), -1);
    char want[4400];
    snprintf(want, sizeof want, "%s: record %llu, byte %llu: %s", p, (unsigned long long)record,
             (unsigned long long)byte, what);
    assert_contains(e.msg, want);
    size_t n = c.n;
    collect_free(&c);
    free(p);
    rm_rf(dir);
    free(dir);
    return n;
}

/* Independent count: awk's NF (fields split on blanks) of every line. */
static void test_sample_counts_match_awk(void **state)
{
    (void)state;
    FILE *f = popen("zcat " SAMPLE_CALLS " | awk '{print NF}'", "r");
    assert_non_null(f);
    collect c;
    mal_error e = {{0}};
    assert_int_equal(read_path(SAMPLE_CALLS, MAL_FORMAT_AUTO, &c, &e), 0);
    assert_int_equal(c.n, 648);
    uint64_t total = 0, unknown = 0;
    for (size_t i = 0; i < c.n; i++) {
        unsigned long long nf;
        assert_int_equal(fscanf(f, "%llu", &nf), 1);
        if (c.recs[i].calls != nf)
            fail_msg("record %zu: reader %llu calls, awk %llu", i + 1,
                     (unsigned long long)c.recs[i].calls, nf);
        total += c.recs[i].calls;
        unknown += c.recs[i].unknown;
    }
    unsigned long long extra;
    assert_int_equal(fscanf(f, "%llu", &extra), EOF);   /* awk saw no more lines */
    assert_int_equal(pclose(f), 0);
    assert_true(total > 1000000);
    /* the sample uses the dataset's own vocabulary: every name is known */
    assert_int_equal(unknown, 0);
    /* record offsets: the first record at 0, each later one after a '\n' */
    assert_int_equal(c.recs[0].offset, 0);
    for (size_t i = 1; i < c.n; i++)
        assert_true(c.recs[i].offset > c.recs[i - 1].offset);
    collect_free(&c);
}

static void test_gzip_and_plain_agree(void **state)
{
    (void)state;
    char *dir = tmp_dir(), *plain = tmp_path(dir, "calls.txt");
    char *out = NULL;
    assert_int_equal(run_capture(&out, "zcat %s > '%s'", SAMPLE_CALLS, plain), 0);
    free(out);
    collect a, b;
    mal_error e = {{0}};
    assert_int_equal(read_path(SAMPLE_CALLS, MAL_FORMAT_AUTO, &a, &e), 0);
    assert_int_equal(read_path(plain, MAL_FORMAT_LINES, &b, &e), 0);
    assert_int_equal(a.n, b.n);
    assert_true(a.hash == b.hash);
    assert_memory_equal(a.recs, b.recs, a.n * sizeof *a.recs);
    collect_free(&a);
    collect_free(&b);
    free(plain);
    rm_rf(dir);
    free(dir);
}

/* Half of the compressed sample: an error at the end of what inflates, never a silent EOF. */
static void test_truncated_gzip(void **state)
{
    (void)state;
    size_t len;
    char *gz = NULL;
    {
        FILE *f = fopen(SAMPLE_CALLS, "rb");
        assert_non_null(f);
        gz = malloc(2 << 20);
        len = fread(gz, 1, 2 << 20, f);
        fclose(f);
    }
    char *dir = tmp_dir(), *p = tmp_path(dir, "cut.txt.gz");
    write_file(p, gz, len / 2);
    /* independently: what gzip -d recovers from the cut file, and its line count */
    char *out = NULL;
    run_capture(&out, "zcat '%s' 2>/dev/null | wc -c; zcat '%s' 2>/dev/null | wc -l", p, p);
    unsigned long long bytes = 0, lines = 0;
    assert_int_equal(sscanf(out, "%llu %llu", &bytes, &lines), 2);
    free(out);
    collect c;
    mal_error e = {{0}};
    assert_int_equal(read_path(p, MAL_FORMAT_AUTO, &c, &e), -1);
    char want[4400];
    snprintf(want, sizeof want, "%s: record %llu, byte %llu: truncated gzip data", p, lines + 1,
             bytes);
    assert_contains(e.msg, want);
    assert_int_equal(c.n, lines);   /* every whole line before the cut was delivered */
    collect_free(&c);
    /* the same position when inflate's output comes in small blocks (inflate may
     * still hold output when the input runs out): a small made-up trace */
    {
        size_t tn = 0, tcap = 200000;
        char *text = malloc(tcap + 64);
        static const char *const nm[] = {"ntclose ", "ntopenfile ", "ldrgetdllhandle ", "\n"};
        for (unsigned x = 12345; tn < tcap;) {
            x = x * 1103515245u + 12345u;
            const char *w = nm[(x >> 16) % 4];
            memcpy(text + tn, w, strlen(w));
            tn += strlen(w);
        }
        char *small = tmp_path(dir, "small.gz");
        gz_write(small, text, tn);
        free(text);
        size_t slen;
        FILE *sf = fopen(small, "rb");
        char *sgz = malloc(1 << 20);
        slen = fread(sgz, 1, 1 << 20, sf);
        fclose(sf);
        mal_error ref = {{0}};
        for (size_t block = 0; block <= 4096; block = block ? block * 8 : 1) {
            mal_error e2 = {{0}};
            memset(&c, 0, sizeof c);
            mal_trace_sink sink = {&c, on_begin, on_calls, on_unknown, on_end};
            assert_int_equal(mal_read_trace_mem_blocks("s", sgz, slen / 2, block, &sample_vocab, NULL,
                                                       &sink, &e2), -1);
            assert_contains(e2.msg, "truncated gzip data");
            if (block == 0)
                ref = e2;
            assert_string_equal(e2.msg, ref.msg);
            collect_free(&c);
        }
        free(sgz);
        free(small);
    }
    /* garbage after a complete member is an error too */
    static const char text[] = "ntclose\n";
    gz_write(p, text, sizeof text - 1);
    FILE *f = fopen(p, "ab");
    fputs("junk", f);
    fclose(f);
    assert_int_equal(read_path(p, MAL_FORMAT_AUTO, &c, &e), -1);
    assert_contains(e.msg, ": record 2, byte 8: trailing garbage after gzip data");
    collect_free(&c);
    /* a corrupt deflate stream */
    write_file(p, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xff\xff\xff", 14);
    assert_int_equal(read_path(p, MAL_FORMAT_AUTO, &c, &e), -1);
    assert_contains(e.msg, ": record 1, byte 0: corrupt gzip data");
    collect_free(&c);
    free(gz);
    free(p);
    rm_rf(dir);
    free(dir);
}

static void test_bad_bytes(void **state)
{
    (void)state;
    /* offset of the bad byte: "ntclose ntopenfile\n" is 19 bytes, "ntclose " 8 more */
    static const char bad_utf8[] = "ntclose ntopenfile\nntclose \xff\xfe x\n";
    assert_int_equal(expect_error(bad_utf8, sizeof bad_utf8 - 1, 0, 2, 27, "invalid UTF-8"), 1);
    assert_int_equal(expect_error(bad_utf8, sizeof bad_utf8 - 1, 1, 2, 27, "invalid UTF-8"), 1);
    expect_error("a \xc0\xaf\n", 5, 0, 1, 2, "invalid UTF-8");             /* overlong '/' */
    expect_error("a \xed\xa0\x80\n", 6, 0, 1, 3, "invalid UTF-8");         /* surrogate */
    expect_error("a \xf4\x90\x80\x80\n", 7, 0, 1, 3, "invalid UTF-8");     /* > U+10FFFF */
    expect_error("a \xc3\n", 4, 0, 1, 3, "invalid UTF-8 (incomplete");     /* cut at newline */
    expect_error("a \xe2\x82", 4, 0, 1, 4, "invalid UTF-8 (incomplete");   /* cut at the end */
    static const char nul[] = "a b\nc\0d\n";
    assert_int_equal(expect_error(nul, sizeof nul - 1, 0, 2, 5, "NUL byte"), 1);
    expect_error("", 0, 0, 1, 0, "empty input");
    expect_error("", 0, 1, 1, 0, "empty input");   /* gzip of nothing */
}

static uint64_t calls_of(const char *text, size_t len, collect *c)
{
    mal_error e = {{0}};
    memset(c, 0, sizeof *c);
    mal_trace_sink sink = {c, on_begin, on_calls, on_unknown, on_end};
    mal_read_opts o = {.format = MAL_FORMAT_LINES};
    int r = mal_read_trace_mem("mem", text, len, &sample_vocab, &o, &sink, &e);
    if (r != 0)
        fail_msg("%s", e.msg);
    return c->n;
}

static void test_line_rules(void **state)
{
    (void)state;
    collect c;
    /* empty lines are records; a last line without '\n' is one; CRLF, tabs, runs of blanks */
    static const char t[] = "NtClose  ntopenfile\t\tNTCLOSE \r\n\n \nntclose";
    assert_int_equal(calls_of(t, sizeof t - 1, &c), 4);
    assert_int_equal(c.recs[0].calls, 3);
    assert_int_equal(c.recs[0].unknown, 0);
    assert_int_equal(c.recs[1].calls, 0);
    assert_int_equal(c.recs[2].calls, 0);
    assert_int_equal(c.recs[3].calls, 1);
    assert_int_equal(c.recs[1].offset, 31);
    assert_int_equal(c.recs[3].offset, 34);
    collect_free(&c);
    /* unknown names are counted, not fatal; UTF-8 names are just unknown */
    static const char u[] = "ntclose foo caf\xc3\xa9 ntclose\n";
    assert_int_equal(calls_of(u, sizeof u - 1, &c), 1);
    assert_int_equal(c.recs[0].calls, 4);
    assert_int_equal(c.recs[0].unknown, 2);
    collect_free(&c);
    /* a name longer than MAL_NAME_MAX is unknown even if it starts like a real one, and
     * the reader keeps only a prefix of it */
    size_t big = 100000;
    char *s = malloc(big + 17);
    memcpy(s, "ntclose ", 8);
    memset(s + 8, 'a', big);
    memcpy(s + 8, "ntclose", 7);
    memcpy(s + 8 + big, " ntclose\n", 9);
    assert_int_equal(calls_of(s, big + 17, &c), 1);
    assert_int_equal(c.recs[0].calls, 3);
    assert_int_equal(c.recs[0].unknown, 1);
    assert_int_equal(c.max_unknown_len, MAL_NAME_MAX + 1);
    collect_free(&c);
    free(s);
}

static void test_stop_and_forced_format(void **state)
{
    (void)state;
    collect c;
    memset(&c, 0, sizeof c);
    c.stop_after = 2;
    mal_trace_sink sink = {&c, on_begin, on_calls, on_unknown, on_end};
    mal_error e = {{0}};
    assert_int_equal(mal_read_trace(SAMPLE_CALLS, &sample_vocab, NULL, &sink, &e), MAL_READ_STOPPED);
    assert_int_equal(c.n, 2);
    collect_free(&c);
    /* forced LINES reads a '{' file as names */
    static const char j[] = "{ \"a\": 1 }\n";
    mal_read_opts o = {.format = MAL_FORMAT_LINES};
    memset(&c, 0, sizeof c);
    assert_int_equal(mal_read_trace_mem("x", j, sizeof j - 1, &sample_vocab, &o, &sink, &e), 0);
    assert_int_equal(c.recs[0].calls, 4);
    collect_free(&c);
    /* a directory and a missing file */
    assert_int_equal(read_path("data", MAL_FORMAT_AUTO, &c, &e), -1);
    assert_contains(e.msg, "data: is a directory");
    collect_free(&c);
    assert_int_equal(read_path("/nonexistent/x.txt", MAL_FORMAT_AUTO, &c, &e), -1);
    assert_contains(e.msg, "/nonexistent/x.txt: cannot open");
    collect_free(&c);
}

static void test_stdin(void **state)
{
    (void)state;
    char *dir = tmp_dir(), *p = tmp_path(dir, "in.txt.gz");
    static const char t[] = "ntclose ntclose\nfoo\n";
    gz_write(p, t, sizeof t - 1);
    int saved = dup(0), fd = open(p, O_RDONLY);
    assert_true(saved >= 0 && fd >= 0);
    assert_true(dup2(fd, 0) == 0);
    close(fd);
    collect c;
    mal_error e = {{0}};
    int r = read_path("-", MAL_FORMAT_AUTO, &c, &e);
    assert_true(dup2(saved, 0) == 0);
    close(saved);
    assert_int_equal(r, 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.recs[0].calls, 2);
    assert_int_equal(c.recs[1].unknown, 1);
    collect_free(&c);
    free(p);
    rm_rf(dir);
    free(dir);
}

static long maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* A single line of 1 GiB (134,217,728 names + 1) as concatenated gzip members
 * of 1 MiB each: ~1 MB on disk, made here. Peak memory must not grow with it. */
static void test_one_gigabyte_line(void **state)
{
    (void)state;
    const size_t chunk = 1 << 20, reps = 1024;
    char *text = malloc(chunk);
    for (size_t i = 0; i < chunk; i += 8)
        memcpy(text + i, "ntclose ", 8);
    char *dir = tmp_dir(), *m = tmp_path(dir, "member.gz"), *p = tmp_path(dir, "huge.txt.gz");
    gz_write(m, text, chunk);
    size_t mlen;
    FILE *f = fopen(m, "rb");
    char member[1 << 16];
    mlen = fread(member, 1, sizeof member, f);
    fclose(f);
    assert_true(mlen < sizeof member);
    f = fopen(p, "wb");
    for (size_t i = 0; i < reps; i++)
        assert_int_equal(fwrite(member, 1, mlen, f), mlen);
    fclose(f);
    free(text);
    {   /* last member: one more name and the newline */
        char *tail = tmp_path(dir, "tail.gz");
        gz_write(tail, "ntopenfile\n", 11);
        char *out = NULL;
        assert_int_equal(run_capture(&out, "cat '%s' >> '%s'", tail, p), 0);
        free(out);
        free(tail);
    }
    long before = maxrss_kb();
    collect c;
    mal_error e = {{0}};
    assert_int_equal(read_path(p, MAL_FORMAT_AUTO, &c, &e), 0);
    long grew = maxrss_kb() - before;
    assert_int_equal(c.n, 1);
    assert_int_equal(c.recs[0].calls, (uint64_t)chunk / 8 * reps + 1);
    assert_int_equal(c.recs[0].unknown, 0);
    fprintf(stderr, "1 GiB line: peak RSS grew by %ld KiB\n", grew);
    assert_true(grew < 16 * 1024);
    collect_free(&c);
    free(m);
    free(p);
    rm_rf(dir);
    free(dir);
}

/* Every way of cutting the input between blocks gives the same records. */
static void test_block_boundaries(void **state)
{
    (void)state;
    size_t len;
    char *all = read_gz(SAMPLE_CALLS, &len);
    /* the first 300 KB of the sample, plus names split anywhere, UTF-8 and CRLF */
    static const char extra[] = "\nntclose caf\xc3\xa9 \xe2\x82\xac\xf0\x9f\x98\x80x\r\n\n ntclose";
    size_t n = 300000;
    memcpy(all + n, extra, sizeof extra - 1);
    n += sizeof extra - 1;
    collect ref, c;
    mal_error e = {{0}};
    mal_read_opts o = {.format = MAL_FORMAT_LINES};
    memset(&ref, 0, sizeof ref);
    mal_trace_sink sink = {&ref, on_begin, on_calls, on_unknown, on_end};
    assert_int_equal(mal_read_trace_mem_blocks("m", all, n, 0, &sample_vocab, &o, &sink, &e), 0);
    const size_t blocks[] = {1, 2, 3, 5, 17, 4096};
    for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
        memset(&c, 0, sizeof c);
        sink.ctx = &c;
        assert_int_equal(mal_read_trace_mem_blocks("m", all, n, blocks[b], &sample_vocab, &o, &sink, &e), 0);
        assert_int_equal(c.n, ref.n);
        assert_true(c.hash == ref.hash);
        assert_memory_equal(c.recs, ref.recs, c.n * sizeof *c.recs);
        collect_free(&c);
    }
    assert_int_equal(ref.recs[ref.n - 3].unknown, 2);
    collect_free(&ref);
    free(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_counts_match_awk),
        cmocka_unit_test(test_gzip_and_plain_agree),
        cmocka_unit_test(test_truncated_gzip),
        cmocka_unit_test(test_bad_bytes),
        cmocka_unit_test(test_line_rules),
        cmocka_unit_test(test_stop_and_forced_format),
        cmocka_unit_test(test_stdin),
        cmocka_unit_test(test_one_gigabyte_line),
        cmocka_unit_test(test_block_boundaries),
    };
    return cmocka_run_group_tests(tests, setup_sample_vocab, teardown_sample_vocab);
}
