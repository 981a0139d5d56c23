/*
 * What a sandbox route module sees (src/sandbox_*.c). The core (sandbox.c)
 * owns the HTTP server, recording and fault injection; a module owns one
 * service's routes and state. A module registers its routes and its state
 * from its init function, which the core calls at start with the seed
 * document. Adding a service means one new file and one line in the core's
 * module table. Not part of the public API.
 */
#ifndef PARCELBOT_SANDBOX_INTERNAL_H
#define PARCELBOT_SANDBOX_INTERNAL_H

#include <stddef.h>

#include "parcelbot/buf.h"
#include "parcelbot/sandbox.h"
#include "parcelbot/ydoc.h"

struct cJSON;
struct MHD_Connection;

/* A request as a route handler sees it. The body is NUL-terminated. */
typedef struct pb_sbx_req {
	const char *method;
	const char *path;
	const char *body;
	size_t body_len;
	struct MHD_Connection *conn;
} pb_sbx_req;

/* The answer a handler builds. The core has set status 200, content type
 * application/json and an empty body capped at 16 MiB. */
typedef struct pb_sbx_resp {
	int status;
	const char *content_type; /* static string */
	pb_buf body;
} pb_sbx_resp;

typedef void (*pb_sbx_handler)(void *state, const pb_sbx_req *rq, pb_sbx_resp *rs);

typedef struct pb_sbx_route {
	const char *name;   /* for records and faults, e.g. "kuaidi100.query" */
	const char *method; /* exact, e.g. "POST" */
	const char *path;   /* e.g. "/poll/query.do"; a segment that is just
			     * "*" matches any one non-empty segment */
	pb_sbx_handler fn;
	void *state;        /* the module's, passed to fn */
} pb_sbx_route;

/* A module's state and how to reset and free it. */
typedef struct pb_sbx_module {
	void *state;
	void (*reset)(void *state); /* may be NULL */
	void (*free)(void *state);
} pb_sbx_module;

/* Called by a module's init. The strings in r must be static. */
pb_err pb_sbx_add_route(pb_sandbox *sb, const pb_sbx_route *r);
pb_err pb_sbx_add_module(pb_sandbox *sb, const pb_sbx_module *m);

/* A request header's value, or NULL. */
const char *pb_sbx_header(const pb_sbx_req *rq, const char *name);

/* Converts a seed node to JSON: a plain scalar that is an integer becomes a
 * number, plain null/~/true/false become null and booleans, anything quoted
 * or else becomes a string. Returns NULL on ENOMEM. */
struct cJSON *pb_sbx_yaml_to_json(const pb_ynode *n);

/* Writes cJSON's compact form of j into rs->body. */
void pb_sbx_send_json(pb_sbx_resp *rs, int status, const struct cJSON *j);

/* The module inits, called by the core in order. Each validates its own
 * top-level seed keys (root may be NULL: no seed) and reports problems in
 * dg at their position. */
pb_err pb_sbx_track_init(pb_sandbox *sb, const pb_sandbox_opts *o, const pb_ydoc *seed,
			 pb_diag *dg);
extern const char *const pb_sbx_track_keys[];
pb_err pb_sbx_shopee_init(pb_sandbox *sb, const pb_sandbox_opts *o, const pb_ydoc *seed,
			  pb_diag *dg);
extern const char *const pb_sbx_shopee_keys[];
pb_err pb_sbx_chatwoot_init(pb_sandbox *sb, const pb_sandbox_opts *o, const pb_ydoc *seed,
			    pb_diag *dg);
extern const char *const pb_sbx_chatwoot_keys[];
pb_err pb_sbx_orders_init(pb_sandbox *sb, const pb_sandbox_opts *o, const pb_ydoc *seed,
			  pb_diag *dg);
extern const char *const pb_sbx_orders_keys[];

#endif
