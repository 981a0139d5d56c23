/*
 * The daemon's log (see log.h). Each line is built in memory, cleaned
 * (valid UTF-8, no control characters, secrets redacted) and written with
 * one fwrite under a lock.
 */
#include "parcelbot/log.h"

#include <cJSON.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parcelbot/buf.h"
#include "parcelbot/http.h"
#include "parcelbot/utf8.h"

#define MAX_SECRETS 32
#define MAX_LINE 8192

struct pb_log {
	FILE *out;
	pb_log_format format;
	pb_log_level level;
	pthread_mutex_t lock;
	char *secrets[MAX_SECRETS + 1]; /* NULL-terminated */
	size_t n_secrets;
};

pb_err pb_log_new(FILE *out, pb_log_format format, pb_log_level level, pb_log **lg)
{
	pb_log *l = calloc(1, sizeof *l);

	if (!l)
		return PB_ENOMEM;
	l->out = out;
	l->format = format;
	l->level = level;
	pthread_mutex_init(&l->lock, NULL);
	*lg = l;
	return PB_OK;
}

void pb_log_free(pb_log *lg)
{
	size_t i;

	if (!lg)
		return;
	for (i = 0; i < lg->n_secrets; i++) {
		explicit_bzero(lg->secrets[i], strlen(lg->secrets[i]));
		free(lg->secrets[i]);
	}
	pthread_mutex_destroy(&lg->lock);
	free(lg);
}

pb_err pb_log_secret(pb_log *lg, const char *secret)
{
	char *s;

	if (!lg || !secret || strlen(secret) < PB_HTTP_REDACT_MIN)
		return PB_OK;
	pthread_mutex_lock(&lg->lock);
	if (lg->n_secrets == MAX_SECRETS) {
		pthread_mutex_unlock(&lg->lock);
		return PB_ELIMIT;
	}
	s = strdup(secret);
	if (s)
		lg->secrets[lg->n_secrets++] = s;
	pthread_mutex_unlock(&lg->lock);
	return s ? PB_OK : PB_ENOMEM;
}

void pb_log_set_level(pb_log *lg, pb_log_level level)
{
	if (!lg)
		return;
	pthread_mutex_lock(&lg->lock);
	lg->level = level;
	pthread_mutex_unlock(&lg->lock);
}

/* Valid UTF-8 with control characters (other than none) shown as spaces. */
static void clean(const char *in, char *out, size_t n)
{
	pb_buf b;
	size_t i;

	pb_buf_init(&b, n - 1);
	if (pb_utf8_repair(in, strlen(in), &b)) {
		/* Too long: keep what fits, cut at a character boundary. */
		size_t k = pb_utf8_clip(pb_buf_str(&b), b.len, n - 1);
		memcpy(out, pb_buf_str(&b), k);
		out[k] = '\0';
	} else {
		snprintf(out, n, "%s", pb_buf_str(&b));
	}
	pb_buf_release(&b);
	for (i = 0; out[i]; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
}

void pb_logf(pb_log *lg, pb_log_level level, const char *event, const char *fmt, ...)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	char raw[MAX_LINE], msg[MAX_LINE], ts[96];
	struct timespec now;
	struct tm tm;
	va_list ap;
	char *line = NULL;
	cJSON *j;

	if (!lg || level < lg->level)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	clean(raw, msg, sizeof msg);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);
	pthread_mutex_lock(&lg->lock);
	pb_http_redact(msg, sizeof msg, (const char *const *)lg->secrets);
	if (lg->format == PB_LOG_JSON) {
		j = cJSON_CreateObject();
		if (j) {
			cJSON_AddStringToObject(j, "ts", ts);
			cJSON_AddStringToObject(j, "level", names[level]);
			cJSON_AddStringToObject(j, "event", event);
			cJSON_AddStringToObject(j, "msg", msg);
			line = cJSON_PrintUnformatted(j);
			cJSON_Delete(j);
		}
		if (line) {
			fprintf(lg->out, "%s\n", line);
			free(line);
		}
	} else {
		fprintf(lg->out, "%s %-5s %s: %s\n", ts, names[level], event, msg);
	}
	(void)fflush(lg->out); /* a log line that cannot be written cannot be logged either */
	pthread_mutex_unlock(&lg->lock);
}
