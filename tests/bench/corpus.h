/*
 * A generated corpus of buyer messages for benchmarks: deterministic, mixed
 * Chinese and English, logistics problems and ordinary shop chat, with
 * varied numbers, places, products, greetings and emoji.
 */
#ifndef PARCELBOT_BENCH_CORPUS_H
#define PARCELBOT_BENCH_CORPUS_H

#include <stddef.h>

/* Fills msgs[0..n) with NUL-terminated messages (caller frees each and the
 * array); returns the total bytes. seed makes the corpus repeatable. */
size_t bench_corpus(char **msgs, size_t n, unsigned seed);

#endif
