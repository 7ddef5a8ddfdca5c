/* fuzz_line_reader.c - libFuzzer target: any bytes (plain or gzip) as a Mal-API
 * line file, from memory. Checks the sink sees consistent records. */
#include <stdint.h>
#include <stdlib.h>

#include "trace_reader.h"
#include "trace_reader_impl.h"
#include "vocab.h"

static mal_vocab vocab;
static uint64_t calls, unknown, next_record;
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
    next_record = 1;
    open_record = 0;
    mal_trace_sink sink = {NULL, on_begin, on_calls, on_unknown, on_end};
    mal_read_opts opts = {.format = MAL_FORMAT_LINES};
    mal_error e;
    /* the first byte picks how the input is cut into blocks: 1..64 bytes, or 64 KiB */
    if (size == 0)
        return 0;
    size_t block = data[0] < 192 ? (size_t)data[0] % 64 + 1 : 0;
    int r = mal_read_trace_mem_blocks("fuzz", data + 1, size - 1, block, &vocab, &opts, &sink, &e);
    CHECK(r == 0 || r == -1);
    if (r == 0)
        CHECK(!open_record && next_record > 1);
    return 0;
}
