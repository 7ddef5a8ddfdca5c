/* fuzz_line_reader.c - libFuzzer target: any bytes (plain or gzip) as a Mal-API
 * line file, from memory. Checks the sink sees consistent records, and that
 * cutting the input into small blocks changes nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trace_reader.h"
#include "trace_reader_impl.h"
#include "vocab.h"

static mal_vocab vocab;
static uint64_t calls, unknown, next_record, all_calls, all_unknown;
static int open_record;

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static int on_begin(void *ctx, const mal_record_info *info)
{
    (void)ctx;
    CHECK(!open_record && info->record == next_record && info->calls == 0);
    open_record = 1;
    calls = unknown = 0;
    return 0;
}

static int on_calls(void *ctx, int32_t id, uint64_t count)
{
    (void)ctx;
    CHECK(open_record && count == 1 && mal_vocab_name(&vocab, id) != NULL);
    calls += count;
    return 0;
}

static int on_unknown(void *ctx, const char *name, size_t len, uint64_t count)
{
    (void)ctx;
    CHECK(open_record && len >= 1 && len <= MAL_NAME_MAX + 1 && count == 1);
    CHECK(mal_vocab_lookup(&vocab, name, len) < 0 || len > MAL_NAME_MAX);
    unknown += count;
    return 0;
}

static int on_end(void *ctx, const mal_record_info *info)
{
    (void)ctx;
    CHECK(open_record && info->calls == calls + unknown && info->unknown == unknown);
    open_record = 0;
    next_record++;
    all_calls += info->calls;
    all_unknown += info->unknown;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!vocab.slots) {
        static const char *const names[] = {"__process__", "ntclose", "ntopenfile", NULL, "x",
                                            "ldrgetprocedureaddress"};
        mal_error e;
        if (mal_vocab_from_names(&vocab, names, 6, "fuzz", &e) < 0)
            abort();
    }
    if (size == 0)
        return 0;
    /* the first byte picks how the input is cut into blocks (1..64 bytes); the
     * result must be the same as in one block, message included */
    size_t block = (size_t)data[0] % 64 + 1;
    uint64_t totals[2][3];
    mal_error e[2] = {{{0}}, {{0}}};
    int r[2];
    for (int k = 0; k < 2; k++) {
        next_record = 1;
        open_record = 0;
        all_calls = all_unknown = 0;
        mal_trace_sink sink = {NULL, on_begin, on_calls, on_unknown, on_end};
        mal_read_opts opts = {.format = MAL_FORMAT_LINES};
        r[k] = mal_read_trace_mem_blocks("fuzz", data + 1, size - 1, k ? block : 0, &vocab, &opts,
                                         &sink, &e[k]);
        CHECK(r[k] == 0 || r[k] == -1);
        if (r[k] == 0)
            CHECK(!open_record && next_record > 1);
        totals[k][0] = next_record;
        totals[k][1] = all_calls;
        totals[k][2] = all_unknown;
    }
    CHECK(r[0] == r[1] && memcmp(totals[0], totals[1], sizeof totals[0]) == 0);
    CHECK(r[0] == 0 || strcmp(e[0].msg, e[1].msg) == 0);
    return 0;
}
