/* test_vocab.c - loading, validation and case-insensitive lookup of api_index.txt. */
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

#include "vocab.h"

static void test_sample_vocabulary(void **state)
{
    (void)state;
    mal_vocab v;
    mal_error e;
    assert_int_equal(mal_vocab_load(&v, SAMPLE_VOCAB, &e), 0);
    assert_int_equal(v.size, 342);
    assert_int_equal(v.count, 340);
    assert_null(mal_vocab_name(&v, 109));
    assert_null(mal_vocab_name(&v, 111));
    assert_string_equal(mal_vocab_name(&v, 0), "__process__");
    /* every name maps back to its own id */
    for (int id = 0; id < v.size; id++) {
        const char *n = mal_vocab_name(&v, id);
        if (n)
            assert_int_equal(mal_vocab_lookup(&v, n, strlen(n)), id);
    }
    /* CAPE's CamelCase names find the same ids */
    const char *camel = "NtAllocateVirtualMemory";
    int id = mal_vocab_lookup(&v, camel, strlen(camel));
    assert_true(id >= 0);
    assert_string_equal(mal_vocab_name(&v, id), "ntallocatevirtualmemory");
    assert_int_equal(mal_vocab_lookup(&v, "LdrGetProcedureAddressForCaller", 31), -1);
    assert_int_equal(mal_vocab_lookup(&v, "", 0), -1);
    /* a prefix of a name is not the name */
    assert_int_equal(mal_vocab_lookup(&v, camel, 5), -1);
    mal_vocab_free(&v);
}

/* Each bad file must fail with a message naming the file and line. */
static void expect_error_n(const char *text, size_t len, const char *needle)
{
    char *dir = tmp_dir(), *p = tmp_path(dir, "api_index.txt");
    write_file(p, text, len);
    mal_vocab v;
    mal_error e = {{0}};
    assert_int_equal(mal_vocab_load(&v, p, &e), -1);
    assert_contains(e.msg, p);
    assert_contains(e.msg, needle);
    free(p);
    rm_rf(dir);
    free(dir);
}

static void expect_error(const char *text, const char *needle)
{
    expect_error_n(text, strlen(text), needle);
}

static void test_bad_files(void **state)
{
    (void)state;
    expect_error("a=0\nb=1\na=2\n", ":3: duplicate name 'a' (first at line 1)");
    expect_error("a=0\nA=2\n", ":2: duplicate name 'a'");
    expect_error("a=0\nb=0\n", ":2: index 0 already used by 'a' (line 1)");
    expect_error("a=0\nnoequals\n", ":2: expected name=index");
    expect_error("a=-1\n", ":1: index '-1' is not a non-negative integer");
    expect_error("a=x\n", ":1: index 'x' is not");
    /* found by fuzz_vocab: strtol skips whitespace, so "\v-6" once parsed as -6 */
    expect_error("a=\v-6\n", ":1: index '\v-6' is not a non-negative integer");
    expect_error("a=\t7\n", ":1: index '\t7' is not a non-negative integer");
    expect_error("a=+7\n", ":1: index '+7' is not a non-negative integer");
    expect_error("a=1z\n", ":1: index '1z' is not");
    expect_error("a=99999999999\n", ":1: index");
    expect_error("a=70000\n", ":1: index 70000 out of range");
    expect_error("=3\n", ":1: empty name");
    expect_error("a b=3\n", ":1: name has a character outside");
    expect_error("a\");system(\"x=3\n", ":1: name has a character outside");
    expect_error("", "no entries");
    expect_error_n("a=0\nb\0c=1\n", 10, ":2: NUL byte");
    char big[600];
    memset(big, 'a', sizeof big);
    memcpy(big + sizeof big - 4, "=1\n", 4);
    expect_error(big, ":1: line too long");
}

static void test_missing_file(void **state)
{
    (void)state;
    mal_vocab v;
    mal_error e;
    assert_int_equal(mal_vocab_load(&v, "/nonexistent/api_index.txt", &e), -1);
    assert_contains(e.msg, "/nonexistent/api_index.txt: cannot open");
}

static void test_from_names(void **state)
{
    (void)state;
    const char *names[] = {"alpha", NULL, "Beta"};
    mal_vocab v, w;
    mal_error e;
    assert_int_equal(mal_vocab_from_names(&v, names, 3, "t", &e), 0);
    assert_int_equal(mal_vocab_lookup(&v, "BETA", 4), 2);
    assert_int_equal(mal_vocab_from_names(&w, names, 3, "t", &e), 0);
    assert_true(mal_vocab_equal(&v, &w));
    mal_vocab_free(&w);
    const char *dup[] = {"x", "X"};
    assert_int_equal(mal_vocab_from_names(&w, dup, 2, "model.json: vocabulary", &e), -1);
    assert_contains(e.msg, "model.json: vocabulary: duplicate name 'x' at indices 0 and 1");
    mal_vocab_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_vocabulary),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_from_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
