/*
 * Classifier benchmark: messages per second on one core over a generated
 * corpus, and the same KB patterns under Vectorscan (Hyperscan's portable
 * fork) as the reference for what a multi-pattern engine can do. Prints
 * figures; asserts nothing.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "corpus.h"
#include "parcelbot/classify.h"
#include "parcelbot/prefilter.h"

#define N_MSG 250000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
		    unsigned int flags, void *ctx)
{
	(void)from;
	(void)to;
	(void)flags;
	((unsigned char *)ctx)[id] = 1;
	return 0;
}

int main(int argc, char **argv)
{
	const char *kbdir = argc > 1 ? argv[1] : "kb";
	pb_diag dg;
	pb_kb *kb = NULL;
	pb_classifier *c;
	char **msgs = calloc(N_MSG, sizeof *msgs);
	size_t bytes, i, r, hits = 0, npat = 0, n_exact = 0, n_pre = 0, n_skip = 0;
	double t0, best = 1e9, best_nopf = 1e9, best_hs = 1e9;
	pb_verdict v;
	pb_errbuf eb;
	const char **exprs;
	unsigned *flags, *ids;
	hs_database_t *db = NULL;
	hs_scratch_t *scratch = NULL;
	hs_compile_error_t *cerr = NULL;
	unsigned char *seen;
	char **norm;

	pb_diag_init(&dg);
	if (pb_kb_load(kbdir, &kb, &dg)) {
		fprintf(stderr, "bench: cannot load KB %s\n", kbdir);
		return 2;
	}
	c = pb_classifier_new(kb);
	bytes = bench_corpus(msgs, N_MSG, 42);
	for (i = 0; i < kb->n_patterns; i++)
		if (kb->patterns[i].role != PB_PAT_SHAPE)
			npat++;
	printf("classifier benchmark: %d messages (%.1f MB, mixed zh/en), %zu patterns, "
	       "%zu prefilter literals\n",
	       N_MSG, (double)bytes / 1e6, npat, pb_prefilter_literals(kb->pf));

	for (r = 0; r < 3; r++) {
		t0 = now_s();
		for (i = 0; i < N_MSG; i++) {
			pb_classify(c, msgs[i], strlen(msgs[i]), &v, &eb);
			hits += v.intents != 0;
		}
		if (now_s() - t0 < best)
			best = now_s() - t0;
	}
	pb_classifier_use_prefilter(c, false);
	t0 = now_s();
	for (i = 0; i < N_MSG; i++)
		pb_classify(c, msgs[i], strlen(msgs[i]), &v, &eb);
	best_nopf = now_s() - t0;
	pb_classifier_use_prefilter(c, true);

	/* Vectorscan over the same patterns, scanning the same normalised text
	 * parcelbot matches against (normalising is not part of its time). */
	exprs = calloc(kb->n_patterns, sizeof *exprs);
	flags = calloc(kb->n_patterns, sizeof *flags);
	ids = calloc(kb->n_patterns, sizeof *ids);
	seen = calloc(kb->n_patterns, 1);
	for (i = 0; i < kb->n_patterns; i++) {
		const pb_pattern *p = &kb->patterns[i];
		hs_database_t *one = NULL;
		unsigned f = HS_FLAG_UTF8 | HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY;
		if (p->role == PB_PAT_SHAPE)
			continue;
		if (hs_compile(p->source, f, HS_MODE_BLOCK, NULL, &one, &cerr) != HS_SUCCESS) {
			hs_free_compile_error(cerr);
			f |= HS_FLAG_PREFILTER;
			if (hs_compile(p->source, f, HS_MODE_BLOCK, NULL, &one, &cerr) != HS_SUCCESS) {
				hs_free_compile_error(cerr);
				n_skip++;
				continue;
			}
			n_pre++;
		} else {
			n_exact++;
		}
		hs_free_database(one);
		exprs[n_exact + n_pre - 1] = p->source;
		flags[n_exact + n_pre - 1] = f;
		ids[n_exact + n_pre - 1] = (unsigned)i;
	}
	if (hs_compile_multi(exprs, flags, ids, (unsigned)(n_exact + n_pre), HS_MODE_BLOCK, NULL, &db,
			     &cerr) != HS_SUCCESS) {
		fprintf(stderr, "bench: vectorscan compile failed: %s\n", cerr->message);
		return 2;
	}
	hs_alloc_scratch(db, &scratch);
	norm = calloc(N_MSG, sizeof *norm);
	for (i = 0; i < N_MSG; i++) {
		/* Same normalisation the classifier applies, via a verdict-free
		 * round: lower-case ASCII is enough for these templates. */
		char *s = strdup(msgs[i]), *q;
		for (q = s; *q; q++)
			if (*q >= 'A' && *q <= 'Z')
				*q = (char)(*q + 32);
		norm[i] = s;
	}
	for (r = 0; r < 3; r++) {
		t0 = now_s();
		for (i = 0; i < N_MSG; i++)
			hs_scan(db, norm[i], (unsigned)strlen(norm[i]), 0, scratch, on_match, seen);
		if (now_s() - t0 < best_hs)
			best_hs = now_s() - t0;
	}

	printf("  parcelbot classify (prefilter on):  %10.0f messages/s  (%.2f us/message; %zu%% "
	       "of messages have an intent)\n",
	       N_MSG / best, best / N_MSG * 1e6, hits * 100 / (3 * (size_t)N_MSG));
	printf("  parcelbot classify (prefilter off): %10.0f messages/s\n", N_MSG / best_nopf);
	printf("  vectorscan %s (same patterns):   %10.0f messages/s  (%zu exact, %zu in prefilter "
	       "mode, %zu unsupported)\n",
	       hs_version(), N_MSG / best_hs, n_exact, n_pre, n_skip);
	printf("  ratio parcelbot/vectorscan: %.2f   target: >= 1000000 messages/s and >= 0.50\n",
	       (N_MSG / best) / (N_MSG / best_hs));
	hs_free_scratch(scratch);
	hs_free_database(db);
	for (i = 0; i < N_MSG; i++) {
		free(msgs[i]);
		free(norm[i]);
	}
	free(msgs);
	free(norm);
	free(exprs);
	free(flags);
	free(ids);
	free(seen);
	pb_classifier_free(c);
	pb_kb_unref(kb);
	pb_diag_release(&dg);
	return 0;
}
