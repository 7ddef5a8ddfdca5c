/* fuzz_report_reader.c - libFuzzer target: any bytes (plain or gzip) as a
 * Cuckoo/CAPE report.json, from memory, with small limits so that the
 * string-length and repeat caps are reached. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trace_reader.h"
#include "trace_reader_impl.h"
#include "vocab.h"

static mal_vocab vocab;
static uint64_t calls, unknown;
static int begun, ended;

#define CHECK(x) do { if (!(x)) abort(); } while (0)
#define MAX_REPEAT 1000

static int on_begin(void *ctx, const mal_record_info *info)
{
    (void)ctx;
    CHECK(!begun && info->record == 1);
    begun = 1;
    return 0;
}

static int on_calls(void *ctx, int32_t id, uint64_t count)
{
    (void)ctx;
    CHECK(begun && !ended && count >= 1 && count <= 1 + MAX_REPEAT);
    CHECK(mal_vocab_name(&vocab, id) != NULL);
    calls += count;
    return 0;
}

static int on_unknown(void *ctx, const char *name, size_t len, uint64_t count)
{
    (void)ctx, (void)name;
    CHECK(begun && !ended && len <= MAL_NAME_MAX + 1 && count >= 1 && count <= 1 + MAX_REPEAT);
    unknown += count;
    return 0;
}

static int on_end(void *ctx, const mal_record_info *info)
{
    (void)ctx;
    CHECK(begun && !ended && info->calls == calls + unknown && info->unknown == unknown);
    ended = 1;
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
     * outcome and the counts must be the same as in one block */
    size_t block = (size_t)data[0] % 64 + 1;
    uint64_t totals[2][3];
    int r[2];
    for (int k = 0; k < 2; k++) {
        calls = unknown = 0;
        begun = ended = 0;
        mal_trace_sink sink = {NULL, on_begin, on_calls, on_unknown, on_end};
        mal_read_opts opts = {.format = MAL_FORMAT_REPORT, .max_repeat = MAX_REPEAT,
                              .max_string = 4096};
        mal_error e;
        r[k] = mal_read_trace_mem_blocks("report.json", data + 1, size - 1, k ? block : 0, &vocab,
                                         &opts, &sink, &e);
        CHECK(r[k] == 0 || r[k] == -1);
        CHECK(r[k] == 0 ? ended : !ended);
        totals[k][0] = (uint64_t)ended;
        totals[k][1] = calls;
        totals[k][2] = unknown;
    }
    CHECK(r[0] == r[1] && memcmp(totals[0], totals[1], sizeof totals[0]) == 0);
    return 0;
}
