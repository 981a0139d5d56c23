/*
 * What every channel adapter shares: the event list, the outbox kind names,
 * dispatch to an adapter's operations, the agent command reader and the
 * constant-time secret comparison.
 */
#include "parcelbot/channel.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

pb_err pb_chan_events_add(pb_chan_events *evs, const char *id, const char *json)
{
	pb_chan_event *v;
	char *i, *j;

	if (evs->n == evs->cap) {
		size_t cap = evs->cap ? evs->cap * 2 : 8;
		v = realloc(evs->v, cap * sizeof *v);
		if (!v)
			return PB_ENOMEM;
		evs->v = v;
		evs->cap = cap;
	}
	i = strdup(id);
	j = strdup(json);
	if (!i || !j) {
		free(i);
		free(j);
		return PB_ENOMEM;
	}
	evs->v[evs->n].external_id = i;
	evs->v[evs->n].json = j;
	evs->n++;
	return PB_OK;
}

void pb_chan_events_release(pb_chan_events *evs)
{
	size_t k;

	for (k = 0; k < evs->n; k++) {
		free(evs->v[k].external_id);
		free(evs->v[k].json);
	}
	free(evs->v);
	memset(evs, 0, sizeof *evs);
}

static const char *const kind_names[PB_CHAN_KIND_COUNT_] = {
	[PB_CHAN_POST_DRAFT] = "post_draft",
	[PB_CHAN_SEND_REPLY] = "send_reply",
	[PB_CHAN_HAND_OFF] = "hand_off",
	[PB_CHAN_NOTIFY] = "notify_supervisor",
};

const char *pb_chan_kind_name(pb_chan_kind k)
{
	return (unsigned)k < PB_CHAN_KIND_COUNT_ ? kind_names[k] : "?";
}

int pb_chan_kind_from_name(const char *name)
{
	int k;

	for (k = 0; name && k < PB_CHAN_KIND_COUNT_; k++)
		if (!strcmp(name, kind_names[k]))
			return k;
	return -1;
}

static pb_err unsupported(const pb_channel *ch, const char *what, pb_errbuf *eb)
{
	return pb_errf(eb, PB_EINVAL, "channel '%s' does not support %s", ch->name, what);
}

pb_err pb_channel_webhook(pb_channel *ch, const pb_chan_webhook *req, pb_chan_events *out,
			  int *status, pb_errbuf *eb)
{
	if (!ch->ops->webhook) {
		*status = 404;
		return unsupported(ch, "webhooks", eb);
	}
	*status = 200;
	return ch->ops->webhook(ch, req, out, status, eb);
}

pb_err pb_channel_poll(pb_channel *ch, int64_t now, pb_chan_events *out, pb_errbuf *eb)
{
	if (!ch->ops->poll)
		return unsupported(ch, "polling", eb);
	return ch->ops->poll(ch, now, out, eb);
}

pb_err pb_channel_perform(pb_channel *ch, const pb_chan_action *a, int64_t now,
			  pb_chan_result *res, pb_errbuf *eb)
{
	memset(res, 0, sizeof *res);
	res->retry_after = -1;
	if (!ch->ops->perform)
		return unsupported(ch, pb_chan_kind_name(a->kind), eb);
	return ch->ops->perform(ch, a, now, res, eb);
}

pb_err pb_channel_order(pb_channel *ch, const char *order_id, int64_t now, struct pb_order *out,
			pb_errbuf *eb)
{
	if (!ch->ops->order)
		return unsupported(ch, "order lookups", eb);
	return ch->ops->order(ch, order_id, now, out, eb);
}

void pb_channel_free(pb_channel *ch)
{
	if (ch && ch->ops->free)
		ch->ops->free(ch);
}

bool pb_chan_parse_command(const char *text, const char **cmd, const char **arg,
			   size_t *arg_len)
{
	static const struct {
		const char *name;
		bool needs_arg;
	} cmds[] = {
		{"send", false}, {"reject", true}, {"escalate", false}, {"note", true}, {"resolve", true},
	};
	const char *p = text, *w, *a, *e;
	size_t n, k;

	if (!text)
		return false;
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '/')
		return false;
	w = ++p;
	while (isalpha((unsigned char)*p))
		p++;
	n = (size_t)(p - w);
	if (*p && !isspace((unsigned char)*p))
		return false;
	for (k = 0; k < sizeof cmds / sizeof cmds[0]; k++)
		if (strlen(cmds[k].name) == n && !strncasecmp(w, cmds[k].name, n))
			break;
	if (k == sizeof cmds / sizeof cmds[0])
		return false;
	a = p;
	while (isspace((unsigned char)*a))
		a++;
	e = a + strlen(a);
	while (e > a && isspace((unsigned char)e[-1]))
		e--;
	if (cmds[k].needs_arg && e == a)
		return false;
	*cmd = cmds[k].name;
	*arg = a;
	*arg_len = (size_t)(e - a);
	return true;
}
