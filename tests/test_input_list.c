/* test_input_list.c - directory walking order, symlink loops, --from lists. */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "input_list.h"

static void test_directory_walk(void **state)
{
    (void)state;
    char *d = tmp_dir();
    char p[4200];
    snprintf(p, sizeof p, "%s/b", d), mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/a.txt", d), write_text(p, "x\n");
    snprintf(p, sizeof p, "%s/b/z.json", d), write_text(p, "{}");
    snprintf(p, sizeof p, "%s/b/c.txt", d), write_text(p, "y\n");
    snprintf(p, sizeof p, "%s/.hidden", d), write_text(p, "h\n");
    char target[4200];
    snprintf(target, sizeof target, "%s", d);
    snprintf(p, sizeof p, "%s/b/loop", d);
    assert_int_equal(symlink(target, p), 0);      /* b/loop -> the root: a directory loop */
    snprintf(p, sizeof p, "%s/b/self", d);
    assert_int_equal(symlink(p, p), 0);           /* a link to itself: ELOOP */

    mal_input_list l;
    mal_error e;
    mal_input_list_init(&l);
    assert_int_equal(mal_input_list_add(&l, d, &e), 0);
    assert_int_equal(mal_input_list_add(&l, "/nonexistent/x.json", &e), 0);
    assert_int_equal(l.n, 3);
    snprintf(p, sizeof p, "%s/a.txt", d), assert_string_equal(l.paths[0], p);
    snprintf(p, sizeof p, "%s/b/c.txt", d), assert_string_equal(l.paths[1], p);
    snprintf(p, sizeof p, "%s/b/z.json", d), assert_string_equal(l.paths[2], p);
    assert_int_equal(l.nproblems, 3);
    assert_contains(l.problems[0], "/b/loop: directory loop");
    assert_contains(l.problems[1], "/b/self: symbolic link loop");
    assert_contains(l.problems[2], "/nonexistent/x.json: No such file");
    mal_input_list_free(&l);
    rm_rf(d);
    free(d);
}

static void test_from_list(void **state)
{
    (void)state;
    char *d = tmp_dir(), *list = tmp_path(d, "list.txt"), *f = tmp_path(d, "t.txt");
    write_text(f, "a b\n");
    char text[9000];
    snprintf(text, sizeof text, "%s\n\n-\n%s\r\n", f, f);
    write_text(list, text);
    mal_input_list l;
    mal_error e;
    mal_input_list_init(&l);
    assert_int_equal(mal_input_list_add_from(&l, list, &e), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.paths[1], "-");
    assert_string_equal(l.paths[2], f);
    assert_int_equal(mal_input_list_add_from(&l, "/nonexistent/list", &e), -1);
    assert_contains(e.msg, "/nonexistent/list: cannot open list");
    write_file(list, "a\0b\n", 4);
    assert_int_equal(mal_input_list_add_from(&l, list, &e), -1);
    assert_contains(e.msg, "list.txt:1: NUL byte");
    mal_input_list_free(&l);
    rm_rf(d);
    free(d), free(list), free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_directory_walk),
        cmocka_unit_test(test_from_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
