/* tail_window.h - the last N token ids of a trace, fed as it streams.
 *
 * A ring buffer: pushing a run of `count` equal ids costs O(min(count, N)),
 * so a CAPE entry repeated a million times is as cheap as N single calls.
 * The paper's models look at the last 342 calls of a trace. */
#ifndef MAL_TAIL_WINDOW_H
#define MAL_TAIL_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "mal_error.h"

#define MAL_TAIL_DEFAULT 342

typedef struct mal_tail_window {
    int32_t *ids;      /* cap slots */
    size_t cap;        /* N */
    size_t next;       /* slot the next id goes to */
    size_t len;        /* ids held, <= cap */
    uint64_t total;    /* ids pushed since the last reset */
} mal_tail_window;

/* n = 0 means MAL_TAIL_DEFAULT. */
int mal_tail_init(mal_tail_window *w, size_t n, mal_error *e);
void mal_tail_free(mal_tail_window *w);

/* Forget everything (a new trace). */
void mal_tail_reset(mal_tail_window *w);

/* `count` copies of `id`. */
void mal_tail_push(mal_tail_window *w, int32_t id, uint64_t count);

/* Copy the held ids, oldest first, into out[0..len-1]; returns len. */
size_t mal_tail_copy(const mal_tail_window *w, int32_t *out);

#endif
