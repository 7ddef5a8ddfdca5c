/* test_report_reader.c - Cuckoo/CAPE report.json through mal_read_trace: the
 * five real CAPE reports against counts made independently with python, the
 * `repeated` expansion and its cap, and bad reports (each message must name
 * the file, the record and the byte). */
#include "test_support.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace_reader.h"
#include "trace_reader_impl.h"
#include "vocab.h"

typedef struct collect {
    int begun, ended;
    uint64_t calls, unknown;          /* from record_end */
    uint64_t seen_known, seen_unknown;
    uint64_t hash;                    /* FNV-1a over (id, count) in order */
    char last_unknown[MAL_NAME_MAX + 2];
} collect;

static void mix(collect *c, uint64_t v)
{
    c->hash = (c->hash ^ v) * 1099511628211ull;
}

static int on_begin(void *ctx, const mal_record_info *info)
{
    collect *c = ctx;
    assert_int_equal(c->begun, 0);
    assert_int_equal(info->record, 1);
    assert_int_equal(info->calls, 0);
    c->begun = 1;
    return 0;
}

static int on_calls(void *ctx, int32_t id, uint64_t count)
{
    collect *c = ctx;
    assert_int_equal(c->begun, 1);
    assert_true(count >= 1);
    c->seen_known += count;
    mix(c, (uint64_t)id);
    mix(c, count);
    return 0;
}

static int on_unknown(void *ctx, const char *name, size_t len, uint64_t count)
{
    collect *c = ctx;
    assert_int_equal(c->begun, 1);
    assert_true(len <= MAL_NAME_MAX + 1);
    memcpy(c->last_unknown, name, len);
    c->last_unknown[len] = '\0';
    c->seen_unknown += count;
    mix(c, 1u << 20);
    mix(c, count);
    return 0;
}

static int on_end(void *ctx, const mal_record_info *info)
{
    collect *c = ctx;
    assert_int_equal(c->begun, 1);
    assert_int_equal(c->ended, 0);
    c->ended = 1;
    c->calls = info->calls;
    c->unknown = info->unknown;
    assert_int_equal(c->seen_known + c->seen_unknown, info->calls);
    assert_int_equal(c->seen_unknown, info->unknown);
    return 0;
}

static int read_opts(const char *path, const mal_read_opts *o, collect *c, mal_error *e)
{
    memset(c, 0, sizeof *c);
    c->hash = 14695981039346656037ull;
    mal_trace_sink sink = {c, on_begin, on_calls, on_unknown, on_end};
    return mal_read_trace(path, &sample_vocab, o, &sink, e);
}

static int read_mem(const char *json, const mal_read_opts *o, collect *c, mal_error *e)
{
    memset(c, 0, sizeof *c);
    c->hash = 14695981039346656037ull;
    mal_trace_sink sink = {c, on_begin, on_calls, on_unknown, on_end};
    return mal_read_trace_mem("report.json", json, strlen(json), &sample_vocab, o, &sink, e);
}

/* Counts per report made with python, independently of this reader:
 *   python3 -c "import gzip,json,sys
 *   vocab=set(l.split('=')[0].strip().lower() for l in open('data/mal-api-2019-sample/api_index.txt') if '=' in l)
 *   cs=[c for p in json.load(gzip.open(sys.argv[1]))['behavior']['processes'] for c in p['calls']]
 *   f=lambda cap,u: sum(1+min(c.get('repeated',0),cap) for c in cs if (c['api'].lower() not in vocab)>=u)
 *   print(len(cs), f(10**9,0), f(10**9,1), f(1,0), f(1,1))" FILE
 * entries = call objects (the README's "calls" column counts these); calls and
 * unknown with `repeated` expanded; the same with the cap set to 1. */
static const struct {
    const char *file;
    uint64_t entries, calls, unknown, calls_cap1, unknown_cap1;
} cape[] = {
    {"capev22_amber_small.json.gz", 105, 108, 5, 106, 3},
    {"capev22_qakbot.json.gz", 26219, 29682, 4121, 28088, 3373},
    {"capev24_suncrypt.json.gz", 17909, 21501, 2133, 19580, 1904},
    {"capev24_coinminer.json.gz", 15225, 16751, 1220, 15959, 1206},
    {"capev24_jscript_a.json.gz", 15638, 17570, 1174, 16721, 1160},
};

static void test_real_cape_reports(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cape / sizeof cape[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, CAPE_DIR "/%s", cape[i].file);
        collect c;
        mal_error e = {{0}};
        if (read_opts(path, NULL, &c, &e) != 0)
            fail_msg("%s", e.msg);
        assert_int_equal(c.ended, 1);
        if (c.calls != cape[i].calls || c.unknown != cape[i].unknown)
            fail_msg("%s: reader %llu calls / %llu unknown, python %llu / %llu", path,
                     (unsigned long long)c.calls, (unsigned long long)c.unknown,
                     (unsigned long long)cape[i].calls, (unsigned long long)cape[i].unknown);
        mal_read_opts cap1 = {.max_repeat = 1};
        assert_int_equal(read_opts(path, &cap1, &c, &e), 0);
        assert_int_equal(c.calls, cape[i].calls_cap1);
        assert_int_equal(c.unknown, cape[i].unknown_cap1);
    }
}

/* The same report plain, gzip, and from stdin gives the same sequence. */
static void test_plain_gzip_stdin_agree(void **state)
{
    (void)state;
    const char *gz = CAPE_DIR "/capev24_suncrypt.json.gz";
    char *dir = tmp_dir(), *plain = tmp_path(dir, "r.json");
    char *out = NULL;
    assert_int_equal(run_capture(&out, "zcat %s > '%s'", gz, plain), 0);
    free(out);
    collect a, b, s;
    mal_error e = {{0}};
    assert_int_equal(read_opts(gz, NULL, &a, &e), 0);
    assert_int_equal(read_opts(plain, NULL, &b, &e), 0);
    int saved = dup(0), fd = open(gz, O_RDONLY);
    assert_true(dup2(fd, 0) == 0);
    close(fd);
    int r = read_opts("-", NULL, &s, &e);
    dup2(saved, 0);
    close(saved);
    assert_int_equal(r, 0);
    assert_true(a.hash == b.hash && a.hash == s.hash);
    assert_int_equal(a.calls, 21501);
    assert_int_equal(s.calls, 21501);
    free(plain);
    rm_rf(dir);
    free(dir);
}

#define CALLS_(calls) "{\"behavior\": {\"processes\": [{\"calls\": [" calls "]}]}}"

static void test_repeated_and_structure(void **state)
{
    (void)state;
    collect c;
    mal_error e = {{0}};
    /* repeated before or after api; N further calls; other keys and nested values ignored */
    const char *j = "{\"info\": {\"calls\": [{\"api\": \"NtClose\"}]},"
                    " \"calls\": [{\"api\": \"NtClose\"}],"
                    " \"behavior\": {\"summary\": {\"calls\": [{\"api\": \"NtClose\"}]},"
                    "  \"processes\": ["
                    "   {\"pid\": 1, \"calls\": []},"
                    "   {\"calls\": [{\"repeated\": 4, \"api\": \"NtClose\"},"
                    "               {\"api\": \"LdrGetProcedureAddressForCaller\", \"repeated\": 2,"
                    "                \"arguments\": [{\"name\": \"api\", \"value\": [[1, {\"api\": \"x\"}], null, true]}]},"
                    "               {\"api\": \"ntclose\", \"repeated\": 0, \"return\": -1.5e3}],"
                    "    \"threads\": {\"calls\": [{\"api\": \"NtClose\"}]}},"
                    "   {\"calls\": [{\"api\": \"NtOpenFile\"}]}]}}";
    assert_int_equal(read_mem(j, NULL, &c, &e), 0);
    assert_int_equal(c.calls, 5 + 3 + 1 + 1);
    assert_int_equal(c.unknown, 3);
    assert_string_equal(c.last_unknown, "LdrGetProcedureAddressForCaller");
    /* the cap: default 100000, or opts->max_repeat; huge numbers saturate */
    assert_int_equal(read_mem(CALLS_("{\"api\": \"NtClose\", \"repeated\": 1000000000000}"), NULL,
                              &c, &e), 0);
    assert_int_equal(c.calls, 1 + MAL_DEFAULT_MAX_REPEAT);
    mal_read_opts o = {.max_repeat = 5};
    assert_int_equal(read_mem(CALLS_("{\"api\": \"NtClose\", \"repeated\": 99999999999999999999999999}"),
                              &o, &c, &e), 0);
    assert_int_equal(c.calls, 6);
    /* a report with processes but no calls is one record of 0 calls */
    assert_int_equal(read_mem("{\"behavior\": {\"processes\": []}}", NULL, &c, &e), 0);
    assert_int_equal(c.ended, 1);
    assert_int_equal(c.calls, 0);
    /* an api name longer than a vocabulary name is unknown, kept in part */
    char big[2000];
    snprintf(big, sizeof big, CALLS_("{\"api\": \"NtClose%0600d\"}"), 0);
    assert_int_equal(read_mem(big, NULL, &c, &e), 0);
    assert_int_equal(c.unknown, 1);
    assert_int_equal(strlen(c.last_unknown), MAL_NAME_MAX + 1);
    /* AUTO picks the report reader by the first non-blank byte */
    char *dir = tmp_dir(), *p = tmp_path(dir, "trace");
    write_text(p, "\n  \t" CALLS_("{\"api\": \"NtClose\"}"));
    assert_int_equal(read_opts(p, NULL, &c, &e), 0);
    assert_int_equal(c.calls, 1);
    free(p);
    rm_rf(dir);
    free(dir);
}

/* Write text to DIR/name, read it, expect "<path>: record 1, byte B: what". */
static void expect_error_file(const char *name, const void *text, size_t len, int gz,
                              const mal_read_opts *o, long long byte, const char *what)
{
    char *dir = tmp_dir(), *p = tmp_path(dir, name);
    if (gz)
        gz_write(p, text, len);
    else
        write_file(p, text, len);
    collect c;
    mal_error e = {{0}};
    assert_int_equal(read_opts(p, o, &c, &e), -1);
    assert_int_equal(c.ended, 0);
    char want[4400];
    if (byte >= 0)
        snprintf(want, sizeof want, "%s: record 1, byte %lld: %s", p, byte, what);
    else
        snprintf(want, sizeof want, "%s: record 1, byte ", p);
    assert_contains(e.msg, want);
    assert_contains(e.msg, what);
    free(p);
    rm_rf(dir);
    free(dir);
}

static void expect_error(const char *text, long long byte, const char *what)
{
    expect_error_file("report.json", text, strlen(text), 0, NULL, byte, what);
}

static void test_bad_reports(void **state)
{
    (void)state;
    const char *nob = "{\"info\": {\"id\": 1}, \"target\": {}}";
    expect_error(nob, (long long)strlen(nob), "no behavior section");
    const char *nop = "{\"behavior\": {\"summary\": {}}}";
    expect_error(nop, (long long)strlen(nop), "behavior has no processes list");
    const char *bnull = "{\"behavior\": null}";
    expect_error(bnull, (long long)strlen(bnull), "behavior is not an object");
    /* not JSON at all, named report.json: a JSON error, not a line trace */
    expect_error("<html><body>404</body></html>\n", 1, "invalid JSON");
    expect_error("[1, 2]", 1, "top-level JSON value is not an object");
    /* a second value or garbage after the report */
    const char *two = CALLS_("") " {}";
    expect_error(two, -1, "invalid JSON");
    expect_error(CALLS_("") " x", -1, "invalid JSON");
    expect_error(CALLS_("{\"api\": 42}"), -1, "a call's api is not a string");
    expect_error(CALLS_("{\"api\": \"NtClose\", \"repeated\": -1}"), -1,
                 "a call's repeated is not a non-negative integer");
    expect_error(CALLS_("{\"api\": \"NtClose\", \"repeated\": 1.5}"), -1,
                 "a call's repeated is not a non-negative integer");
    expect_error(CALLS_("{\"category\": \"x\"}"), -1, "a call has no api");
    expect_error("{\"behavior\": {\"processes\": [{\"calls\": [{\"api\": \"Nt\xff\"}]}]}}", -1,
                 "invalid JSON");
    /* empty, and blanks only */
    expect_error_file("report.json", "", 0, 0, NULL, 0, "empty input");
    mal_read_opts rep = {.format = MAL_FORMAT_REPORT};
    expect_error_file("r", "  \n", 3, 0, &rep, 3, "truncated JSON");
}

/* A real report cut in the middle (plain and gzip): the error is at the end. */
static void test_truncated_report(void **state)
{
    (void)state;
    size_t len;
    char *json = read_gz(CAPE_DIR "/capev22_amber_small.json.gz", &len);
    size_t cut = len / 2;
    expect_error_file("cut.json", json, cut, 0, NULL, (long long)cut, "truncated JSON");
    expect_error_file("cut.json.gz", json, cut, 1, NULL, (long long)cut, "truncated JSON");
    free(json);
}

static void test_deep_nesting(void **state)
{
    (void)state;
    /* 10,000 arrays inside a call's arguments: stopped at depth 128, no crash */
    const size_t deep = 10000;
    const char *head = "{\"behavior\": {\"processes\": [{\"calls\": [{\"api\": \"NtClose\", \"arguments\": ";
    size_t hl = strlen(head);
    char *j = malloc(hl + 2 * deep + 16);
    memcpy(j, head, hl);
    memset(j + hl, '[', deep);
    memset(j + hl + deep, ']', deep);
    strcpy(j + hl + 2 * deep, "}]}]}}");
    /* depth before the arguments: root, behavior, processes, process, calls, call = 6;
     * the 123rd '[' (at hl + 122) opens level 129; JSON errors give the offset just
     * after the token that failed (where yajl stopped) */
    expect_error_file("deep.json", j, strlen(j), 0, NULL, (long long)(hl + 123),
                      "JSON nested deeper than 128 levels");
    /* 100 deep is fine */
    memset(j + hl, '[', 100);
    memset(j + hl + 100, ']', 100);
    strcpy(j + hl + 200, "}]}]}}");
    collect c;
    mal_error e = {{0}};
    assert_int_equal(read_mem(j, NULL, &c, &e), 0);
    assert_int_equal(c.calls, 1);
    free(j);
    /* 10,000 nested objects at the top level too */
    char *o = malloc(7 * deep + 16);
    size_t n = 0;
    for (size_t i = 0; i < deep; i++)
        n += (size_t)sprintf(o + n, "{\"a\": ");
    strcpy(o + n, "1");
    expect_error_file("deep2.json", o, n + 1, 0, NULL, 6 * 128 + 1,
                      "JSON nested deeper than 128 levels");
    free(o);
}

/* A string longer than max_string fails at the byte that passes the limit,
 * also when it spans many 64 KiB blocks. */
static void test_string_limit(void **state)
{
    (void)state;
    const size_t slen = 3 << 20;
    const char *head = "{\"behavior\": {\"processes\": [{\"calls\": [{\"api\": \"NtClose\", \"arguments\": \"";
    size_t hl = strlen(head);
    char *j = malloc(hl + slen + 16);
    memcpy(j, head, hl);
    memset(j + hl, 'x', slen);
    strcpy(j + hl + slen, "\"}]}]}}");
    mal_read_opts o = {.max_string = 1 << 20};
    expect_error_file("big.json", j, strlen(j), 0, &o, (long long)(hl + (1 << 20)),
                      "JSON string or number longer than 1048576 bytes");
    /* the same under the default limit reads fine */
    collect c;
    mal_error e = {{0}};
    assert_int_equal(read_mem(j, NULL, &c, &e), 0);
    assert_int_equal(c.calls, 1);
    /* escapes do not end the string: \" inside counts as string bytes */
    memcpy(j + hl + 1000, "\\\"", 2);
    expect_error_file("big.json", j, strlen(j), 0, &o, (long long)(hl + (1 << 20)),
                      "JSON string or number longer than");
    /* a bare number longer than the limit */
    const char *nh = "{\"n\": ";
    memcpy(j, nh, strlen(nh));
    memset(j + strlen(nh), '7', slen);
    strcpy(j + strlen(nh) + slen, "}");
    expect_error_file("num.json", j, strlen(j), 0, &o, (long long)(strlen(nh) + (1 << 20)),
                      "JSON string or number longer than");
    free(j);
}

static int read_blocks(const char *data, size_t len, size_t block, collect *c, mal_error *e)
{
    memset(c, 0, sizeof *c);
    c->hash = 14695981039346656037ull;
    mal_trace_sink sink = {c, on_begin, on_calls, on_unknown, on_end};
    mal_read_opts o = {.format = MAL_FORMAT_REPORT};
    return mal_read_trace_mem_blocks("r.json", data, len, block, &sample_vocab, &o, &sink, e);
}

/* Every way of cutting the input between blocks gives the same calls: tokens
 * held back across blocks, escapes and UTF-8 split, numbers split. */
static void test_block_boundaries(void **state)
{
    (void)state;
    const char *j =
        "{\"x\": [true, false, null, -12.5e+3, \"caf\xc3\xa9 \\\" \\\\ \\u00e9 \\ud83d\\ude00\"],"
        " \"behavior\": {\"processes\": [{\"calls\": ["
        "{\"api\": \"NtClose\", \"repeated\": 12345, \"arguments\": [{\"value\": \"\\\"}\\\"]\"}]},"
        "{\"repeated\": 7, \"api\": \"NtOpen\\u0046ile\"},"
        "{\"api\": \"LdrGetProcedureAddressForCaller\", \"return\": 1234567890123}]}]}}";
    collect ref, c;
    mal_error e = {{0}};
    size_t len = strlen(j);
    if (read_blocks(j, len, 0, &ref, &e) != 0)
        fail_msg("%s", e.msg);
    assert_int_equal(ref.calls, 12346 + 8 + 1);
    assert_int_equal(ref.unknown, 1);   /* NtOpen\u0046ile is NtOpenFile: known */
    for (size_t block = 1; block <= 40; block++) {
        assert_int_equal(read_blocks(j, len, block, &c, &e), 0);
        assert_true(c.hash == ref.hash && c.calls == ref.calls && c.unknown == ref.unknown);
    }
    /* cut at every length: always an error with a position, never a crash or a record */
    for (size_t cut = 1; cut < len; cut++) {
        int r = read_blocks(j, cut, 3, &c, &e);
        assert_int_equal(r, -1);
        assert_contains(e.msg, "r.json: record 1, byte ");
    }
    /* a real report cut into 7-byte blocks */
    size_t rlen;
    char *rep = read_gz(CAPE_DIR "/capev22_amber_small.json.gz", &rlen);
    assert_int_equal(read_blocks(rep, rlen, 0, &ref, &e), 0);
    assert_int_equal(read_blocks(rep, rlen, 7, &c, &e), 0);
    assert_true(c.hash == ref.hash);
    assert_int_equal(c.calls, 108);
    free(rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_cape_reports),
        cmocka_unit_test(test_plain_gzip_stdin_agree),
        cmocka_unit_test(test_repeated_and_structure),
        cmocka_unit_test(test_bad_reports),
        cmocka_unit_test(test_truncated_report),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_string_limit),
        cmocka_unit_test(test_block_boundaries),
    };
    return cmocka_run_group_tests(tests, setup_sample_vocab, teardown_sample_vocab);
}
