/* malscan_jit.h - the scanner's JIT engine: the ensemble compiled by malcc and
 * built in-process with libtcc (compiler/jit_build.c), behind the engine
 * interface of ensemble.h. Part of the malscan tool, not of the runtime
 * library, because it links the compiler. */
#ifndef MALSCAN_JIT_H
#define MALSCAN_JIT_H

#include "ensemble.h"

int mal_engine_jit(mal_engine *en, const mal_ensemble *ensemble, mal_error *e);

#endif
