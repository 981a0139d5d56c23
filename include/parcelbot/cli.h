/*
 * Helpers shared by the command-line subcommands (src/cmd_*.c): exit codes,
 * one-line error messages, finding and loading the KB, and reading JSON
 * lines with a size cap.
 */
#ifndef PARCELBOT_CLI_H
#define PARCELBOT_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "parcelbot/buf.h"
#include "parcelbot/kb.h"

enum {
	PB_EXIT_OK = 0,
	PB_EXIT_USAGE = 1, /* bad command line */
	PB_EXIT_INPUT = 2, /* bad input, bad KB, or the operation failed */
};

/* Longest JSON line accepted on standard input. */
#define PB_CLI_MAX_LINE (1u << 20)

typedef struct pb_cli {
	const char *kb_dir; /* from --kb, or NULL */
} pb_cli;

typedef struct pb_command {
	const char *name;
	const char *summary;
	const char *usage; /* full help text */
	int (*run)(pb_cli *cli, int argc, char **argv);
} pb_command;

/* The subcommands (src/cmd_*.c). Each receives argv starting at its own
 * name and returns an exit status. */
int pb_cmd_classify(pb_cli *cli, int argc, char **argv);
int pb_cmd_kb(pb_cli *cli, int argc, char **argv);
int pb_cmd_help(pb_cli *cli, int argc, char **argv);
int pb_cmd_draft(pb_cli *cli, int argc, char **argv);
int pb_cmd_lint(pb_cli *cli, int argc, char **argv);
int pb_cmd_track(pb_cli *cli, int argc, char **argv);
int pb_cmd_sandbox(pb_cli *cli, int argc, char **argv);
int pb_cmd_config(pb_cli *cli, int argc, char **argv);
int pb_cmd_serve(pb_cli *cli, int argc, char **argv);
int pb_cmd_ingest(pb_cli *cli, int argc, char **argv);
int pb_cmd_cases(pb_cli *cli, int argc, char **argv);
int pb_cmd_case(pb_cli *cli, int argc, char **argv);
int pb_cmd_due(pb_cli *cli, int argc, char **argv);
int pb_cmd_approve(pb_cli *cli, int argc, char **argv);
int pb_cmd_reject(pb_cli *cli, int argc, char **argv);
int pb_cmd_escalate(pb_cli *cli, int argc, char **argv);
int pb_cmd_note(pb_cli *cli, int argc, char **argv);
int pb_cmd_resolve(pb_cli *cli, int argc, char **argv);
int pb_cmd_close(pb_cli *cli, int argc, char **argv);
int pb_cmd_orders(pb_cli *cli, int argc, char **argv);
int pb_cmd_agents(pb_cli *cli, int argc, char **argv);
int pb_cmd_report(pb_cli *cli, int argc, char **argv);
int pb_cmd_scan(pb_cli *cli, int argc, char **argv);
extern const char pb_usage_classify[], pb_usage_kb[], pb_usage_draft[], pb_usage_lint[];
extern const char pb_usage_track[], pb_usage_sandbox[], pb_usage_config[], pb_usage_serve[];
extern const char pb_usage_ingest[], pb_usage_cases[], pb_usage_case[], pb_usage_due[],
	pb_usage_approve[], pb_usage_reject[], pb_usage_escalate[], pb_usage_note[],
	pb_usage_resolve[], pb_usage_close[];
extern const char pb_usage_orders[], pb_usage_agents[], pb_usage_report[], pb_usage_scan[];

/* Prints "parcelbot: message" on stderr and returns code. */
int pb_cli_fail(int code, const char *fmt, ...) PB_PRINTF(2, 3);
/* Prints a usage error plus a pointer to the command's help; returns 1. */
int pb_cli_usage(const char *cmd, const char *fmt, ...) PB_PRINTF(2, 3);
/* Prints a command's help to stdout. */
void pb_cli_help(const pb_command *cmd);
const pb_command *pb_cli_find(const char *name);

/* Loads the KB (see pb_kb_locate), printing every error on stderr.
 * Returns NULL on failure. */
pb_kb *pb_cli_load_kb(const pb_cli *cli);

/* ---- the store, for the subcommands that use it (src/cli_store.c) ---- */

struct pb_store;

/* The database path: --db, else $PARCELBOT_DB, else
 * $XDG_DATA_HOME/parcelbot/parcelbot.db, else
 * ~/.local/share/parcelbot/parcelbot.db. NULL (with a message printed)
 * when none can be worked out. buf must hold PATH_MAX bytes. */
const char *pb_cli_db_path(const char *opt, char *buf, size_t n);
/* Opens the database, printing a one-line error on failure (NULL). With
 * create the database, and the default path's directory, are created when
 * missing; without it a missing database is an error, so that a typo in a
 * path never hides the real cases behind an empty new database. */
struct pb_store *pb_cli_open_store(const char *opt, bool create);
/* The acting agent: --as, else $USER. NULL (with a message printed) when
 * neither gives a usable name. */
const char *pb_cli_agent(const char *opt);
/* --now, or the clock. Returns false (with a usage message for cmd
 * printed) when the time cannot be read. */
bool pb_cli_now(const char *cmd, const char *opt, int32_t tz_off, int64_t *out);
/* A case id from the command line; false (with a usage message) when it
 * is not a positive whole number. */
bool pb_cli_case_id(const char *cmd, const char *arg, int64_t *out);

/* Reads one line (without the newline) into b, which is reset first.
 * Returns 1 for a line, 0 at end of input, -1 for a read error and -2 for a
 * line over PB_CLI_MAX_LINE bytes (the rest of which is skipped). */
int pb_cli_read_line(FILE *f, pb_buf *b);

#endif
