/*
 * YAML documents as small positioned trees (see ydoc.h). Built from libyaml's
 * event stream with an explicit stack, so deep input cannot overflow the C
 * stack and every limit is checked in one place.
 */
#include "parcelbot/ydoc.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "parcelbot/utf8.h"

void pb_diag_init(pb_diag *dg)
{
	memset(dg, 0, sizeof *dg);
}

void pb_diag_release(pb_diag *dg)
{
	size_t i;

	for (i = 0; i < dg->n; i++)
		free(dg->lines[i]);
	free(dg->lines);
	memset(dg, 0, sizeof *dg);
}

static void diag_vadd(pb_diag *dg, const char *file, int line, int col, const char *fmt, va_list ap)
	PB_PRINTF(5, 0);

static void diag_vadd(pb_diag *dg, const char *file, int line, int col, const char *fmt, va_list ap)
{
	char msg[768], *s;
	int off;
	char **nl;

	if (!dg)
		return;
	if (dg->n >= PB_DIAG_MAX) {
		dg->dropped++;
		return;
	}
	if (line > 0)
		off = snprintf(msg, sizeof msg, "%s:%d:%d: ", file ? file : "-", line, col);
	else if (file)
		off = snprintf(msg, sizeof msg, "%s: ", file);
	else
		off = 0;
	if (off < 0 || (size_t)off >= sizeof msg)
		off = 0;
	vsnprintf(msg + off, sizeof msg - (size_t)off, fmt, ap);
	if (dg->n == dg->cap) {
		size_t ncap = dg->cap ? dg->cap * 2 : 8;
		nl = realloc(dg->lines, ncap * sizeof *nl);
		if (!nl) {
			dg->dropped++;
			return;
		}
		dg->lines = nl;
		dg->cap = ncap;
	}
	s = strdup(msg);
	if (!s) {
		dg->dropped++;
		return;
	}
	dg->lines[dg->n++] = s;
}

void pb_diag_add(pb_diag *dg, const char *file, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(dg, file, line, col, fmt, ap);
	va_end(ap);
}

void pb_diag_at(pb_diag *dg, const pb_ydoc *doc, const pb_ynode *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(dg, doc ? doc->file : NULL, n ? n->line : 0, n ? n->col : 0, fmt, ap);
	va_end(ap);
}

size_t pb_diag_count(const pb_diag *dg)
{
	return dg->n + dg->dropped;
}

void pb_diag_to_errbuf(const pb_diag *dg, pb_errbuf *eb)
{
	size_t more;

	if (!eb)
		return;
	if (!dg->n) {
		snprintf(eb->msg, sizeof eb->msg, "%s", dg->dropped ? "too many errors" : "");
		return;
	}
	more = pb_diag_count(dg) - 1;
	if (more)
		snprintf(eb->msg, sizeof eb->msg, "%s (and %zu more)", dg->lines[0], more);
	else
		snprintf(eb->msg, sizeof eb->msg, "%s", dg->lines[0]);
}

static void node_free(pb_ynode *n)
{
	size_t i, count;

	if (!n)
		return;
	count = n->kind == PB_Y_MAP ? 2 * n->n + (n->pending_key ? 1 : 0) : n->n;
	for (i = 0; i < count; i++)
		node_free(n->items[i]);
	free(n->items);
	free(n->str);
	free(n);
}

void pb_ydoc_release(pb_ydoc *doc)
{
	/* Trees are at most PB_YDOC_MAX_DEPTH deep, so recursion is bounded. */
	node_free(doc->root);
	free(doc->file);
	doc->root = NULL;
	doc->file = NULL;
}

static pb_ynode *node_new(pb_ykind kind, const yaml_mark_t *m)
{
	pb_ynode *n = calloc(1, sizeof *n);

	if (!n)
		return NULL;
	n->kind = kind;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	return n;
}

/* Appends child to a sequence, or as the next key or value of a map. */
static bool node_push(pb_ynode *parent, pb_ynode *child)
{
	size_t count = parent->kind == PB_Y_MAP ? 2 * parent->n + (parent->pending_key ? 1 : 0)
						  : parent->n;
	pb_ynode **ni;

	if (count == parent->cap) {
		size_t ncap = parent->cap ? parent->cap * 2 : 4;
		ni = realloc(parent->items, ncap * sizeof *ni);
		if (!ni)
			return false;
		parent->items = ni;
		parent->cap = ncap;
	}
	parent->items[count] = child;
	if (parent->kind == PB_Y_SEQ) {
		parent->n++;
	} else if (parent->pending_key) {
		parent->pending_key = false;
		parent->n++;
	} else {
		parent->pending_key = true;
	}
	return true;
}

pb_err pb_ydoc_parse(pb_ydoc *doc, const char *file, const char *data, size_t len, pb_diag *dg)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	pb_ynode *stack[PB_YDOC_MAX_DEPTH + 1];
	size_t depth = 0, nodes = 0, bad;
	pb_ynode *root = NULL, *n;
	pb_err err = PB_OK;
	bool done = false, parser_ok = false;
	size_t line = 1, col = 1, i;

	doc->root = NULL;
	doc->file = strdup(file ? file : "-");
	if (!doc->file)
		return PB_ENOMEM;

	bad = pb_utf8_check(data, len);
	if (bad != len) {
		for (i = 0; i < bad; i++) {
			if (data[i] == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)data[i] & 0xC0) != 0x80)
				col++;
		}
		pb_diag_add(dg, doc->file, (int)line, (int)col, "invalid UTF-8 (byte 0x%02x)",
			    (unsigned char)data[bad]);
		err = PB_EPARSE;
		goto fail;
	}

	if (!yaml_parser_initialize(&parser)) {
		err = PB_ENOMEM;
		goto fail;
	}
	parser_ok = true;
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			pb_diag_add(dg, doc->file, (int)parser.problem_mark.line + 1,
				    (int)parser.problem_mark.column + 1, "YAML syntax error: %s%s%s",
				    parser.problem ? parser.problem : "unknown problem",
				    parser.context ? " " : "", parser.context ? parser.context : "");
			err = PB_EPARSE;
			break;
		}
		n = NULL;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (root) {
				pb_diag_add(dg, doc->file, (int)ev.start_mark.line + 1,
					    (int)ev.start_mark.column + 1,
					    "only one YAML document per file is allowed");
				err = PB_EPARSE;
				done = true;
			}
			break;
		case YAML_ALIAS_EVENT:
			pb_diag_add(dg, doc->file, (int)ev.start_mark.line + 1,
				    (int)ev.start_mark.column + 1,
				    "aliases (*name) are not supported; write the value out");
			err = PB_EPARSE;
			done = true;
			break;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if ((ev.type == YAML_SCALAR_EVENT && ev.data.scalar.anchor) ||
			    (ev.type == YAML_SEQUENCE_START_EVENT && ev.data.sequence_start.anchor) ||
			    (ev.type == YAML_MAPPING_START_EVENT && ev.data.mapping_start.anchor)) {
				pb_diag_add(dg, doc->file, (int)ev.start_mark.line + 1,
					    (int)ev.start_mark.column + 1,
					    "anchors (&name) are not supported");
				err = PB_EPARSE;
				done = true;
				break;
			}
			if (++nodes > PB_YDOC_MAX_NODES) {
				pb_diag_add(dg, doc->file, (int)ev.start_mark.line + 1,
					    (int)ev.start_mark.column + 1, "document has too many nodes");
				err = PB_EPARSE;
				done = true;
				break;
			}
			n = node_new(ev.type == YAML_SCALAR_EVENT ? PB_Y_SCALAR
				     : ev.type == YAML_SEQUENCE_START_EVENT ? PB_Y_SEQ
									    : PB_Y_MAP,
				     &ev.start_mark);
			if (!n) {
				err = PB_ENOMEM;
				done = true;
				break;
			}
			if (ev.type == YAML_SCALAR_EVENT) {
				n->len = ev.data.scalar.length;
				n->str = malloc(n->len + 1);
				if (!n->str) {
					node_free(n);
					err = PB_ENOMEM;
					done = true;
					break;
				}
				memcpy(n->str, ev.data.scalar.value, n->len);
				n->str[n->len] = '\0';
				n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
			}
			if (depth > 0) {
				pb_ynode *parent = stack[depth - 1];
				if (parent->kind == PB_Y_MAP && !parent->pending_key &&
				    n->kind != PB_Y_SCALAR) {
					pb_diag_add(dg, doc->file, n->line, n->col,
						    "keys must be plain names, not a list or mapping");
					node_free(n);
					err = PB_EPARSE;
					done = true;
					break;
				}
				if (!node_push(parent, n)) {
					node_free(n);
					err = PB_ENOMEM;
					done = true;
					break;
				}
			} else if (!root) {
				root = n;
			} else {
				/* libyaml gives one root per document; were there
				 * another, it and its children are dropped. */
				node_free(n);
				break;
			}
			if (ev.type != YAML_SCALAR_EVENT) {
				if (depth >= PB_YDOC_MAX_DEPTH) {
					pb_diag_add(dg, doc->file, n->line, n->col,
						    "nesting deeper than %d levels", PB_YDOC_MAX_DEPTH);
					err = PB_EPARSE;
					done = true;
					break;
				}
				stack[depth++] = n;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth > 0)
				depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	if (parser_ok)
		yaml_parser_delete(&parser);
	if (!err) {
		doc->root = root;
		return PB_OK;
	}
	node_free(root);
fail:
	/* Nothing is handed out on failure, not even the file name. */
	free(doc->file);
	doc->file = NULL;
	return err;
}

pb_err pb_ydoc_load(pb_ydoc *doc, const char *path, size_t max_size, pb_diag *dg)
{
	FILE *f;
	char *data = NULL;
	size_t len = 0, cap = 0, r;
	pb_err err = PB_OK;

	doc->root = NULL;
	doc->file = NULL;
	f = fopen(path, "rb");
	if (!f) {
		pb_diag_add(dg, path, 0, 0, "cannot open: %s", strerror(errno));
		return PB_EIO;
	}
	for (;;) {
		if (len == cap) {
			char *nd;
			cap = cap ? cap * 2 : 8192;
			nd = realloc(data, cap + 1);
			if (!nd) {
				err = PB_ENOMEM;
				goto out;
			}
			data = nd;
		}
		r = fread(data + len, 1, cap - len, f);
		len += r;
		if (len > max_size) {
			pb_diag_add(dg, path, 0, 0, "file is larger than %zu bytes", max_size);
			err = PB_ETOOBIG;
			goto out;
		}
		if (r == 0) {
			if (ferror(f)) {
				pb_diag_add(dg, path, 0, 0, "read error: %s", strerror(errno));
				err = PB_EIO;
				goto out;
			}
			break;
		}
	}
	err = pb_ydoc_parse(doc, path, data ? data : "", len, dg);
out:
	free(data);
	(void)fclose(f); /* read only */
	return err;
}

const pb_ynode *pb_ymap_get(const pb_ynode *map, const char *key)
{
	size_t i;

	if (!map || map->kind != PB_Y_MAP)
		return NULL;
	for (i = 0; i < map->n; i++) {
		const pb_ynode *k = pb_ymap_key(map, i);
		if (k->kind == PB_Y_SCALAR && strcmp(k->str, key) == 0)
			return pb_ymap_val(map, i);
	}
	return NULL;
}

static const char *kind_name(pb_ykind k)
{
	return k == PB_Y_SCALAR ? "a single value" : k == PB_Y_SEQ ? "a list" : "a mapping";
}

bool pb_y_expect(pb_diag *dg, const pb_ydoc *doc, const pb_ynode *n, pb_ykind k, const char *what)
{
	if (n && n->kind == k)
		return true;
	pb_diag_at(dg, doc, n, "%s must be %s%s%s", what, kind_name(k), n ? ", not " : "",
		   n ? kind_name(n->kind) : "");
	return false;
}

bool pb_y_keys(pb_diag *dg, const pb_ydoc *doc, const pb_ynode *map, const char *const *allowed)
{
	size_t i, j, a;
	bool ok = true, known;

	if (!map || map->kind != PB_Y_MAP)
		return false;
	for (i = 0; i < map->n; i++) {
		const pb_ynode *k = pb_ymap_key(map, i);
		if (k->kind != PB_Y_SCALAR) {
			pb_diag_at(dg, doc, k, "keys must be plain names");
			ok = false;
			continue;
		}
		known = !allowed;
		for (a = 0; allowed && allowed[a]; a++)
			if (strcmp(allowed[a], k->str) == 0) {
				known = true;
				break;
			}
		if (!known) {
			pb_diag_at(dg, doc, k, "unknown key '%s'", k->str);
			ok = false;
		}
		for (j = 0; j < i; j++) {
			const pb_ynode *p = pb_ymap_key(map, j);
			if (p->kind == PB_Y_SCALAR && strcmp(p->str, k->str) == 0) {
				pb_diag_at(dg, doc, k, "duplicate key '%s' (first at line %d)", k->str,
					   p->line);
				ok = false;
				break;
			}
		}
	}
	return ok;
}

const char *pb_y_str(pb_diag *dg, const pb_ydoc *doc, const pb_ynode *map, const char *key,
		     bool required)
{
	const pb_ynode *v = pb_ymap_get(map, key);

	if (!v) {
		if (required)
			pb_diag_at(dg, doc, map, "missing required key '%s'", key);
		return NULL;
	}
	if (v->kind != PB_Y_SCALAR) {
		pb_diag_at(dg, doc, v, "'%s' must be a single value, not %s", key, kind_name(v->kind));
		return NULL;
	}
	return v->str;
}

bool pb_y_node_num(pb_diag *dg, const pb_ydoc *doc, const pb_ynode *n, double *out)
{
	char *end;
	double d;

	if (!n || n->kind != PB_Y_SCALAR) {
		pb_diag_at(dg, doc, n, "expected a number");
		return false;
	}
	errno = 0;
	d = strtod(n->str, &end);
	if (end == n->str || *end || errno || !isfinite(d)) {
		pb_diag_at(dg, doc, n, "'%s' is not a number", n->str);
		return false;
	}
	*out = d;
	return true;
}

bool pb_y_num(pb_diag *dg, const pb_ydoc *doc, const pb_ynode *map, const char *key, bool required,
	      double *out)
{
	const pb_ynode *v = pb_ymap_get(map, key);

	if (!v) {
		if (required) {
			pb_diag_at(dg, doc, map, "missing required key '%s'", key);
			return false;
		}
		return true;
	}
	return pb_y_node_num(dg, doc, v, out);
}

bool pb_y_bool(pb_diag *dg, const pb_ydoc *doc, const pb_ynode *map, const char *key, bool required,
	       bool *out)
{
	const pb_ynode *v = pb_ymap_get(map, key);

	if (!v) {
		if (required) {
			pb_diag_at(dg, doc, map, "missing required key '%s'", key);
			return false;
		}
		return true;
	}
	if (v->kind == PB_Y_SCALAR) {
		if (!strcmp(v->str, "true") || !strcmp(v->str, "yes")) {
			*out = true;
			return true;
		}
		if (!strcmp(v->str, "false") || !strcmp(v->str, "no")) {
			*out = false;
			return true;
		}
	}
	pb_diag_at(dg, doc, v, "'%s' must be true or false", key);
	return false;
}
