/*
 * The knowledge base: everything a shop can change without recompiling.
 * Loaded from a directory of YAML files, validated completely (unknown keys,
 * missing fields, duplicate ids, bad references, regexes that do not compile)
 * and then immutable. A KB with any error is rejected whole; callers keep
 * whatever KB they had before.
 *
 * Files (see docs/knowledge-base.md):
 *   terms.yaml      named pattern pieces, used in patterns as {{name}}
 *   intents.yaml    the logistics problems a buyer can raise
 *   signals.yaml    cross-cutting signals (complaint threat, urgency, refund)
 *   entities.yaml   extractors for order ids, quantities and durations
 *   carriers.yaml   carriers, their names, number shapes and provider codes
 *   normalize.yaml  character folding (traditional to simplified forms)
 *   policy.yaml     thresholds, severity, compensation, service levels
 *   tracking.yaml   how carrier event texts are read
 *   replies/        reply templates, offers, checklists, the case brief
 *   phrases.yaml    what the reply lint looks for
 *
 * A pb_kb is shared read-only between threads. It is reference counted so a
 * reload (SIGHUP) can swap in a new one while requests still use the old.
 */
#ifndef PARCELBOT_KB_H
#define PARCELBOT_KB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parcelbot/err.h"
#include "parcelbot/ydoc.h"

struct pcre2_real_code_8;
struct pb_prefilter;
struct pb_policy;
struct pb_replies;
struct pb_phrases;

#define PB_KB_MAX_INTENTS 64
#define PB_KB_MAX_FILE (4u << 20)
#define PB_KB_MAX_PATTERN 8192

typedef enum pb_pattern_role {
	PB_PAT_TRIGGER,    /* a match makes the rule fire */
	PB_PAT_UNLESS,     /* vetoes trigger matches it overlaps */
	PB_PAT_UNLESS_ANY, /* a match anywhere vetoes the rule */
	PB_PAT_EXTRACT,    /* an entity extractor */
	PB_PAT_SHAPE,      /* a carrier's tracking-number shape (anchored) */
} pb_pattern_role;

typedef enum pb_entity_kind {
	PB_ENT_ORDER_ID,
	PB_ENT_QUANTITY,
	PB_ENT_DURATION,
	PB_ENT_TRACKING,
} pb_entity_kind;

typedef struct pb_pattern {
	char *id;     /* full id, e.g. "stuck_parcel.no_update_zh" */
	char *source; /* the regex as written (before {{term}} expansion) */
	struct pcre2_real_code_8 *code;
	pb_pattern_role role;
	uint32_t owner;        /* rule index, extractor kind or carrier index */
	const char *file;      /* KB file (owned by the kb) */
	int line, col;         /* where the regex is written */
	int n_factors;         /* prefilter factors; 0 means always tried */
	/* Capture group numbers for extractors, 0 when absent. */
	int g_value, g_ordered, g_received, g_num, g_unit;
} pb_pattern;

typedef enum pb_rule_kind { PB_RULE_INTENT, PB_RULE_SIGNAL } pb_rule_kind;

typedef struct pb_idx_list {
	uint32_t *v;
	size_t n;
} pb_idx_list;

typedef struct pb_str_list {
	char **v;
	size_t n;
} pb_str_list;

typedef struct pb_rule {
	char *id;
	char *description;
	pb_rule_kind kind;
	bool problem;         /* a logistics problem: replies must apologise */
	pb_idx_list triggers; /* pattern indices */
	pb_idx_list unless;
	pb_idx_list unless_any;
	uint64_t suppresses;  /* bit i: this intent removes intent i */
	pb_str_list examples;
	pb_str_list not_examples;
	const char *file;
	int line, col;
} pb_rule;

typedef struct pb_unit {
	char *word;   /* normalised form, e.g. "天", "days" */
	double hours; /* hours per unit */
} pb_unit;

typedef struct pb_carrier {
	char *id;       /* parcelbot's id, e.g. "sf", "zto", "jnt_my" */
	char *name_zh;
	char *name_en;
	char *region;   /* "cn" or "sea" */
	char *kuaidi100; /* Kuaidi100 company code, or NULL */
	long t17;        /* 17TRACK carrier key, or 0 */
	bool phone_required; /* the provider needs the recipient's phone */
	pb_idx_list shapes;  /* PB_PAT_SHAPE pattern indices */
	pb_str_list aliases; /* names buyers write, normalised */
	const char *file;
	int line, col;
} pb_carrier;

typedef struct pb_kb {
	char *dir;
	pb_rule *rules;     /* intents first, then signals */
	size_t n_rules;
	size_t n_intents;
	pb_pattern *patterns;
	size_t n_patterns;
	pb_idx_list extractors; /* PB_PAT_EXTRACT pattern indices, in file order */
	int short_count_intent; /* intent implied when fewer arrived than ordered, or -1 */
	pb_carrier *carriers;
	size_t n_carriers;
	pb_unit *units;
	size_t n_units;
	uint32_t **fold;        /* 256 pages of 256 code points, NULL pages unused */
	struct pb_prefilter *pf;
	struct pb_policy *policy; /* policy.yaml and tracking.yaml */
	struct pb_replies *replies; /* replies/ (one YAML file per intent) */
	struct pb_phrases *phrases; /* phrases.yaml, for the reply lint */
	bool jit;               /* patterns are JIT-compiled */
	char **files;           /* file names kept for pattern and rule locations */
	size_t n_files;
	int refs;               /* atomic reference count */
} pb_kb;

/* Frees a list's strings and the list. */
void pb_str_list_release(pb_str_list *l);

/* Loads and validates the KB in dir. On success *out owns a new KB with one
 * reference. On failure every problem found is in dg as a
 * `file:line:col: message` line and PB_EKB (or PB_ENOMEM) is returned. */
pb_err pb_kb_load(const char *dir, pb_kb **out, pb_diag *dg);

/* Takes another reference; returns kb. */
pb_kb *pb_kb_ref(pb_kb *kb);
/* Drops a reference, freeing the KB with the last one. NULL is ignored. */
void pb_kb_unref(pb_kb *kb);

/* Looks up a rule by id; NULL when absent. */
const pb_rule *pb_kb_rule(const pb_kb *kb, const char *id);
/* Index of an intent or signal by id, or -1. */
int pb_kb_rule_index(const pb_kb *kb, const char *id);
const pb_carrier *pb_kb_carrier(const pb_kb *kb, const char *id);

/* Finds where the KB lives: an explicit dir wins, then $PARCELBOT_KB, then
 * ./kb or the kb directory beside the executable (a source tree), then the
 * directory `make install` used. Returns a static or caller-owned string in
 * buf (buf must hold PATH_MAX bytes). */
const char *pb_kb_locate(const char *explicit_dir, char *buf, size_t bufsz);

#endif
