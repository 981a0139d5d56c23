/*
 * Channels: the chat services parcelbot works beside (Chatwoot, Shopee
 * seller chat, ...). An adapter does four things and nothing else:
 *
 *  1. turns what the service sends (a webhook request) or what parcelbot
 *     fetches from it (a poll) into inbox events, JSON objects the pipeline
 *     reads (see "Events" below);
 *  2. carries out one outbox action at a time (post a draft where agents
 *     see it, send an approved reply to the buyer, hand a case to a human,
 *     tell a supervisor), reporting whether a failure is worth retrying;
 *  3. before resending an action an earlier attempt may have delivered,
 *     checks the conversation, so a buyer never gets a reply twice;
 *  4. optionally looks up an order on the service.
 *
 * Adapters hold no state that must survive a restart except in the store;
 * they do not touch the store, the KB or the clock (now is passed in).
 * A pb_channel is used by one thread at a time; the daemon gives each
 * thread its own, or serialises calls.
 *
 * Events. A buyer's message is
 *   {"kind": "message", "channel": C, "message_id": "...",
 *    "conversation": "...", "buyer": "...", "message": TEXT,
 *    "now": "ISO 8601 time the buyer wrote",
 *    "order": {pb_order JSON}?, "parcel": {"carrier", "number"}?}
 * (the shape ingest.h reads). An agent's command given in the channel, such
 * as a Chatwoot private note "/send", is
 *   {"kind": "command", "channel": C, "message_id": "...",
 *    "conversation": "...", "agent": NAME, "command": "send" | "reject" |
 *    "escalate" | "note" | "resolve", "text": ARGUMENT-OR-"", "now": ...}
 * The pair (channel, message_id) is unique: the inbox drops duplicates.
 */
#ifndef PARCELBOT_CHANNEL_H
#define PARCELBOT_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parcelbot/err.h"

struct pb_http;
struct pb_order;

typedef struct pb_channel pb_channel;

/* One event for the inbox: its channel-unique id and its JSON. */
typedef struct pb_chan_event {
	char *external_id;
	char *json;
} pb_chan_event;

typedef struct pb_chan_events {
	pb_chan_event *v;
	size_t n, cap;
} pb_chan_events;

/* Appends copies of id and json. */
pb_err pb_chan_events_add(pb_chan_events *evs, const char *id, const char *json);
void pb_chan_events_release(pb_chan_events *evs);

/* A webhook request as the server hands it over. */
typedef struct pb_chan_webhook {
	const char *secret;  /* the path segment after /webhooks/<channel>/, or NULL */
	/* The request header `name` (case-insensitive), or NULL. */
	const char *(*header)(const void *ctx, const char *name);
	const void *header_ctx;
	const char *body;    /* NUL-terminated, body_len bytes */
	size_t body_len;
	int64_t now;
} pb_chan_webhook;

typedef enum pb_chan_kind {
	PB_CHAN_POST_DRAFT,  /* show a draft to the agents (Chatwoot: private note) */
	PB_CHAN_SEND_REPLY,  /* send the approved text to the buyer */
	PB_CHAN_HAND_OFF,    /* a human takes over: brief, label, status open */
	PB_CHAN_NOTIFY,      /* tell a supervisor a deadline passed */
	PB_CHAN_KIND_COUNT_
} pb_chan_kind;

/* The outbox kind names: "post_draft", "send_reply", "hand_off",
 * "notify_supervisor". */
const char *pb_chan_kind_name(pb_chan_kind k);
/* -1 for an unknown name. */
int pb_chan_kind_from_name(const char *name);

/* One outbox action, filled in by the sender from the outbox row and the
 * draft it names. Strings may be NULL when they do not apply. */
typedef struct pb_chan_action {
	pb_chan_kind kind;
	const char *key;          /* the outbox row's idempotency key */
	unsigned attempt;         /* earlier attempts at this row (0: first) */
	int64_t queued_at;        /* when the row was written: a message the
				   * channel shows after this, with this text,
				   * is this action delivered by an earlier try */
	const char *conversation; /* the channel's conversation id */
	int64_t case_id, draft_id;
	int version;              /* draft version */
	int severity;             /* 0..3 */
	const char *lang;         /* "zh" or "en" */
	const char *text;         /* post_draft: the draft; send_reply: the text
				   * the agent approved, as sent */
	const char *template_id;  /* post_draft */
	const char *checklist;    /* post_draft: one item per line */
	const char *lint;         /* post_draft: findings, one per line, "" none */
	const char *brief;        /* hand_off and escalated drafts: the case brief */
	const char *reason;       /* hand_off: why; notify: what is overdue */
	const char *case_url;     /* the case in parcelbot's console, or NULL */
} pb_chan_action;

typedef struct pb_chan_result {
	char external_id[128]; /* the channel's id for what it created, "" if none */
	bool already;          /* an earlier attempt had delivered it: nothing sent now */
	bool retryable;        /* on failure: worth trying again later */
	long retry_after;      /* on failure: seconds the channel asked to wait, -1 */
} pb_chan_result;

/* What every adapter provides. NULL members are not supported by it. */
typedef struct pb_channel_ops {
	const char *name; /* "chatwoot", "shopee", "api" */
	/* Verifies a webhook (its secret or signature, compared in constant
	 * time) and reads its events into out (none for what parcelbot must
	 * ignore: outgoing, private or bot messages, other event types).
	 * On failure *status is the HTTP status to answer (401 for a bad
	 * secret, 400 for a malformed body) and nothing is added. */
	pb_err (*webhook)(pb_channel *ch, const pb_chan_webhook *req, pb_chan_events *out,
			  int *status, pb_errbuf *eb);
	/* Fetches what arrived since the last poll into out. The adapter keeps
	 * its cursor in memory; after a restart it may return events again,
	 * which the inbox drops as duplicates. */
	pb_err (*poll)(pb_channel *ch, int64_t now, pb_chan_events *out, pb_errbuf *eb);
	/* Carries out one action. On success res->external_id names what was
	 * created, and res->already says an earlier attempt had delivered it. */
	pb_err (*perform)(pb_channel *ch, const pb_chan_action *a, int64_t now,
			  pb_chan_result *res, pb_errbuf *eb);
	/* Looks up an order by the shop's order id; PB_ENOTFOUND if unknown. */
	pb_err (*order)(pb_channel *ch, const char *order_id, int64_t now, struct pb_order *out,
			pb_errbuf *eb);
	void (*free)(pb_channel *ch);
} pb_channel_ops;

/* Every adapter's handle starts with this. */
struct pb_channel {
	const pb_channel_ops *ops;
	char name[32]; /* the configured name, e.g. "chatwoot" */
};

/* Runs an adapter's operation, or returns PB_EINVAL naming what the
 * channel does not support. */
pb_err pb_channel_webhook(pb_channel *ch, const pb_chan_webhook *req, pb_chan_events *out,
			  int *status, pb_errbuf *eb);
pb_err pb_channel_poll(pb_channel *ch, int64_t now, pb_chan_events *out, pb_errbuf *eb);
pb_err pb_channel_perform(pb_channel *ch, const pb_chan_action *a, int64_t now,
			  pb_chan_result *res, pb_errbuf *eb);
pb_err pb_channel_order(pb_channel *ch, const char *order_id, int64_t now, struct pb_order *out,
			pb_errbuf *eb);
void pb_channel_free(pb_channel *ch);

/* Parses an agent's command note: "/send", "/send TEXT", "/reject REASON",
 * "/escalate [REASON]", "/note TEXT", "/resolve OUTCOME". Leading white
 * space is skipped; the command word is case-insensitive. On success
 * *cmd is the command name (static) and *arg points into text at the
 * argument, white space trimmed ("" when none). false when text is not a
 * command, or a command is missing a required argument (reject, note,
 * resolve). */
bool pb_chan_parse_command(const char *text, const char **cmd, const char **arg,
			   size_t *arg_len);

#endif
