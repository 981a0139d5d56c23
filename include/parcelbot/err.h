/*
 * The one error type of parcelbot. Functions that can fail return a pb_err
 * (PB_OK, zero, is success) and fill an optional pb_errbuf with a message a
 * person can act on. Library error codes (CURLcode, SQLITE_*, PCRE2, libyaml)
 * are converted into these at the module edge, so callers never see them.
 */
#ifndef PARCELBOT_ERR_H
#define PARCELBOT_ERR_H

#include <stddef.h>

#if defined(__GNUC__)
#define PB_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PB_PRINTF(fmt, args)
#endif

typedef enum pb_err {
	PB_OK = 0,
	PB_ENOMEM,     /* out of memory */
	PB_EINVAL,     /* invalid argument or input */
	PB_EIO,        /* reading or writing a file or socket failed */
	PB_EPARSE,     /* malformed data (JSON, YAML, dates) */
	PB_EUTF8,      /* text is not valid UTF-8 */
	PB_ETOOBIG,    /* a size cap was reached */
	PB_EKB,        /* the knowledge base is invalid */
	PB_ECONFIG,    /* the configuration is invalid */
	PB_EHTTP,      /* an HTTP transfer failed (connection, TLS) */
	PB_ETIMEOUT,   /* an operation took too long */
	PB_EUPSTREAM,  /* an upstream service answered with an error */
	PB_ERATELIMIT, /* an upstream service asked us to slow down */
	PB_ENOTFOUND,  /* the thing asked for does not exist */
	PB_EDB,        /* the store failed */
	PB_ESTATE,     /* the operation is not allowed in the current state */
	PB_EEXIST,     /* the thing already exists */
	PB_EAUTH,      /* authentication or signature failed */
	PB_ELIMIT,     /* a matching or resource limit was hit */
	PB_ERR_COUNT_
} pb_err;

/* A message to go with an error. 512 bytes is enough for one line naming a
 * file, a position and what was wrong with it. */
typedef struct pb_errbuf {
	char msg[512];
} pb_errbuf;

/* Returns a static, short name for an error code ("out of memory", ...). */
const char *pb_strerror(pb_err err);

/* Formats a message into eb (which may be NULL) and returns code, so that a
 * failing branch can read `err = pb_errf(eb, PB_EINVAL, "...");`. */
pb_err pb_errf(pb_errbuf *eb, pb_err code, const char *fmt, ...) PB_PRINTF(3, 4);
#ifdef __clang_analyzer__
/* For clang's static analyzer (make lint), which does not look into err.c:
 * what pb_errf returns is its code, so an error path stays an error path. */
#define pb_errf(eb, code, ...) (pb_errf((eb), (code), __VA_ARGS__), (code))
#endif

/* Prefixes an existing message in eb with a context string ("kb/x.yaml: "). */
void pb_err_prefix(pb_errbuf *eb, const char *fmt, ...) PB_PRINTF(2, 3);

/* The message in eb, or the code's name when eb is NULL or empty. */
const char *pb_errmsg(const pb_errbuf *eb, pb_err code);

#endif
