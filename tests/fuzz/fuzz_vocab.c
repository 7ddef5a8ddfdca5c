/* fuzz_vocab.c - mal_vocab_load on arbitrary bytes (api_index.txt): it must
 * either load a vocabulary whose every name looks itself up (any case) to its
 * own id, or fail with a message naming the file; never crash or leak.
 * The loader reads a path, so each input goes through one temp file. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vocab.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static char path[] = "/tmp/malstm-fuzz-vocab-XXXXXX";
static int fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fd < 0)
        CHECK((fd = mkstemp(path)) >= 0);
    CHECK(ftruncate(fd, 0) == 0);
    CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
    mal_vocab v;
    mal_error e;
    e.msg[0] = '\0';
    if (mal_vocab_load(&v, path, &e) == 0) {
        int present = 0;
        for (int id = 0; id < v.size; id++) {
            const char *n = mal_vocab_name(&v, id);
            if (!n)
                continue;
            present++;
            size_t len = strlen(n);
            CHECK(len >= 1 && len <= MAL_NAME_MAX);
            CHECK(mal_vocab_lookup(&v, n, len) == id);
            char upper[MAL_NAME_MAX + 1];
            for (size_t i = 0; i < len; i++)
                upper[i] = (char)toupper((unsigned char)n[i]);
            CHECK(mal_vocab_lookup(&v, upper, len) == id);
        }
        CHECK(present == v.count);
        CHECK(mal_vocab_lookup(&v, "", 0) < 0);
        mal_vocab_free(&v);
    } else {
        CHECK(strncmp(e.msg, path, strlen(path)) == 0);   /* every error names the file */
    }
    return 0;
}
