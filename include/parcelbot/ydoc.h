/*
 * YAML documents for the knowledge base and the config file. libyaml's events
 * are built into a small tree whose every node remembers its line and column,
 * so that any schema error can be reported as `file:line:col: message`.
 * Anchors and aliases are refused (a shop's KB has no use for them, and they
 * are the classic way to make a small YAML file expand into a huge one), as
 * are documents nested deeper than PB_YDOC_MAX_DEPTH.
 *
 * Errors are collected in a pb_diag rather than stopping at the first one, so
 * a person editing a KB sees every mistake in one run.
 */
#ifndef PARCELBOT_YDOC_H
#define PARCELBOT_YDOC_H

#include <stdbool.h>
#include <stddef.h>

#include "parcelbot/err.h"

#define PB_YDOC_MAX_DEPTH 32
#define PB_YDOC_MAX_NODES 1000000

typedef enum pb_ykind { PB_Y_SCALAR, PB_Y_SEQ, PB_Y_MAP } pb_ykind;

typedef struct pb_ynode {
	pb_ykind kind;
	int line, col;          /* 1-based position of the node's start */
	char *str;              /* scalar text, NUL-terminated (scalars only) */
	size_t len;             /* scalar length in bytes */
	bool plain;             /* scalar was written without quotes */
	struct pb_ynode **items; /* sequence items; maps hold key, value pairs */
	size_t n;               /* items in a sequence, pairs in a map */
	size_t cap;             /* private: slots allocated in items */
	bool pending_key;       /* private: a map key is waiting for its value */
} pb_ynode;

typedef struct pb_ydoc {
	char *file;     /* name used in messages (owned) */
	pb_ynode *root; /* NULL for an empty document */
} pb_ydoc;

/* A list of `file:line:col: message` lines. */
typedef struct pb_diag {
	char **lines;
	size_t n, cap;
	size_t dropped; /* errors beyond PB_DIAG_MAX, counted but not kept */
} pb_diag;

#define PB_DIAG_MAX 100

void pb_diag_init(pb_diag *dg);
void pb_diag_release(pb_diag *dg);
/* Adds `file:line:col: message`; line 0 leaves out the position. */
void pb_diag_add(pb_diag *dg, const char *file, int line, int col, const char *fmt, ...)
	PB_PRINTF(5, 6);
/* Adds an error located at node n of doc. */
void pb_diag_at(pb_diag *dg, const pb_ydoc *doc, const pb_ynode *n, const char *fmt, ...)
	PB_PRINTF(4, 5);
size_t pb_diag_count(const pb_diag *dg);
/* Writes the first error (and "and N more") into eb. */
void pb_diag_to_errbuf(const pb_diag *dg, pb_errbuf *eb);

/* Parses len bytes of YAML. file names the source in messages. Invalid UTF-8
 * is reported as an error with its position. Returns PB_EPARSE (with the
 * errors in dg) or PB_ENOMEM. */
pb_err pb_ydoc_parse(pb_ydoc *doc, const char *file, const char *data, size_t len, pb_diag *dg);
/* Reads and parses a file of at most max_size bytes. */
pb_err pb_ydoc_load(pb_ydoc *doc, const char *path, size_t max_size, pb_diag *dg);
void pb_ydoc_release(pb_ydoc *doc);

/* Map access. Keys are scalars; pb_ymap_get returns the first value whose key
 * equals key, or NULL. */
const pb_ynode *pb_ymap_get(const pb_ynode *map, const char *key);
static inline const pb_ynode *pb_ymap_key(const pb_ynode *map, size_t i)
{
	return map->items[2 * i];
}
static inline const pb_ynode *pb_ymap_val(const pb_ynode *map, size_t i)
{
	return map->items[2 * i + 1];
}

/* Schema helpers. Each reports a precise error into dg and returns false (or
 * NULL) when the document does not fit. */

/* Checks that node is of kind k; what names the thing for the message. */
bool pb_y_expect(pb_diag *dg, const pb_ydoc *doc, const pb_ynode *n, pb_ykind k, const char *what);
/* Reports every key of map not in the NULL-terminated allowed list, and every
 * key given twice (allowed NULL: only keys given twice). Returns true when
 * there was none. */
bool pb_y_keys(pb_diag *dg, const pb_ydoc *doc, const pb_ynode *map, const char *const *allowed);
/* A scalar value under key: NULL with an error when required and missing or
 * when present but not a scalar; NULL without error when optional and
 * missing. */
const char *pb_y_str(pb_diag *dg, const pb_ydoc *doc, const pb_ynode *map, const char *key,
		     bool required);
/* Numbers and booleans. On a missing optional key *out is left unchanged and
 * true is returned. */
bool pb_y_num(pb_diag *dg, const pb_ydoc *doc, const pb_ynode *map, const char *key, bool required,
	      double *out);
bool pb_y_bool(pb_diag *dg, const pb_ydoc *doc, const pb_ynode *map, const char *key, bool required,
	       bool *out);
/* Parses a scalar node as a number; reports an error when it is not one. */
bool pb_y_node_num(pb_diag *dg, const pb_ydoc *doc, const pb_ynode *n, double *out);

#endif
