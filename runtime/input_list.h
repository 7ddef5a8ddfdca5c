/* input_list.h - expands malscan's inputs into the list of files to read:
 * files as given, "-" (stdin), directories walked recursively in byte order
 * of names (a stable order on every machine), and `--from FILE` lists (one
 * path a line; "-" reads the list from stdin). Problems with one input (a
 * missing path, an unreadable directory, a symlink loop) are collected as
 * messages, not fatal: the other inputs are still scanned. */
#ifndef MAL_INPUT_LIST_H
#define MAL_INPUT_LIST_H

#include <stddef.h>

#include "mal_error.h"

typedef struct mal_input_list {
    char **paths;
    size_t n, cap;
    char **problems;    /* "<path>: <what>" for inputs that could not be listed */
    size_t nproblems, capproblems;
} mal_input_list;

void mal_input_list_init(mal_input_list *l);
void mal_input_list_free(mal_input_list *l);

/* Add one command-line input (file, directory or "-"). Returns -1 only on
 * out of memory; bad paths land in l->problems. */
int mal_input_list_add(mal_input_list *l, const char *path, mal_error *e);

/* Add every line of a list file ("-" = stdin); blank lines are skipped.
 * Returns -1 (e set) if the list itself cannot be read. */
int mal_input_list_add_from(mal_input_list *l, const char *list_path, mal_error *e);

#endif
