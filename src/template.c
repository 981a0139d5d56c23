/*
 * The template renderer (see template.h). Deliberately tiny: variables only,
 * no logic. Situations are chosen by the templates' conditions, not by code
 * hidden inside a text.
 */
#include "parcelbot/template.h"

#include <string.h>

bool pb_template_each_var(const char *text, bool (*fn)(const char *name, size_t len, void *ctx),
			  void *ctx)
{
	const char *p = text, *open, *close;

	while ((open = strstr(p, "{{")) != NULL) {
		const char *s = open + 2, *e;
		close = strstr(s, "}}");
		if (!close)
			return fn(s, strlen(s), ctx);
		e = close;
		while (s < e && *s == ' ')
			s++;
		while (e > s && e[-1] == ' ')
			e--;
		if (!fn(s, (size_t)(e - s), ctx))
			return false;
		p = close + 2;
	}
	return true;
}

int pb_template_render(const char *text, const pb_tvar *vars, size_t n, pb_buf *out,
		       const char **missing)
{
	const char *p = text, *open, *close;
	size_t i;
	int err;

	while ((open = strstr(p, "{{")) != NULL) {
		const char *s = open + 2, *e;
		const pb_tvar *v = NULL;
		close = strstr(s, "}}");
		if (!close)
			break;
		if ((err = pb_buf_append(out, p, (size_t)(open - p))))
			return err;
		e = close;
		while (s < e && *s == ' ')
			s++;
		while (e > s && e[-1] == ' ')
			e--;
		for (i = 0; i < n; i++)
			if (strlen(vars[i].name) == (size_t)(e - s) &&
			    !memcmp(vars[i].name, s, (size_t)(e - s))) {
				v = &vars[i];
				break;
			}
		if (!v || !v->value) {
			if (missing)
				*missing = v ? v->name : "unknown";
			return PB_ENOTFOUND;
		}
		if ((err = pb_buf_puts(out, v->value)))
			return err;
		p = close + 2;
	}
	return pb_buf_puts(out, p);
}
