/* byte_input.h - blocks of uncompressed bytes from a file, stdin or memory.
 *
 * Internal to the trace readers. gzip is detected by its magic bytes (1f 8b)
 * and inflated with zlib; anything else is passed through as it is.
 * Concatenated gzip members are read as one stream (as gzip -d does); a
 * stream that ends inside a member is an error, never a silent EOF. */
#ifndef MAL_BYTE_INPUT_H
#define MAL_BYTE_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "mal_error.h"

#define MAL_INPUT_BLOCK 65536   /* bytes read from the file per system call */

typedef struct mal_byte_input {
    int fd;                      /* -1 for memory input */
    int close_fd;                /* 0 for stdin */
    const unsigned char *src;    /* raw (maybe compressed) bytes not yet used */
    size_t src_len, src_pos;
    int src_eof;
    unsigned char *rawbuf;       /* MAL_INPUT_BLOCK bytes for fd input */
    int gz;                      /* 1 = gzip, 0 = plain, -1 = not known yet */
    int zs_live;                 /* inflateInit2 done */
    int member_done;             /* the last inflate returned Z_STREAM_END */
    z_stream zs;
    uint64_t offset;             /* uncompressed bytes delivered so far */
    int pending;                 /* an error to report after the bytes before it */
    mal_error pending_error;
} mal_byte_input;

/* Open a path ("-" = stdin). Fails on a missing file or a directory, with
 * "<path>: ..." in e. */
int mal_input_open(mal_byte_input *in, const char *path, mal_error *e);

/* Read from memory (not copied; it must outlive the input). */
void mal_input_open_mem(mal_byte_input *in, const void *data, size_t len);

/* Fill buf with up to cap bytes (fewer only at the end of the data). Returns
 * the count, 0 at the end, or -1 with e set to the reason alone (no path or
 * position: the caller adds them; in->offset is where it failed). */
long mal_input_read(mal_byte_input *in, void *buf, size_t cap, mal_error *e);

void mal_input_close(mal_byte_input *in);

#endif
