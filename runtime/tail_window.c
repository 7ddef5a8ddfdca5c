/* tail_window.c - ring buffer of the last N ids. */
#include "tail_window.h"

#include <stdlib.h>
#include <string.h>

int mal_tail_init(mal_tail_window *w, size_t n, mal_error *e)
{
    memset(w, 0, sizeof *w);
    if (n == 0)
        n = MAL_TAIL_DEFAULT;
    if (n > SIZE_MAX / sizeof *w->ids)
        return mal_error_set(e, "tail window: size %zu too large", n);
    w->ids = malloc(n * sizeof *w->ids);
    if (!w->ids)
        return mal_error_set(e, "tail window: out of memory");
    w->cap = n;
    return 0;
}

void mal_tail_free(mal_tail_window *w)
{
    free(w->ids);
    memset(w, 0, sizeof *w);
}

void mal_tail_reset(mal_tail_window *w)
{
    w->next = w->len = 0;
    w->total = 0;
}

void mal_tail_push(mal_tail_window *w, int32_t id, uint64_t count)
{
    w->total += count;
    if (count >= w->cap) {
        /* the run alone fills the window */
        for (size_t i = 0; i < w->cap; i++)
            w->ids[i] = id;
        w->next = 0;
        w->len = w->cap;
        return;
    }
    for (uint64_t k = 0; k < count; k++) {
        w->ids[w->next] = id;
        if (++w->next == w->cap)
            w->next = 0;
    }
    w->len = w->len + count > w->cap ? w->cap : w->len + (size_t)count;
}

size_t mal_tail_copy(const mal_tail_window *w, int32_t *out)
{
    /* the oldest held id sits `len` slots behind `next` */
    size_t start = (w->next + w->cap - w->len) % w->cap;
    size_t first = w->cap - start < w->len ? w->cap - start : w->len;
    memcpy(out, w->ids + start, first * sizeof *out);
    memcpy(out + first, w->ids, (w->len - first) * sizeof *out);
    return w->len;
}
