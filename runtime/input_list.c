/* input_list.c - files, directories (recursive, sorted), --from lists. */
#include "input_list.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_DEPTH 64   /* deeper directory trees are reported, not walked */

void mal_input_list_init(mal_input_list *l)
{
    memset(l, 0, sizeof *l);
}

void mal_input_list_free(mal_input_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->paths[i]);
    for (size_t i = 0; i < l->nproblems; i++)
        free(l->problems[i]);
    free(l->paths);
    free(l->problems);
    memset(l, 0, sizeof *l);
}

static int push(char ***v, size_t *n, size_t *cap, char *s)
{
    if (!s)
        return -1;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        char **nv = realloc(*v, nc * sizeof *nv);
        if (!nv) {
            free(s);
            return -1;
        }
        *v = nv, *cap = nc;
    }
    (*v)[(*n)++] = s;
    return 0;
}

static int problem(mal_input_list *l, const char *path, const char *what)
{
    size_t len = strlen(path) + strlen(what) + 3;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%s: %s", path, what);
    return push(&l->problems, &l->nproblems, &l->capproblems, s);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* `seen` holds the (dev, ino) of the directories on the current path, so a
 * symlink back to an ancestor is reported as a loop instead of recursing. */
typedef struct dir_id {
    dev_t dev;
    ino_t ino;
} dir_id;

static int walk(mal_input_list *l, const char *path, dir_id *seen, int depth, mal_error *e)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return problem(l, path, errno == ELOOP ? "symbolic link loop" : strerror(errno)) < 0
                   ? mal_error_set(e, "out of memory") : 0;
    if (!S_ISDIR(st.st_mode)) {
        if (depth > 0 && !S_ISREG(st.st_mode))
            return 0;   /* sockets, fifos inside a walked directory: not traces */
        return push(&l->paths, &l->n, &l->cap, strdup(path)) < 0 ? mal_error_set(e, "out of memory") : 0;
    }
    for (int i = 0; i < depth; i++)
        if (seen[i].dev == st.st_dev && seen[i].ino == st.st_ino)
            return problem(l, path, "directory loop (symbolic link to an ancestor), skipped") < 0
                       ? mal_error_set(e, "out of memory") : 0;
    if (depth >= MAX_DEPTH)
        return problem(l, path, "directory nesting deeper than 64, skipped") < 0
                   ? mal_error_set(e, "out of memory") : 0;
    seen[depth] = (dir_id){st.st_dev, st.st_ino};
    DIR *d = opendir(path);
    if (!d)
        return problem(l, path, strerror(errno)) < 0 ? mal_error_set(e, "out of memory") : 0;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')   /* ".", ".." and hidden files */
            continue;
        if (push(&names, &n, &cap, strdup(de->d_name)) < 0) {
            rc = mal_error_set(e, "out of memory");
            break;
        }
    }
    closedir(d);
    if (rc == 0)
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0) {
            size_t len = strlen(path) + strlen(names[i]) + 2;
            char *child = malloc(len);
            if (!child)
                rc = mal_error_set(e, "out of memory");
            else {
                snprintf(child, len, "%s%s%s", path,
                         path[strlen(path) - 1] == '/' ? "" : "/", names[i]);
                rc = walk(l, child, seen, depth + 1, e);
                free(child);
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int mal_input_list_add(mal_input_list *l, const char *path, mal_error *e)
{
    if (strcmp(path, "-") == 0)
        return push(&l->paths, &l->n, &l->cap, strdup(path)) < 0 ? mal_error_set(e, "out of memory") : 0;
    if (!*path)
        return problem(l, "(empty path)", "no such file") < 0 ? mal_error_set(e, "out of memory") : 0;
    dir_id seen[MAX_DEPTH + 1];
    return walk(l, path, seen, 0, e);
}

int mal_input_list_add_from(mal_input_list *l, const char *list_path, mal_error *e)
{
    int use_stdin = strcmp(list_path, "-") == 0;
    FILE *f = use_stdin ? stdin : fopen(list_path, "r");
    if (!f)
        return mal_error_set(e, "%s: cannot open list: %s", list_path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (memchr(line, '\0', (size_t)len)) {
            rc = mal_error_set(e, "%s:%ld: NUL byte in path", list_path, lineno);
            break;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        if (len > 4096) {
            rc = mal_error_set(e, "%s:%ld: path longer than 4096 bytes", list_path, lineno);
            break;
        }
        rc = mal_input_list_add(l, line, e);
    }
    if (rc == 0 && ferror(f))
        rc = mal_error_set(e, "%s: read error: %s", list_path, strerror(errno));
    free(line);
    if (!use_stdin)
        fclose(f);
    return rc;
}
