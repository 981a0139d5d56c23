/*
 * Rendering reply templates: "{{name}}" is replaced by the variable's value.
 * A variable whose value is NULL is unavailable for this case, and a text
 * that uses it cannot be rendered: the caller then picks another template,
 * so a reply never shows a placeholder or an invented fact.
 */
#ifndef PARCELBOT_TEMPLATE_H
#define PARCELBOT_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "parcelbot/buf.h"

typedef struct pb_tvar {
	const char *name;
	const char *value; /* NULL: unavailable */
} pb_tvar;

/* Appends text with its variables filled to out. Returns PB_ENOTFOUND when a
 * variable is unavailable or unknown (naming it in *missing), PB_ETOOBIG
 * when out is full. */
int pb_template_render(const char *text, const pb_tvar *vars, size_t n, pb_buf *out,
		       const char **missing);

/* Calls fn for each {{name}} in text; stops and returns false when fn does. */
bool pb_template_each_var(const char *text, bool (*fn)(const char *name, size_t len, void *ctx),
			  void *ctx);

#endif
