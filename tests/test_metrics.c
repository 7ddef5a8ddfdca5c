/* test_metrics.c - metrics against hand-computed values. */
#include "test_support.h"

#include <math.h>

#include "metrics.h"

static void test_confusion(void **state)
{
    (void)state;
    mal_confusion c;
    mal_confusion_init(&c, 3);
    /* truth 0: 0,0,1   truth 1: 1,1   truth 2: 0 */
    mal_confusion_add(&c, 0, 0), mal_confusion_add(&c, 0, 0), mal_confusion_add(&c, 0, 1);
    mal_confusion_add(&c, 1, 1), mal_confusion_add(&c, 1, 1);
    mal_confusion_add(&c, 2, 0);
    mal_confusion_add(&c, 5, 0);   /* out of range: ignored */
    assert_int_equal(c.n, 6);
    assert_true(fabs(mal_confusion_accuracy(&c) - 4.0 / 6) < 1e-12);
    mal_class_metrics m0 = mal_confusion_class(&c, 0);
    assert_true(fabs(m0.precision - 2.0 / 3) < 1e-12);
    assert_true(fabs(m0.recall - 2.0 / 3) < 1e-12);
    mal_class_metrics m1 = mal_confusion_class(&c, 1);
    assert_true(fabs(m1.precision - 2.0 / 3) < 1e-12 && fabs(m1.recall - 1.0) < 1e-12);
    assert_true(fabs(m1.f1 - 0.8) < 1e-12);
    mal_class_metrics m2 = mal_confusion_class(&c, 2);   /* never predicted */
    assert_true(m2.precision == 0 && m2.recall == 0 && m2.f1 == 0);
    assert_true(fabs(mal_confusion_macro_f1(&c) - (2.0 / 3 + 0.8 + 0) / 3) < 1e-12);
}

static void test_auc(void **state)
{
    (void)state;
    float s[] = {0.9f, 0.8f, 0.7f, 0.6f, 0.5f};
    int perfect[] = {1, 1, 0, 0, 0}, inverse[] = {0, 0, 0, 1, 1}, mixed[] = {1, 0, 1, 0, 0};
    assert_true(fabs(mal_roc_auc(s, perfect, 5) - 1.0) < 1e-12);
    assert_true(fabs(mal_roc_auc(s, inverse, 5) - 0.0) < 1e-12);
    /* positives at ranks 5 and 3 of 5: (2 of 3 negatives below each: 3+2)/6 */
    assert_true(fabs(mal_roc_auc(s, mixed, 5) - 5.0 / 6) < 1e-12);
    float tied[] = {0.5f, 0.5f, 0.5f, 0.5f};
    int y[] = {1, 0, 1, 0};
    assert_true(fabs(mal_roc_auc(tied, y, 4) - 0.5) < 1e-12);
    int all[] = {1, 1, 1, 1};
    assert_true(isnan(mal_roc_auc(tied, all, 4)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_confusion),
        cmocka_unit_test(test_auc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
