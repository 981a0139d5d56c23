/*
 * Store benchmark: buyer messages ingested per second end to end, as
 * `parcelbot ingest` does it: each batch committed to the inbox, then
 * claimed, classified, joined to its case (or opening one), assessed from
 * a trace in the tracking cache, drafted, and committed with the case's
 * moves, reminders and outbox rows. The database is a file on disk with
 * synchronous=FULL, so every commit waits for the disk; batching is what
 * makes it fast, and the figure is printed for several batch sizes.
 * Prints figures; asserts nothing.
 */
#include <cJSON.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "corpus.h"
#include "parcelbot/ingest.h"
#include "parcelbot/kb.h"
#include "parcelbot/store.h"
#include "parcelbot/trace.h"

#define N_MSG 20000
#define N_CONV 4000 /* five messages a conversation on average */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *fs_name(const char *dir)
{
	struct statfs sf;

	if (statfs(dir, &sf))
		return "unknown file system";
	switch ((unsigned long)sf.f_type) {
	case 0xEF53: return "ext4";
	case 0x58465342: return "xfs";
	case 0x9123683E: return "btrfs";
	case 0x01021994: return "tmpfs (memory, not disk!)";
	case 0x794C7630: return "overlayfs";
	default: return "disk";
	}
}

/* The order source's traces, already in the tracking cache: a third stuck
 * at a hub for three days, a third moving, a third delivered. */
static int fill_cache(pb_store *st, int64_t t0, int64_t fetched)
{
	pb_errbuf eb;
	char number[32];
	int c;

	if (pb_store_begin(st, &eb))
		return -1;
	for (c = 0; c < N_CONV; c++) {
		pb_trace t;
		cJSON *j;
		char *s;
		int64_t last = c % 3 == 0 ? t0 - 3 * 86400 : t0 - 6 * 3600;
		pb_trace_init(&t);
		snprintf(number, sizeof number, "7531%010d", c);
		t.carrier = strdup("zto");
		t.number = strdup(number);
		t.provider = strdup("bench");
		t.found = true;
		pb_trace_add(&t, (pb_when){last - 86400, 8 * 3600}, "义乌", "快件已揽收", "",
			     PB_ST_IN_TRANSIT, PB_EX_NONE);
		pb_trace_add(&t, (pb_when){last, 8 * 3600}, "杭州转运中心", "快件已到达【杭州转运中心】",
			     "", c % 3 == 2 ? PB_ST_DELIVERED : PB_ST_IN_TRANSIT, PB_EX_NONE);
		pb_trace_sort(&t);
		j = pb_trace_json(&t);
		s = cJSON_PrintUnformatted(j);
		if (pb_store_track_put(st, "zto", number, s, fetched, &eb)) {
			fprintf(stderr, "bench: %s\n", eb.msg);
			return -1;
		}
		free(s);
		cJSON_Delete(j);
		pb_trace_release(&t);
	}
	return pb_store_commit(st, &eb) ? -1 : 0;
}

static char **make_lines(char **msgs, int64_t t0)
{
	char **lines = calloc(N_MSG, sizeof *lines);
	char id[32], conv[32], order[32], number[32], when[40];
	int i;

	srand(7);
	for (i = 0; i < N_MSG; i++) {
		int c = rand() % N_CONV;
		cJSON *o = cJSON_CreateObject(), *ord, *p;
		snprintf(id, sizeof id, "m%d", i);
		snprintf(conv, sizeof conv, "c%d", c);
		snprintf(order, sizeof order, "O%d", c);
		snprintf(number, sizeof number, "7531%010d", c);
		cJSON_AddStringToObject(o, "message_id", id);
		cJSON_AddStringToObject(o, "conversation", conv);
		cJSON_AddStringToObject(o, "buyer", conv);
		cJSON_AddStringToObject(o, "message", msgs[i]);
		cJSON_AddStringToObject(o, "now", pb_time_format((pb_when){t0 + i, 8 * 3600}, when,
								    sizeof when));
		ord = cJSON_AddObjectToObject(o, "order");
		cJSON_AddStringToObject(ord, "id", order);
		cJSON_AddNumberToObject(ord, "amount", 89);
		cJSON_AddStringToObject(ord, "currency", "CNY");
		cJSON_AddStringToObject(ord, "category", "food");
		cJSON_AddStringToObject(ord, "paid_at", pb_time_format((pb_when){t0 - 6 * 86400, 8 * 3600},
									when, sizeof when));
		cJSON_AddStringToObject(ord, "shipped_at",
					pb_time_format((pb_when){t0 - 5 * 86400, 8 * 3600}, when,
						       sizeof when));
		p = cJSON_AddObjectToObject(o, "parcel");
		cJSON_AddStringToObject(p, "carrier", "zto");
		cJSON_AddStringToObject(p, "number", number);
		lines[i] = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
	}
	return lines;
}

/* Ingests the first n lines into a fresh database, `batch` per
 * transaction; returns messages per second, or -1. */
static double run(const pb_kb *kb, const char *dir, char **lines, int n, size_t batch,
		  int64_t t0, pb_ingest_stats *out)
{
	pb_store_opts so = {true, 0, 0};
	pb_ingest_opts io;
	pb_store *st = NULL;
	pb_ingest *ing = NULL;
	pb_errbuf eb;
	char path[PATH_MAX + 32], cmd[PATH_MAX + 64];
	double t, secs = -1;
	int i = 0, k;

	snprintf(path, sizeof path, "%s/bench.db", dir);
	snprintf(cmd, sizeof cmd, "rm -f '%s'*", path);
	if (system(cmd))
		return -1;
	memset(&io, 0, sizeof io);
	io.batch = batch;
	if (pb_store_open(path, &so, &st, &eb) || fill_cache(st, t0, t0 + N_MSG) ||
	    pb_ingest_new(kb, st, &io, &ing, &eb)) {
		fprintf(stderr, "bench: %s\n", eb.msg);
		goto out;
	}
	t = now_s();
	while (i < n) {
		if (pb_store_begin(st, &eb))
			goto fail;
		for (k = 0; k < (int)batch && i < n; k++, i++)
			if (pb_ingest_accept(ing, lines[i], strlen(lines[i]), t0 + i, &eb))
				goto fail;
		if (pb_store_commit(st, &eb) || pb_ingest_process(ing, t0 + i, SIZE_MAX, NULL, &eb))
			goto fail;
	}
	secs = now_s() - t;
	*out = *pb_ingest_get_stats(ing);
	goto out;
fail:
	fprintf(stderr, "bench: %s\n", eb.msg);
out:
	pb_ingest_free(ing);
	pb_store_close(st);
	system(cmd);
	return secs > 0 ? n / secs : -1;
}

int main(int argc, char **argv)
{
	const char *kbdir = argc > 1 ? argv[1] : "kb";
	static const size_t batches[] = {1024, 256, 64, 1};
	char **msgs = calloc(N_MSG, sizeof *msgs), **lines;
	char self[PATH_MAX], dir[PATH_MAX + 16];
	pb_ingest_stats s;
	pb_diag dg;
	pb_kb *kb = NULL;
	pb_when w;
	size_t b;
	int i;

	pb_diag_init(&dg);
	if (pb_kb_load(kbdir, &kb, &dg)) {
		fprintf(stderr, "bench: cannot load KB %s\n", kbdir);
		return 2;
	}
	pb_time_parse("2026-11-20T08:00:00+08:00", 0, &w);
	bench_corpus(msgs, N_MSG, 42);
	lines = make_lines(msgs, w.t);
	/* Beside the binary, in the build tree: /tmp may be memory. */
	snprintf(self, sizeof self, "%s", argv[0]);
	snprintf(dir, sizeof dir, "%s/store.XXXXXX", dirname(self));
	if (!mkdtemp(dir)) {
		perror("bench: mkdtemp");
		return 2;
	}
	printf("store benchmark: %d buyer messages (mixed zh/en, %d conversations), traces from the "
	       "tracking cache,\n  SQLite on %s (%s), WAL, synchronous=FULL: every commit is fsynced\n",
	       N_MSG, N_CONV, fs_name(dir), dir);
	for (b = 0; b < sizeof batches / sizeof batches[0]; b++) {
		/* One commit per message waits for the disk every time: a
		 * sample is enough to show it. */
		int n = batches[b] == 1 ? 500 : N_MSG;
		double rate = run(kb, dir, lines, n, batches[b], w.t, &s);
		if (rate < 0)
			return 2;
		printf("  batch %3zu: %8.0f messages/s end to end (%d messages: %zu drafted, "
		       "%zu escalated, %zu without a case; %zu cases opened)\n",
		       batches[b], rate, n, s.drafted, s.escalated, s.no_case, s.opened);
	}
	rmdir(dir);
	for (i = 0; i < N_MSG; i++) {
		free(msgs[i]);
		free(lines[i]);
	}
	free(msgs);
	free(lines);
	pb_kb_unref(kb);
	return 0;
}
