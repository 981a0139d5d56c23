/*
 * `parcelbot orders import FILE`: loads a shop's order export (CSV) into the
 * store, where the order sources (orders.h) find an order when a buyer only
 * quotes its number. The CSV is read as RFC 4180 says (quoted fields with
 * commas, doubled quotes and line breaks; CRLF or LF), UTF-8 with or
 * without a byte-order mark. Bad rows are reported and skipped; the good
 * ones go in together in one transaction, so an import is all there or not
 * there at all.
 */
#include <cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parcelbot/classify.h"
#include "parcelbot/cli.h"
#include "parcelbot/order.h"
#include "parcelbot/orders.h"
#include "parcelbot/policy.h"
#include "parcelbot/store.h"
#include "parcelbot/utf8.h"

#define MAX_FILE ((size_t)256 << 20)
#define MAX_FIELDS 256
#define MAX_FIELD ((size_t)64 << 10)

const char pb_usage_orders[] =
	"usage: parcelbot orders import FILE [--channel NAME] [--now TIME] [--db PATH]\n"
	"                                    [--kb DIR]\n"
	"\n"
	"Imports the shop's orders from a CSV file (- for standard input) into the\n"
	"store, so that a buyer who only quotes an order number (\"订单号 3958...\")\n"
	"gets a reply that knows the order and its parcel. Importing the same\n"
	"orders again updates them.\n"
	"\n"
	"The first row names the columns; their order does not matter:\n"
	"  order_id         the shop's order number (required)\n"
	"  amount           what the buyer paid, e.g. 129.00\n"
	"  currency         ISO 4217 code, e.g. CNY, MYR, SGD (default CNY)\n"
	"  category         fresh, flowers, electronics, ... (the policy treats\n"
	"                   perishable categories more urgently)\n"
	"  paid_at          ISO 8601 time, e.g. 2026-11-20T10:00:00+08:00 (without\n"
	"  shipped_at       an offset: the shop's time zone from the KB policy)\n"
	"  items            \"mug x2; spoon x1\" (a name without xN counts once)\n"
	"  phone_last4      the recipient's phone, last 4 digits (SF needs them)\n"
	"  carrier          a carrier id, name or alias from kb/carriers.yaml\n"
	"  tracking_number  the parcel's number\n"
	"Other columns are ignored, with one warning. Fields may be quoted as RFC\n"
	"4180 says (commas, doubled quotes and line breaks inside quotes); lines\n"
	"may end in CRLF or LF; the file is UTF-8, with or without a BOM.\n"
	"\n"
	"A bad row is reported as FILE:LINE: message and skipped; the other rows\n"
	"are imported together, in one transaction. The summary counts the orders\n"
	"imported (new), updated (already in the store), unchanged and skipped.\n"
	"\n"
	"Options:\n"
	"  --channel NAME the source recorded with the orders (default: import);\n"
	"                 lookups find an order whatever its channel\n"
	"  --now TIME     when the orders were exported (ISO 8601; default: now)\n"
	"  --db PATH      the database (default: $PARCELBOT_DB, else\n"
	"                 $XDG_DATA_HOME/parcelbot/parcelbot.db, else\n"
	"                 ~/.local/share/parcelbot/parcelbot.db); created if missing\n"
	"  --kb DIR       knowledge base directory (carriers, the shop's time zone)\n"
	"\n"
	"Exit status: 0 all rows imported, 1 usage, 2 a row was bad (the others\n"
	"were imported) or nothing could be imported (the reason is printed).\n";

/* ---- reading CSV ---- */

typedef struct csv {
	const char *p, *end;
	int line; /* of p */
} csv;

typedef struct record {
	char *f[MAX_FIELDS];
	size_t n;
	int line; /* where it starts */
} record;

static void record_clear(record *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->f[i]);
	r->n = 0;
}

/* Skips the rest of a physical line after an error. */
static void skip_line(csv *c)
{
	while (c->p < c->end && *c->p != '\n')
		c->p++;
	if (c->p < c->end) {
		c->p++;
		c->line++;
	}
}

static bool at_eol(const csv *c)
{
	return c->p == c->end || *c->p == '\n' ||
	       (*c->p == '\r' && (c->p + 1 == c->end || c->p[1] == '\n'));
}

/* Reads one record. 1: a record; 0: end of input; -1: a malformed record
 * (why in err), skipped. */
static int csv_next(csv *c, record *r, char *err, size_t errn)
{
	pb_buf f;
	const char *why = NULL;

	record_clear(r);
	r->line = c->line;
	if (c->p == c->end)
		return 0;
	pb_buf_init(&f, MAX_FIELD);
	for (;;) {
		pb_buf_reset(&f);
		if (c->p < c->end && *c->p == '"') {
			c->p++;
			for (;;) {
				if (c->p == c->end) {
					why = "a quoted field is never closed";
					goto bad;
				}
				if (*c->p == '"') {
					if (c->p + 1 < c->end && c->p[1] == '"') {
						c->p += 2;
						if (pb_buf_putc(&f, '"'))
							goto too_long;
						continue;
					}
					c->p++;
					break;
				}
				if (*c->p == '\n')
					c->line++;
				if (pb_buf_putc(&f, *c->p++))
					goto too_long;
			}
			if (!at_eol(c) && *c->p != ',') {
				why = "text follows a closing quote (a quote inside a field is "
				      "written \"\")";
				goto bad;
			}
		} else {
			while (!at_eol(c) && *c->p != ',') {
				if (*c->p == '"') {
					why = "a quote inside an unquoted field (quote the field, "
					      "and write the quote as \"\")";
					goto bad;
				}
				if (pb_buf_putc(&f, *c->p++))
					goto too_long;
			}
		}
		if (r->n == MAX_FIELDS) {
			why = "more than 256 fields";
			goto bad;
		}
		r->f[r->n] = f.data ? pb_buf_detach(&f, NULL) : strdup("");
		if (!r->f[r->n]) {
			why = "out of memory";
			goto bad;
		}
		r->n++;
		if (c->p == c->end)
			break;
		if (*c->p == ',') {
			c->p++;
			continue;
		}
		if (*c->p == '\r')
			c->p++;
		c->p++; /* the newline */
		c->line++;
		break;
	}
	pb_buf_release(&f);
	return 1;
too_long:
	why = "a field is longer than 64 KiB";
bad:
	pb_buf_release(&f);
	snprintf(err, errn, "%s", why);
	record_clear(r);
	skip_line(c);
	return -1;
}

/* ---- the columns ---- */

enum { C_ID, C_AMOUNT, C_CURRENCY, C_CATEGORY, C_PAID, C_SHIPPED, C_ITEMS, C_PHONE, C_CARRIER,
       C_NUMBER, C_N_ };
static const char *const col_names[C_N_] = {"order_id",	  "amount",     "currency", "category",
					    "paid_at",	  "shipped_at", "items",    "phone_last4",
					    "carrier",	  "tracking_number"};

/* Trims white space at both ends, in place. */
static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* Messages, kept to print in line order at the end. */
typedef struct msg {
	int line;
	char *text;
} msg;

typedef struct msgs {
	msg *v;
	size_t n, cap;
} msgs;

static void say(msgs *m, int line, const char *fmt, ...) PB_PRINTF(3, 4);
static void say(msgs *m, int line, const char *fmt, ...)
{
	char buf[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (m->n == m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 16;
		msg *nv = realloc(m->v, nc * sizeof *nv);
		if (!nv)
			return;
		m->v = nv;
		m->cap = nc;
	}
	m->v[m->n].line = line;
	m->v[m->n].text = strdup(buf);
	if (m->v[m->n].text)
		m->n++;
}

static int by_line(const void *a, const void *b)
{
	const msg *x = a, *y = b;

	return (x->line > y->line) - (x->line < y->line);
}

/* A good row, ready for the store. */
typedef struct row {
	char *id;
	char *json;
	int line;
	bool dup; /* a later row with an id seen before */
} row;

static int by_id(const void *a, const void *b)
{
	const row *x = *(const row *const *)a, *y = *(const row *const *)b;
	int c = strcmp(x->id, y->id);

	return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* "mug x2; spoon x1" -> [{name, qty}]; false (why in err) when an item is
 * malformed. */
static bool parse_items(char *s, cJSON *arr, char *err, size_t errn)
{
	char *save = NULL, *it;

	for (it = strtok_r(s, ";", &save); it; it = strtok_r(NULL, ";", &save)) {
		char *name = trim(it), *x, *end;
		long qty = 1;
		cJSON *o;
		size_t n = strlen(name);
		if (!n)
			continue;
		/* The last "x" (or "×", "*") followed only by digits. */
		x = name + n;
		while (x > name && x[-1] >= '0' && x[-1] <= '9')
			x--;
		if (*x && x > name) {
			char *digits = x;
			while (x > name && x[-1] == ' ')
				x--;
			end = NULL;
			if (x > name && (x[-1] == 'x' || x[-1] == 'X' || x[-1] == '*'))
				end = x - 1;
			/* cppcheck-suppress knownConditionTrueFalse ; true for "tea ×2" */
			else if (x - name >= 2 && !strncmp(x - 2, "\xc3\x97", 2)) /* × */
				end = x - 2;
			if (end) {
				errno = 0;
				qty = strtol(digits, NULL, 10);
				if (errno || qty < 1 || qty > 1000000) {
					snprintf(err, errn, "item '%.60s': the quantity must be 1 to "
						 "1000000", name);
					return false;
				}
				*end = '\0';
				name = trim(name);
			}
		}
		if (!*name) {
			snprintf(err, errn, "an item has a quantity but no name");
			return false;
		}
		o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(arr, o) || !cJSON_AddStringToObject(o, "name", name) ||
		    !cJSON_AddNumberToObject(o, "qty", (double)qty)) {
			snprintf(err, errn, "out of memory");
			return false;
		}
	}
	return true;
}

static bool plain_number(const char *s, double *out)
{
	char *end;

	if (!*s || strspn(s, "0123456789.") != strlen(s))
		return false;
	errno = 0;
	*out = strtod(s, &end);
	return !*end && !errno && isfinite(*out);
}

/* Turns one data record into a row; false (why in err) for a bad one. */
static bool make_row(const pb_kb *kb, const int *col, record *r, row *out, char *err, size_t errn)
{
	char *v[C_N_] = {NULL};
	cJSON *j = cJSON_CreateObject(), *res = NULL, *p;
	pb_order o;
	pb_errbuf eb;
	double amount;
	size_t i;
	bool ok = false;

	pb_order_init(&o);
	eb.msg[0] = '\0';
	for (i = 0; i < C_N_; i++)
		if (col[i] >= 0)
			v[i] = (size_t)col[i] < r->n ? trim(r->f[col[i]]) : (char *)"";
	if (!j) {
		snprintf(err, errn, "out of memory");
		goto out;
	}
	if (!*v[C_ID]) {
		snprintf(err, errn, "order_id is empty");
		goto out;
	}
	if (strlen(v[C_ID]) > PB_STORE_MAX_NAME) {
		snprintf(err, errn, "order_id is longer than %d bytes", PB_STORE_MAX_NAME);
		goto out;
	}
	for (i = 0; v[C_ID][i]; i++)
		if ((unsigned char)v[C_ID][i] < 0x20 || v[C_ID][i] == 0x7f) {
			snprintf(err, errn, "order_id holds control characters");
			goto out;
		}
	cJSON_AddStringToObject(j, "id", v[C_ID]);
	if (v[C_AMOUNT] && *v[C_AMOUNT]) {
		if (!plain_number(v[C_AMOUNT], &amount)) {
			snprintf(err, errn, "amount '%.40s' is not a number like 129.00", v[C_AMOUNT]);
			goto out;
		}
		cJSON_AddNumberToObject(j, "amount", amount);
	}
	if (v[C_CURRENCY] && *v[C_CURRENCY]) {
		char *c = v[C_CURRENCY];
		for (i = 0; c[i]; i++)
			if (c[i] >= 'a' && c[i] <= 'z')
				c[i] = (char)(c[i] - 32);
		if (strlen(c) != 3 || strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3) {
			snprintf(err, errn, "currency '%.40s' is not a 3-letter code like CNY", c);
			goto out;
		}
		cJSON_AddStringToObject(j, "currency", c);
	}
	if (v[C_CATEGORY] && *v[C_CATEGORY])
		cJSON_AddStringToObject(j, "category", v[C_CATEGORY]);
	if (v[C_PAID] && *v[C_PAID])
		cJSON_AddStringToObject(j, "paid_at", v[C_PAID]);
	if (v[C_SHIPPED] && *v[C_SHIPPED])
		cJSON_AddStringToObject(j, "shipped_at", v[C_SHIPPED]);
	if (v[C_ITEMS] && *v[C_ITEMS]) {
		cJSON *a = cJSON_AddArrayToObject(j, "items");
		if (!a || !parse_items(v[C_ITEMS], a, err, errn))
			goto out;
	}
	if (v[C_PHONE] && *v[C_PHONE]) {
		if (strlen(v[C_PHONE]) != 4 || strspn(v[C_PHONE], "0123456789") != 4) {
			snprintf(err, errn, "phone_last4 '%.40s' is not 4 digits", v[C_PHONE]);
			goto out;
		}
		cJSON_AddStringToObject(j, "phone_last4", v[C_PHONE]);
	}
	if (pb_order_from_json(j, kb->policy->tz_off, &o, &eb)) {
		snprintf(err, errn, "%.300s", eb.msg);
		goto out;
	}
	res = pb_order_json(&o);
	if (!res) {
		snprintf(err, errn, "out of memory");
		goto out;
	}
	if (v[C_CARRIER] && *v[C_CARRIER] && !(v[C_NUMBER] && *v[C_NUMBER])) {
		snprintf(err, errn, "a carrier without a tracking_number");
		goto out;
	}
	if (v[C_NUMBER] && *v[C_NUMBER]) {
		const char *n = v[C_NUMBER], *cid = NULL;
		if (strlen(n) > PB_MAX_NUMBER ||
		    strspn(n, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-") !=
			    strlen(n)) {
			snprintf(err, errn, "tracking_number '%.60s' is not up to %d letters and "
				 "digits", n, PB_MAX_NUMBER);
			goto out;
		}
		if (v[C_CARRIER] && *v[C_CARRIER] &&
		    !(cid = pb_orders_carrier_id(kb, v[C_CARRIER]))) {
			snprintf(err, errn, "unknown carrier '%.60s' (see kb/carriers.yaml)",
				 v[C_CARRIER]);
			goto out;
		}
		p = cJSON_AddObjectToObject(res, "parcel");
		if (!p || (cid && !cJSON_AddStringToObject(p, "carrier", cid)) ||
		    !cJSON_AddStringToObject(p, "number", n)) {
			snprintf(err, errn, "out of memory");
			goto out;
		}
	}
	out->id = strdup(o.id);
	out->json = cJSON_PrintUnformatted(res);
	out->line = r->line;
	out->dup = false;
	if (!out->id || !out->json) {
		free(out->id);
		free(out->json);
		snprintf(err, errn, "out of memory");
		goto out;
	}
	ok = true;
out:
	cJSON_Delete(j);
	cJSON_Delete(res);
	pb_order_release(&o);
	return ok;
}

/* ---- the command ---- */

static bool read_all(const char *path, pb_buf *b)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	char chunk[65536];
	size_t n;
	bool ok = true;

	if (!f) {
		pb_cli_fail(PB_EXIT_INPUT, "cannot open %s: %s", path, strerror(errno));
		return false;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (pb_buf_append(b, chunk, n)) {
			pb_cli_fail(PB_EXIT_INPUT, "%s: larger than %zu MiB", path, MAX_FILE >> 20);
			ok = false;
			break;
		}
	if (ok && ferror(f)) {
		pb_cli_fail(PB_EXIT_INPUT, "cannot read %s: %s", path, strerror(errno));
		ok = false;
	}
	if (f != stdin)
		(void)fclose(f); /* read only */
	return ok;
}

/* Reads the header: col[] gets each known column's index. Returns false
 * (with a message printed) when the file cannot be imported at all. */
static bool read_header(csv *c, const char *name, int *col, msgs *m)
{
	record r = {.n = 0};
	char err[200], unknown[400] = "";
	size_t i, k;
	int rc;

	for (k = 0; k < C_N_; k++)
		col[k] = -1;
	rc = csv_next(c, &r, err, sizeof err);
	if (rc <= 0) {
		pb_cli_fail(PB_EXIT_INPUT, "%s:%d: %s", name, r.line,
			    rc == 0 ? "empty: the first line must name the columns" : err);
		return false;
	}
	for (i = 0; i < r.n; i++) {
		char *h = trim(r.f[i]);
		for (k = 0; k < C_N_; k++)
			if (!strcasecmp(h, col_names[k]))
				break;
		if (k == C_N_) {
			size_t ul = strlen(unknown);
			if (*h && ul < sizeof unknown - 80)
				snprintf(unknown + ul, sizeof unknown - ul, "%s'%.60s'", ul ? ", " : "", h);
			continue;
		}
		if (col[k] >= 0) {
			pb_cli_fail(PB_EXIT_INPUT, "%s:%d: column %s appears twice", name, r.line,
				    col_names[k]);
			record_clear(&r);
			return false;
		}
		col[k] = (int)i;
	}
	if (col[C_ID] < 0) {
		pb_cli_fail(PB_EXIT_INPUT, "%s:%d: no order_id column (the first line must name "
			    "the columns: order_id, amount, currency, ...)", name, r.line);
		record_clear(&r);
		return false;
	}
	if (*unknown)
		say(m, r.line, "%s:%d: warning: ignoring unknown columns %s", name, r.line, unknown);
	record_clear(&r);
	return true;
}

static int import(pb_cli *cli, const char *file, const char *db, const char *channel,
		  const char *now_opt)
{
	const char *name = strcmp(file, "-") ? file : "<stdin>";
	pb_buf data;
	pb_kb *kb = NULL;
	pb_store *st = NULL;
	csv c;
	record r = {.n = 0};
	row *rows = NULL, **sorted = NULL;
	size_t n_rows = 0, cap = 0, i, first, skipped = 0, imported = 0, updated = 0, same = 0;
	bool done = false;
	int col[C_N_], rc, status = PB_EXIT_INPUT;
	msgs m = {NULL, 0, 0};
	char err[400];
	int64_t now;
	pb_errbuf eb;
	pb_err e;

	pb_buf_init(&data, MAX_FILE);
	if (!read_all(file, &data))
		goto out;
	if (!(kb = pb_cli_load_kb(cli)))
		goto out;
	if (!pb_cli_now("orders", now_opt, kb->policy->tz_off, &now)) {
		status = PB_EXIT_USAGE;
		goto out;
	}
	c.p = data.data ? data.data : "";
	c.end = c.p + data.len;
	c.line = 1;
	if (c.end - c.p >= 3 && !memcmp(c.p, "\xef\xbb\xbf", 3))
		c.p += 3;
	if (!read_header(&c, name, col, &m))
		goto out;
	while ((rc = csv_next(&c, &r, err, sizeof err)) != 0) {
		size_t k;
		bool blank = true;
		if (rc < 0) {
			say(&m, r.line, "%s:%d: %s", name, r.line, err);
			skipped++;
			continue;
		}
		for (k = 0; k < r.n && blank; k++)
			blank = !*trim(r.f[k]);
		if (blank)
			continue; /* an empty line, often the last */
		for (k = 0; k < r.n; k++)
			if (!pb_utf8_valid(r.f[k], strlen(r.f[k])))
				break;
		if (k < r.n) {
			say(&m, r.line, "%s:%d: field %zu is not valid UTF-8", name, r.line, k + 1);
			skipped++;
			continue;
		}
		if (n_rows == cap) {
			size_t nc = cap ? cap * 2 : 64;
			row *nr = realloc(rows, nc * sizeof *nr);
			if (!nr) {
				pb_cli_fail(PB_EXIT_INPUT, "out of memory");
				goto out;
			}
			rows = nr;
			cap = nc;
		}
		if (!make_row(kb, col, &r, &rows[n_rows], err, sizeof err)) {
			say(&m, r.line, "%s:%d: %s", name, r.line, err);
			skipped++;
			continue;
		}
		n_rows++;
	}
	record_clear(&r);

	/* The same order twice in one file is a mistake in the export:
	 * the first wins and the others are reported. */
	sorted = n_rows ? malloc(n_rows * sizeof *sorted) : NULL;
	if (n_rows && !sorted) {
		pb_cli_fail(PB_EXIT_INPUT, "out of memory");
		goto out;
	}
	for (i = 0; i < n_rows; i++)
		sorted[i] = &rows[i];
	if (n_rows)
		qsort(sorted, n_rows, sizeof *sorted, by_id);
	for (i = 1, first = 0; i < n_rows; i++) {
		if (strcmp(sorted[i]->id, sorted[first]->id)) {
			first = i;
			continue;
		}
		sorted[i]->dup = true;
		say(&m, sorted[i]->line, "%s:%d: order %.60s is already on line %d", name,
		    sorted[i]->line, sorted[i]->id, sorted[first]->line);
		skipped++;
	}

	if (!(st = pb_cli_open_store(db, true)))
		goto out;
	eb.msg[0] = '\0';
	if ((e = pb_store_begin(st, &eb)))
		goto store_fail;
	for (i = 0; i < n_rows; i++) {
		char *old = NULL;
		if (rows[i].dup)
			continue;
		e = pb_store_order_find(st, channel, rows[i].id, NULL, &old, &eb);
		if (e && e != PB_ENOTFOUND)
			goto store_fail;
		if (!e && !strcmp(old, rows[i].json))
			same++;
		else if (!e)
			updated++;
		else
			imported++;
		free(old);
		if ((e = pb_store_order_put(st, channel, rows[i].id, rows[i].json, now, NULL, &eb)))
			goto store_fail;
	}
	if ((e = pb_store_commit(st, &eb)))
		goto store_fail;
	status = skipped ? PB_EXIT_INPUT : PB_EXIT_OK;
	done = true;
	goto out;
store_fail:
	pb_store_rollback(st);
	say(&m, INT_MAX, "parcelbot: %s: nothing imported: %s", name, pb_errmsg(&eb, e));
out:
	record_clear(&r);
	if (m.n)
		qsort(m.v, m.n, sizeof *m.v, by_line);
	for (i = 0; i < m.n; i++) {
		fprintf(stderr, "%s\n", m.v[i].text);
		free(m.v[i].text);
	}
	free(m.v);
	if (done)
		printf("%s: %zu imported, %zu updated, %zu unchanged, %zu skipped\n", name, imported,
		       updated, same, skipped);
	for (i = 0; i < n_rows; i++) {
		free(rows[i].id);
		free(rows[i].json);
	}
	free(rows);
	free(sorted);
	pb_store_close(st);
	pb_kb_unref(kb);
	pb_buf_release(&data);
	return status;
}

int pb_cmd_orders(pb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"channel", required_argument, NULL, 'c'},
		{"now", required_argument, NULL, 'n'},
		{"kb", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *channel = "import", *now = NULL;
	int o;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		if (argc < 2)
			return pb_cli_usage("orders", "which orders command? (import)");
		pb_cli_help(pb_cli_find("orders"));
		return PB_EXIT_OK;
	}
	if (strcmp(argv[1], "import"))
		return pb_cli_usage("orders", "unknown orders command '%s'", argv[1]);
	argc--;
	argv++;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'd': db = optarg; break;
		case 'c': channel = optarg; break;
		case 'n': now = optarg; break;
		case 'k': cli->kb_dir = optarg; break;
		case 'h':
			pb_cli_help(pb_cli_find("orders"));
			return PB_EXIT_OK;
		default:
			return pb_cli_usage("orders", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return pb_cli_usage("orders", "import needs a FILE (- for standard input)");
	if (optind + 1 < argc)
		return pb_cli_usage("orders", "unexpected argument '%s'", argv[optind + 1]);
	if (!*channel || strlen(channel) > 64 || !pb_utf8_valid(channel, strlen(channel)))
		return pb_cli_usage("orders", "--channel must be 1 to 64 bytes of UTF-8");
	return import(cli, argv[optind], db, channel, now);
}
