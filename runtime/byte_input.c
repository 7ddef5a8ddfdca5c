/* byte_input.c - plain or gzip bytes from a file descriptor or memory. */
#include "byte_input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mal_input_open(mal_byte_input *in, const char *path, mal_error *e)
{
    memset(in, 0, sizeof *in);
    in->gz = -1;
    if (strcmp(path, "-") == 0) {
        in->fd = 0;
    } else {
        in->fd = open(path, O_RDONLY);
        if (in->fd < 0)
            return mal_error_set(e, "%s: cannot open: %s", path, strerror(errno));
        in->close_fd = 1;
    }
    struct stat st;
    if (fstat(in->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        mal_input_close(in);
        return mal_error_set(e, "%s: is a directory", path);
    }
    in->rawbuf = malloc(MAL_INPUT_BLOCK);
    if (!in->rawbuf) {
        mal_input_close(in);
        return mal_error_set(e, "%s: out of memory", path);
    }
    return 0;
}

void mal_input_open_mem(mal_byte_input *in, const void *data, size_t len)
{
    memset(in, 0, sizeof *in);
    in->fd = -1;
    in->gz = -1;
    in->src = data;
    in->src_len = len;
    in->src_eof = 1;
}

void mal_input_close(mal_byte_input *in)
{
    if (in->zs_live)
        inflateEnd(&in->zs);
    if (in->close_fd && in->fd >= 0)
        close(in->fd);
    free(in->rawbuf);
    memset(in, 0, sizeof *in);
    in->fd = -1;
}

/* Read more raw bytes after the unused ones. 1 = some available, 0 = end, -1 = error. */
static int fill_src(mal_byte_input *in, mal_error *e)
{
    if (in->src_pos < in->src_len)
        return 1;
    if (in->src_eof)
        return 0;
    ssize_t n;
    do
        n = read(in->fd, in->rawbuf, MAL_INPUT_BLOCK);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return mal_error_set(e, "read error: %s", strerror(errno));
    if (n == 0) {
        in->src_eof = 1;
        return 0;
    }
    in->src = in->rawbuf;
    in->src_len = (size_t)n;
    in->src_pos = 0;
    return 1;
}

/* Look at the first two raw bytes (a pipe may deliver them one at a time). */
static int detect(mal_byte_input *in, mal_error *e)
{
    if (in->fd >= 0) {
        size_t n = 0;
        while (n < 2) {
            ssize_t r = read(in->fd, in->rawbuf + n, MAL_INPUT_BLOCK - n);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                return mal_error_set(e, "read error: %s", strerror(errno));
            if (r == 0) {
                in->src_eof = 1;
                break;
            }
            n += (size_t)r;
        }
        in->src = in->rawbuf;
        in->src_len = n;
        in->src_pos = 0;
    }
    in->gz = in->src_len >= 2 && in->src[0] == 0x1f && in->src[1] == 0x8b;
    if (in->gz) {
        memset(&in->zs, 0, sizeof in->zs);
        if (inflateInit2(&in->zs, 16 + MAX_WBITS) != Z_OK)   /* 16: gzip wrapper only */
            return mal_error_set(e, "out of memory");
        in->zs_live = 1;
    }
    return 0;
}

static long read_plain(mal_byte_input *in, unsigned char *out, size_t cap, mal_error *e)
{
    size_t n = 0;
    while (n < cap) {
        int r = fill_src(in, e);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        size_t k = in->src_len - in->src_pos;
        if (k > cap - n)
            k = cap - n;
        memcpy(out + n, in->src + in->src_pos, k);
        in->src_pos += k;
        n += k;
    }
    return (long)n;
}

/* On an error the bytes inflated before it are still returned; the error
 * waits for the next call, so the parser sees every good byte first. */
static long gz_error(mal_byte_input *in, size_t n, mal_error *e, const char *what,
                     const char *detail)
{
    in->offset += n;
    mal_error_set(n ? &in->pending_error : e, "%s%s", what, detail);
    in->pending = n > 0;
    return n ? (long)n : -1;
}

static long read_gz(mal_byte_input *in, unsigned char *out, size_t cap, mal_error *e)
{
    z_stream *zs = &in->zs;
    zs->next_out = out;
    zs->avail_out = (uInt)cap;
    while (zs->avail_out > 0) {
        int r = fill_src(in, e);
        if (r < 0)
            return -1;
        if (in->member_done) {
            if (r == 0)
                break;   /* clean end after a whole member */
            /* another member follows (concatenated gzip) - or garbage */
            if (in->src[in->src_pos] != 0x1f)
                return gz_error(in, cap - zs->avail_out, e, "trailing garbage after gzip data", "");
            inflateReset(zs);
            in->member_done = 0;
        } else if (r == 0) {
            /* no more input, but inflate may still hold output that did not
             * fit last time: drain it before calling the stream truncated */
            uInt before = zs->avail_out;
            zs->next_in = NULL;
            zs->avail_in = 0;
            int z = inflate(zs, Z_NO_FLUSH);
            if (z == Z_STREAM_END)
                in->member_done = 1;
            else if (z != Z_OK && z != Z_BUF_ERROR)
                return gz_error(in, cap - zs->avail_out, e, "corrupt gzip data: ",
                                zs->msg ? zs->msg : "inflate error");
            if (zs->avail_out < before || in->member_done)
                continue;
            return gz_error(in, cap - zs->avail_out, e,
                            "truncated gzip data (compressed stream ends early)", "");
        }
        zs->next_in = (unsigned char *)(in->src + in->src_pos);
        zs->avail_in = (uInt)(in->src_len - in->src_pos);
        int z = inflate(zs, Z_NO_FLUSH);
        in->src_pos = in->src_len - zs->avail_in;
        if (z == Z_STREAM_END) {
            in->member_done = 1;
        } else if (z == Z_MEM_ERROR) {
            return mal_error_set(e, "out of memory");
        } else if ((z != Z_OK && z != Z_BUF_ERROR) || (z == Z_BUF_ERROR && zs->avail_in > 0)) {
            return gz_error(in, cap - zs->avail_out, e, "corrupt gzip data: ",
                            zs->msg ? zs->msg : "inflate error");
        }
    }
    size_t n = cap - zs->avail_out;
    in->offset += n;
    return (long)n;
}

long mal_input_read(mal_byte_input *in, void *buf, size_t cap, mal_error *e)
{
    if (in->pending) {
        in->pending = 0;
        if (e)
            *e = in->pending_error;
        return -1;
    }
    if (in->gz < 0 && detect(in, e) < 0)
        return -1;
    if (cap > MAL_INPUT_BLOCK * 16)
        cap = MAL_INPUT_BLOCK * 16;   /* keeps the count in a long and avail_out in a uInt */
    if (in->gz)
        return read_gz(in, buf, cap, e);
    long n = read_plain(in, buf, cap, e);
    if (n > 0)
        in->offset += (uint64_t)n;
    return n;
}
