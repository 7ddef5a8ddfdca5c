/* test_tail_window.c - the ring buffer of the last N ids against a naive
 * model (an array of every id pushed), with runs of every size. */
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

#include "tail_window.h"

/* Compare the window with the last min(total, n) entries of the full history. */
static void check(const mal_tail_window *w, const int32_t *hist, size_t total)
{
    int32_t out[1024];
    size_t len = mal_tail_copy(w, out);
    size_t want = total < w->cap ? total : w->cap;
    assert_int_equal(len, want);
    assert_int_equal(w->total, total);
    assert_memory_equal(out, hist + total - want, want * sizeof *out);
}

static void test_default_and_small_pushes(void **state)
{
    (void)state;
    mal_tail_window w;
    mal_error e;
    assert_int_equal(mal_tail_init(&w, 0, &e), 0);
    assert_int_equal(w.cap, MAL_TAIL_DEFAULT);
    int32_t out[MAL_TAIL_DEFAULT];
    assert_int_equal(mal_tail_copy(&w, out), 0);
    static int32_t hist[4000];
    size_t total = 0;
    for (int32_t i = 0; i < 1000; i++) {
        mal_tail_push(&w, i, 1);
        hist[total++] = i;
        check(&w, hist, total);
    }
    /* oldest first, newest last */
    assert_int_equal(mal_tail_copy(&w, out), 342);
    assert_int_equal(out[0], 1000 - 342);
    assert_int_equal(out[341], 999);
    mal_tail_reset(&w);
    assert_int_equal(mal_tail_copy(&w, out), 0);
    mal_tail_push(&w, 7, 3);
    assert_int_equal(mal_tail_copy(&w, out), 3);
    assert_int_equal(out[0], 7);
    assert_int_equal(out[2], 7);
    mal_tail_free(&w);
}

static void test_runs_against_model(void **state)
{
    (void)state;
    const size_t sizes[] = {1, 2, 5, 342};
    srand(12345);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        mal_tail_window w;
        mal_error e;
        assert_int_equal(mal_tail_init(&w, sizes[s], &e), 0);
        size_t cap = 200000, total = 0;
        int32_t *hist = malloc(cap * sizeof *hist);
        for (int step = 0; step < 2000; step++) {
            /* runs around the window size matter most: below, at and above it */
            uint64_t count = (uint64_t)(rand() % 4 == 0 ? rand() % (3 * (int)sizes[s] + 2)
                                                        : rand() % 3 + 1);
            int32_t id = rand() % 342;
            if (total + count > cap)
                break;
            mal_tail_push(&w, id, count);
            for (uint64_t k = 0; k < count; k++)
                hist[total++] = id;
            check(&w, hist, total);
        }
        /* a run far longer than the window: O(N), and the window is all that id */
        mal_tail_push(&w, 5, 1000000000000ull);
        int32_t out[1024];
        assert_int_equal(mal_tail_copy(&w, out), sizes[s]);
        for (size_t i = 0; i < sizes[s]; i++)
            assert_int_equal(out[i], 5);
        assert_int_equal(w.total, total + 1000000000000ull);
        free(hist);
        mal_tail_free(&w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_and_small_pushes),
        cmocka_unit_test(test_runs_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
