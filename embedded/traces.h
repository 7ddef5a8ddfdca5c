/* traces.h - sample traces as token ids, generated into a C array by
 * embedded/make_traces.py (the last N in-vocabulary calls of each trace). */
#ifndef MALSTM_EMB_TRACES_H
#define MALSTM_EMB_TRACES_H

#include <stdint.h>

extern const int emb_ntraces;
extern const uint32_t emb_trace_start[];   /* [emb_ntraces + 1]: offsets into emb_ids */
extern const uint16_t emb_ids[];
extern const uint16_t emb_trace_line[];    /* line of the trace in calls.txt (0-based) */

#endif
