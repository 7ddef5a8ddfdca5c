/* test_support.h - small helpers shared by the cmocka tests. Tests run with
 * the source tree as working directory (see tests/CMakeLists.txt). */
#ifndef MAL_TEST_SUPPORT_H
#define MAL_TEST_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#define SAMPLE_DIR "data/mal-api-2019-sample"
#define SAMPLE_VOCAB SAMPLE_DIR "/api_index.txt"
#define SAMPLE_CALLS SAMPLE_DIR "/calls.txt.gz"
#define CAPE_DIR "data/cape-reports"

/* A fresh temporary directory (mkdtemp under $TMPDIR or /tmp); caller frees
 * the string. tmp_path joins it with a name into a static-free malloc'd path. */
char *tmp_dir(void);
char *tmp_path(const char *dir, const char *name);
void rm_rf(const char *path);

/* Write bytes to a file (asserts on failure); gz_write compresses with zlib. */
void write_file(const char *path, const void *data, size_t len);
void write_text(const char *path, const char *text);
void gz_write(const char *path, const void *data, size_t len);

/* Whole file into memory (NUL-terminated; *len without the NUL). gz files are
 * inflated. Asserts on failure. */
char *read_file(const char *path, size_t *len);
char *read_gz(const char *path, size_t *len);

/* The sample's vocabulary (SAMPLE_VOCAB), for tests that need one: pass
 * setup_sample_vocab / teardown_sample_vocab to cmocka_run_group_tests. */
#include "vocab.h"
extern mal_vocab sample_vocab;
int setup_sample_vocab(void **state);
int teardown_sample_vocab(void **state);

/* Directory of the CMake build (MALSTM_BUILD_DIR, set by ctest). */
const char *build_dir(void);

/* Run a shell command, capture stdout+stderr into a malloc'd string; returns
 * the exit status (or -1). */
int run_capture(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* assert that haystack contains needle, printing both on failure */
#define assert_contains(hay, needle) assert_contains_impl((hay), (needle), __FILE__, __LINE__)
void assert_contains_impl(const char *hay, const char *needle, const char *file, int line);

#endif
