/*
 * Shared between the KB loader's files (kb.c and the section loaders added
 * by later modules). Not part of the public API.
 */
#ifndef PARCELBOT_KB_INTERNAL_H
#define PARCELBOT_KB_INTERNAL_H

#include "parcelbot/kb.h"
#include "parcelbot/ydoc.h"

/* The state of one load: the KB being built and where errors go. */
typedef struct pb_kbl {
	pb_kb *kb;
	pb_diag *dg;
	const char *dir;
	pb_ydoc terms_doc;
	const pb_ynode *terms; /* map of term name -> pattern piece, or NULL */
	bool oom;              /* an allocation failed somewhere */
} pb_kbl;

/* Keeps a copy of a file name for the KB's lifetime and returns it. */
const char *pb_kbl_file(pb_kbl *L, const char *name);
/* Loads dir/name into doc; reports a missing file when required. Returns
 * false when the file is absent or broken. */
bool pb_kbl_open(pb_kbl *L, const char *name, bool required, pb_ydoc *doc);
/* Expands {{term}} references in src into a new string (caller frees), or
 * reports an error at node n and returns NULL. */
char *pb_kbl_expand(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *n, const char *src);
/* Adds a pattern with the given role and owner, compiling the regex under
 * node re, and appends its index to out. Triggers and vetoes are split at
 * their top-level '|' into one pattern per branch (all with the same id), so
 * several indices may be appended. Returns how many, or -1 after reporting
 * an error. */
long pb_kbl_pattern(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *re, const char *id,
		    pb_pattern_role role, uint32_t owner, pb_idx_list *out);
/* A list of strings under key (NULL when absent and optional). */
bool pb_kbl_strings(pb_kbl *L, const pb_ydoc *doc, const pb_ynode *map, const char *key,
		    bool required, size_t min, pb_str_list *out);
bool pb_kbl_id_ok(const char *id);

void pb_idx_push(pb_kbl *L, pb_idx_list *l, uint32_t v);
char *pb_kbl_strdup(pb_kbl *L, const char *s);

/* Section loaders in their own files, run after intents, signals and
 * carriers are known. */
void pb_kbl_load_policy(pb_kbl *L);
void pb_kbl_load_tracking(pb_kbl *L);
void pb_kbl_load_phrases(pb_kbl *L);
void pb_kbl_load_replies(pb_kbl *L);
void pb_policy_free(struct pb_policy *p);
void pb_replies_free(struct pb_replies *r);
void pb_phrases_free(struct pb_phrases *p);

#endif
