/* test_train_merge.c - mt_model_merge: the merged network's window logit is
 * the mean of its members' calibrated logits, step by step, on real traces
 * of the sample (float reference forward, tolerance 2e-5); members that
 * cannot be merged are refused with the reason. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataset.h"
#include "model_merge.h"
#include "reference.h"
#include "test_support.h"

static uint64_t rng = 88172645463325252ull;
static float urand(float scale)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return scale * (2.0f * (float)(rng >> 40) / (float)(1 << 24) - 1.0f);
}

static void fill(float *p, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++)
        p[i] = urand(scale);
}

/* a member of the given sizes with random weights and calibration a, b */
static void member(mal_model *m, const mal_vocab *v, int E, int H1, int H2, mal_act act,
                   mal_pool pool, float a, float b)
{
    mal_error e = {{0}};
    assert_int_equal(mal_model_alloc(m, v, "Worms", E, H1, H2, act, &e), 0);
    m->pool = pool;
    m->scoring = (mal_scoring){.window = 100, .stride = 100, .max_windows = 32, .dedup = 1,
                               .combine = MAL_COMBINE_MEAN, .calib_a = a, .calib_b = b};
    fill(m->embedding, (size_t)v->size * (size_t)E, 0.5f);
    fill(m->l1.wx, 4 * (size_t)H1 * (size_t)E, 0.4f);
    fill(m->l1.wh, 4 * (size_t)H1 * (size_t)H1, 0.4f);
    fill(m->l1.b, 4 * (size_t)H1, 0.2f);
    fill(m->l2.wx, 4 * (size_t)H2 * (size_t)H1, 0.4f);
    fill(m->l2.wh, 4 * (size_t)H2 * (size_t)H2, 0.4f);
    fill(m->l2.b, 4 * (size_t)H2, 0.2f);
    fill(m->dense_w, (size_t)H2, 1.0f);
    m->dense_b = urand(0.5f);
}

static void test_merged_logit_is_members_mean(void **st)
{
    (void)st;
    mt_data d;
    mal_error e = {{0}};
    assert_int_equal(mt_data_load(&d, "data/mal-api-2019-sample", NULL, 400, 4000, &e), 0);
    mal_act acts[3] = {MAL_ACT_TANH, MAL_ACT_SIGMOID, MAL_ACT_SOFTSIGN};
    double worst = 0;
    for (int c = 0; c < 6; c++) {
        mal_act act = acts[c % 3];
        mal_pool pool = c < 3 ? MAL_POOL_MEAN : MAL_POOL_LAST;
        mal_model mem[3], merged;
        /* members of unequal sizes, calibrated and not */
        member(&mem[0], &d.vocab, 16, 20, 12, act, pool, 1.3f, -0.2f);
        member(&mem[1], &d.vocab, 8, 10, 14, act, pool, 1.0f, 0.0f);
        member(&mem[2], &d.vocab, 4, 6, 5, act, pool, 0.7f, 0.4f);
        assert_int_equal(mt_model_merge(mem, 3, &merged, &e), 0);
        assert_int_equal(merged.embed, 28);
        assert_int_equal(merged.l1.hidden, 36);
        assert_int_equal(merged.l2.hidden, 31);
        assert_true(merged.scoring.calib_a == 1 && merged.scoring.calib_b == 0);
        assert_int_equal(mal_model_validate(&merged, "merged", &e), 0);
        mal_ref_state sm, s[3];
        assert_int_equal(mal_ref_state_init(&merged, &sm, &e), 0);
        for (int k = 0; k < 3; k++)
            assert_int_equal(mal_ref_state_init(&mem[k], &s[k], &e), 0);
        for (int t = c; t < d.n; t += 61) {   /* about 11 real traces per case */
            const mt_trace *tr = &d.t[t];
            mal_ref_state_reset(&merged, &sm);
            for (int k = 0; k < 3; k++)
                mal_ref_state_reset(&mem[k], &s[k]);
            for (uint32_t i = 0; i < tr->ntail && i < 300; i++) {
                mal_ref_step(&merged, &sm, tr->tail[i]);
                double want = 0;
                for (int k = 0; k < 3; k++) {
                    mal_ref_step(&mem[k], &s[k], tr->tail[i]);
                    want += ((double)mem[k].scoring.calib_a * mal_ref_logit(&mem[k], &s[k]) +
                             mem[k].scoring.calib_b) / 3;
                }
                double diff = fabs(mal_ref_logit(&merged, &sm) - want);
                if (diff > worst)
                    worst = diff;
                if (diff > 2e-5)
                    fail_msg("case %d trace %d step %u: merged logit %.7g, members' mean %.7g", c,
                             t, i, mal_ref_logit(&merged, &sm), want);
            }
        }
        mal_ref_state_free(&sm);
        for (int k = 0; k < 3; k++)
            mal_ref_state_free(&s[k]), mal_model_free(&mem[k]);
        mal_model_free(&merged);
    }
    fprintf(stderr, "max |merged logit - members' mean| = %.3g\n", worst);
    mt_data_free(&d);
}

static void test_refusals(void **st)
{
    (void)st;
    const char *names[3] = {"a", "b", "c"};
    mal_vocab v, v2;
    mal_error e = {{0}};
    assert_int_equal(mal_vocab_from_names(&v, names, 3, "v", &e), 0);
    assert_int_equal(mal_vocab_from_names(&v2, names, 2, "v2", &e), 0);
    mal_model m[2], out;
    member(&m[0], &v, 4, 5, 6, MAL_ACT_TANH, MAL_POOL_MEAN, 1, 0);
    member(&m[1], &v, 4, 5, 6, MAL_ACT_TANH, MAL_POOL_MEAN, 1, 0);
    assert_int_equal(mt_model_merge(m, 0, &out, &e), -1);
    assert_contains(e.msg, "no models");
    m[1].scoring.stride = 50;
    assert_int_equal(mt_model_merge(m, 2, &out, &e), -1);
    assert_contains(e.msg, "member 2 differs from member 1 in its scoring rule");
    m[1].scoring.stride = 100, m[1].pool = MAL_POOL_LAST;
    assert_int_equal(mt_model_merge(m, 2, &out, &e), -1);
    assert_contains(e.msg, "pooling");
    m[1].pool = MAL_POOL_MEAN, m[1].act = MAL_ACT_SIGMOID;
    assert_int_equal(mt_model_merge(m, 2, &out, &e), -1);
    assert_contains(e.msg, "activation");
    m[1].act = MAL_ACT_TANH;
    strcpy(m[1].type, "Virus");
    assert_int_equal(mt_model_merge(m, 2, &out, &e), -1);
    assert_contains(e.msg, "type");
    strcpy(m[1].type, "Worms");
    mal_model w;
    member(&w, &v2, 4, 5, 6, MAL_ACT_TANH, MAL_POOL_MEAN, 1, 0);
    mal_model pair[2] = {m[0], w};
    assert_int_equal(mt_model_merge(pair, 2, &out, &e), -1);
    assert_contains(e.msg, "vocabulary");
    m[0].act = m[1].act = MAL_ACT_SOFTMAX;
    assert_int_equal(mt_model_merge(m, 2, &out, &e), -1);
    assert_contains(e.msg, "softmax");
    m[0].act = m[1].act = MAL_ACT_TANH;
    /* too wide: 1000 + 1000 units */
    mal_model big[2];
    member(&big[0], &v, 4, 1000, 6, MAL_ACT_TANH, MAL_POOL_MEAN, 1, 0);
    member(&big[1], &v, 4, 1000, 6, MAL_ACT_TANH, MAL_POOL_MEAN, 1, 0);
    assert_int_equal(mt_model_merge(big, 2, &out, &e), -1);
    assert_contains(e.msg, "too large");
    /* and a pair that can be merged is */
    assert_int_equal(mt_model_merge(m, 2, &out, &e), 0);
    mal_model_free(&out);
    for (int k = 0; k < 2; k++)
        mal_model_free(&m[k]), mal_model_free(&big[k]);
    mal_model_free(&w);
    mal_vocab_free(&v), mal_vocab_free(&v2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merged_logit_is_members_mean),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
