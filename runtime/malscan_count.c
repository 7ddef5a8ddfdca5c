/* malscan_count.c - `malscan --count`: calls and unknown names per record. */
#include "malscan.h"

#include <inttypes.h>
#include <stdio.h>

#include "input_list.h"
#include "trace_reader.h"
#include "vocab.h"

typedef struct count_ctx {
    int json;
} count_ctx;

static int on_calls(void *ctx, int32_t id, uint64_t count)
{
    (void)ctx, (void)id, (void)count;
    return 0;
}

static int on_record_end(void *ctx, const mal_record_info *info)
{
    const count_ctx *c = ctx;
    if (c->json) {
        fputs("{\"input\": ", stdout);
        malscan_json_string(stdout, info->input);
        printf(", \"record\": %" PRIu64 ", \"calls\": %" PRIu64 ", \"unknown\": %" PRIu64 "}\n",
               info->record, info->calls, info->unknown);
    } else {
        printf("%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\n", info->input, info->record,
               info->calls, info->unknown);
    }
    return 0;
}

int malscan_count(const malscan_args *a)
{
    mal_vocab vocab;
    mal_error e;
    if (mal_vocab_load(&vocab, malscan_vocab_path(a), &e) < 0) {
        fprintf(stderr, "malscan: %s\n", e.msg);
        return 1;
    }
    count_ctx ctx = {.json = a->json};
    mal_trace_sink sink = {.ctx = &ctx, .calls = on_calls, .record_end = on_record_end};
    mal_input_list list;
    int status = malscan_collect_inputs(a, &list);
    status |= malscan_read_inputs(&list, &vocab, &sink, NULL, NULL);
    mal_input_list_free(&list);
    mal_vocab_free(&vocab);
    if (fflush(stdout) != 0) {
        perror("malscan: stdout");
        status = 1;
    }
    return status;
}
