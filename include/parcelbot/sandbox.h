/*
 * The sandbox: a fake of the outside world for the demo and the tests, served
 * by libmicrohttpd on 127.0.0.1 only. It speaks the real wire formats (same
 * paths, fields, signature and token checks), so the adapters are tested
 * exactly as they will run against the real services.
 *
 * Served now: Kuaidi100's real-time query (POST /poll/query.do) and
 * 17TRACK's v2.2 register and gettrackinfo (POST /track/v2.2/...), from a
 * seed file of parcels (YAML, or JSON which is YAML too; see
 * tests/fixtures/sandbox-parcels.yaml); and Chatwoot (src/sandbox_chatwoot.c):
 * the application API parcelbot's adapter uses, under
 * /api/v1/accounts/{account}/conversations/{id}/: messages (GET, POST),
 * labels (GET, POST) and toggle_status (POST), checking the
 * api_access_token header and the account id. *
 * The fake Chatwoot plays buyers and agents and calls parcelbot back the way
 * Chatwoot does, with message_created webhooks POSTed (from a delivery
 * thread, retried twice on failure) to the configured webhook URL:
 *  - POST /_sandbox/chatwoot/incoming {"conversation": N, "text": T,
 *    "contact": N?, "order_id": S?}: a buyer writes (the conversation is
 *    made when new);
 *  - POST /_sandbox/chatwoot/agent_note {"conversation", "text", "agent"}:
 *    an agent writes a private note (a command such as "/send");
 *  - every message created through the API (parcelbot's notes and
 *    replies) is announced too, with sender.type "agent_bot";
 *  - POST /_sandbox/chatwoot/config {"webhook": URL|null} sets the URL
 *    (opts.chatwoot_webhook at start); GET /_sandbox/chatwoot/deliveries
 *    lists every delivery and its outcome;
 *  - GET /_sandbox/chatwoot/conversations/{id}: a conversation's state
 *    (status, labels, contact, custom_attributes, messages);
 *  - the seed's `chatwoot: {conversations: [{id, contact, name?, order_id?,
 *    labels?, status?, messages: [{text, at}], follow_up: {after, text}}]}`
 *    is played by POST /_sandbox/chatwoot/play {"speed": F?}: each message
 *    `at` seconds (divided by F) after the start, and the follow-up `after`
 *    seconds after a conversation's last message unless a public reply came
 *    in between; GET /_sandbox/chatwoot/play reports {running, played,
 *    pending, follow_ups, follow_ups_skipped}.
 *
 * Shopee Open Platform v2's token refresh, seller chat, order detail and
 * logistics tracking are served with their signature and token checks, from
 * the seed's `shopee` section (see src/sandbox_shopee.c and
 * tests/fixtures/sandbox-shopee.yaml). Chat APIs are route modules (see
 * src/sandbox_internal.h).
 *
 * For the tests it also:
 *  - records every request it receives (GET /_sandbox/requests[?route=R],
 *    cleared with DELETE /_sandbox/requests);
 *  - injects faults per route (POST /_sandbox/faults with one fault object
 *    or a list of them, cleared with DELETE /_sandbox/faults): latency, a
 *    status such as 500 or 429 with Retry-After, a connection dropped
 *    mid-response, a garbage or truncated body, an oversized body streamed
 *    without being held in memory;
 *  - forgets everything (faults, requests, 17TRACK registrations, Chatwoot
 *    conversations back to the seed, deliveries, a play under way) on
 *    POST /_sandbox/reset.
 * The same controls are available in-process through the functions below.
 * GET|POST /_sandbox/echo answers with what it received (route "echo").
 */
#ifndef PARCELBOT_SANDBOX_H
#define PARCELBOT_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parcelbot/err.h"

struct cJSON;

/* Credentials the fake providers accept unless told otherwise. */
#define PB_SANDBOX_K100_CUSTOMER "sandbox-customer"
#define PB_SANDBOX_K100_KEY "sandbox-key"
#define PB_SANDBOX_17TRACK_TOKEN "sandbox-token"
/* Shopee Open Platform v2 (src/sandbox_shopee.c). The refresh token is the
 * first one: each refresh issues a new one and retires the old. */
#define PB_SANDBOX_SHOPEE_PARTNER_ID 1000001
#define PB_SANDBOX_SHOPEE_PARTNER_KEY "sandbox-shopee-key"
#define PB_SANDBOX_SHOPEE_SHOP_ID 2000001
#define PB_SANDBOX_SHOPEE_REFRESH_TOKEN "sandbox-refresh"
#define PB_SANDBOX_CHATWOOT_TOKEN "sandbox-chatwoot-token"
#define PB_SANDBOX_CHATWOOT_ACCOUNT 1
/* The bearer token the fake order API (GET /orders?id=ORDER_ID, seed key
 * `orders:`; see src/sandbox_orders.c) requires. */
#define PB_SANDBOX_ORDERS_TOKEN "sandbox-orders-token"

typedef struct pb_sandbox pb_sandbox;

typedef struct pb_sandbox_opts {
	unsigned short port;       /* 0: any free port */
	const char *seed_file;     /* parcels to serve, or NULL for none */
	const char *k100_customer; /* NULL: PB_SANDBOX_K100_CUSTOMER */
	const char *k100_key;      /* NULL: PB_SANDBOX_K100_KEY */
	const char *t17_token;     /* NULL: PB_SANDBOX_17TRACK_TOKEN */
	const char *chatwoot_webhook; /* where message_created goes, or NULL */
	const char *chatwoot_token;   /* NULL: PB_SANDBOX_CHATWOOT_TOKEN */
	long chatwoot_account;        /* 0: PB_SANDBOX_CHATWOOT_ACCOUNT */
} pb_sandbox_opts;

void pb_sandbox_opts_init(pb_sandbox_opts *o);

/* Loads the seed and starts serving on 127.0.0.1. Seed errors are reported
 * as `file:line:col: message` in eb. On success *out owns the sandbox, which
 * pb_sandbox_stop stops and frees. */
pb_err pb_sandbox_start(const pb_sandbox_opts *o, pb_sandbox **out, pb_errbuf *eb);
/* The port actually bound. */
unsigned short pb_sandbox_port(const pb_sandbox *sb);
/* Stops serving (requests waiting in an injected delay are cut short) and
 * frees everything. NULL is ignored. */
void pb_sandbox_stop(pb_sandbox *sb);

typedef enum pb_fault_kind {
	PB_FAULT_DELAY,    /* only the latency, then the normal answer */
	PB_FAULT_STATUS,   /* answer with `status` (and Retry-After if set) */
	PB_FAULT_DROP,     /* send half the answer, then close the connection */
	PB_FAULT_GARBAGE,  /* 200 with a body that is not JSON */
	PB_FAULT_TRUNCATE, /* 200 with the first half of the real answer */
	PB_FAULT_HUGE,     /* 200 with `bytes` bytes, generated as they are sent */
	PB_FAULT_BODY,     /* `status` (default 200) with `body` as JSON: a
			    * provider's own error reply, say */
} pb_fault_kind;

typedef struct pb_sandbox_fault {
	char route[48];         /* "kuaidi100.query", "17track.register",
				 * "17track.gettrackinfo", "chatwoot.messages.create",
				 * "chatwoot.messages.list", "chatwoot.labels",
				 * "chatwoot.toggle_status", "echo", or "*" */
	pb_fault_kind kind;
	int times;              /* requests it applies to; 0 or less: all */
	long latency_ms;        /* wait before answering, for any kind */
	int status;             /* PB_FAULT_STATUS */
	char retry_after[64];   /* PB_FAULT_STATUS: Retry-After value, "" for none */
	uint64_t bytes;         /* PB_FAULT_HUGE: body length */
	bool chunked;           /* PB_FAULT_HUGE: send no Content-Length */
	char body[2048];        /* PB_FAULT_BODY */
} pb_sandbox_fault;

/* Faults on a route are used in the order added; one whose `times` is used
 * up is dropped. */
pb_err pb_sandbox_fault_add(pb_sandbox *sb, const pb_sandbox_fault *f);
void pb_sandbox_faults_clear(pb_sandbox *sb);
/* Reads {"route", "action": "delay|status|drop|garbage|truncate|huge|body",
 * "times", "latency_ms", "status", "retry_after", "bytes", "chunked",
 * "body"}; the action defaults to "body" when a body is given, "status" when
 * a status is, else "delay"; times defaults to 1 (0 means every request). */
pb_err pb_sandbox_fault_from_json(const struct cJSON *j, pb_sandbox_fault *f, pb_errbuf *eb);

/* Requests received on route (NULL: on every route) since the last clear. */
size_t pb_sandbox_count(pb_sandbox *sb, const char *route);
/* The recorded requests on route (NULL: all), oldest first: [{seq, route,
 * method, path, query, body, answered}]. Caller owns the result. */
struct cJSON *pb_sandbox_requests_json(pb_sandbox *sb, const char *route);
void pb_sandbox_requests_clear(pb_sandbox *sb);
/* Clears faults, recorded requests and every module's state. */
void pb_sandbox_reset(pb_sandbox *sb);

#endif
