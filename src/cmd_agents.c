/*
 * `parcelbot agents`: who may sign in to the console. Passwords are read
 * from the terminal without echo (or from standard input with
 * --password-stdin), never from the command line, and only their yescrypt
 * hash is stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "parcelbot/auth.h"
#include "parcelbot/cli.h"
#include "parcelbot/store.h"
#include "parcelbot/time.h"

const char pb_usage_agents[] =
	"usage: parcelbot agents add NAME [--role agent|supervisor] [--password-stdin] [--db PATH]\n"
	"       parcelbot agents passwd NAME [--password-stdin] [--db PATH]\n"
	"       parcelbot agents remove NAME [--db PATH]\n"
	"       parcelbot agents list [--db PATH]\n"
	"\n"
	"Manages the agents who sign in to the console that `parcelbot serve` shows\n"
	"at /. The password is asked for on the terminal (twice, not shown), or read\n"
	"as the first line of standard input with --password-stdin. A changed\n"
	"password, or a removed agent, ends that agent's console sessions. A removed\n"
	"agent's name stays on the decisions they made.\n"
	"\n"
	"Options:\n"
	"  --role ROLE        agent (the default) or supervisor\n"
	"  --password-stdin   read the password from standard input\n"
	"  --db PATH          the database (else $PARCELBOT_DB, else the default)\n"
	"\n"
	"Exit status: 0 done, 1 bad command line, 2 the operation failed.\n";

/* Reads one line into buf without echo when stdin is a terminal. */
static bool read_secret(const char *prompt, bool from_stdin, char *buf, size_t n)
{
	struct termios old, quiet;
	bool tty = !from_stdin && isatty(STDIN_FILENO);
	bool ok;
	size_t len;

	if (!from_stdin && !tty) {
		pb_cli_fail(PB_EXIT_USAGE,
			    "standard input is not a terminal: give --password-stdin to read it");
		return false;
	}
	if (tty) {
		fprintf(stderr, "%s", prompt);
		(void)fflush(stderr); /* the prompt; nowhere to report a failure */
		if (tcgetattr(STDIN_FILENO, &old))
			tty = false;
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		if (tty)
			tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	ok = fgets(buf, (int)n, stdin) != NULL;
	if (tty)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	if (!ok) {
		pb_cli_fail(PB_EXIT_INPUT, "no password given");
		return false;
	}
	len = strlen(buf);
	if (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	else if (len == n - 1) {
		pb_cli_fail(PB_EXIT_INPUT, "the password is longer than %d bytes",
			    PB_AUTH_MAX_PASSWORD);
		return false;
	}
	if (len && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (!len) {
		pb_cli_fail(PB_EXIT_INPUT, "the password is empty");
		return false;
	}
	return true;
}

/* Asks for the password (twice on a terminal) and hashes it. */
static bool new_hash(bool from_stdin, char *hash, size_t n)
{
	char pw[PB_AUTH_MAX_PASSWORD + 2], again[PB_AUTH_MAX_PASSWORD + 2];
	pb_errbuf eb;
	pb_err err;
	bool ok = false;

	if (!read_secret("Password: ", from_stdin, pw, sizeof pw))
		goto out;
	if (!from_stdin) {
		if (!read_secret("Again: ", false, again, sizeof again))
			goto out;
		if (strcmp(pw, again)) {
			pb_cli_fail(PB_EXIT_INPUT, "the passwords differ");
			goto out;
		}
	}
	eb.msg[0] = '\0';
	if ((err = pb_auth_hash(pw, hash, n, &eb))) {
		pb_cli_fail(PB_EXIT_INPUT, "%s", pb_errmsg(&eb, err));
		goto out;
	}
	ok = true;
out:
	memset(pw, 0, sizeof pw);
	memset(again, 0, sizeof again);
	return ok;
}

int pb_cmd_agents(pb_cli *cli, int argc, char **argv)
{
	const char *sub = NULL, *name = NULL, *db = NULL, *role = NULL;
	bool from_stdin = false;
	char hash[256];
	pb_store *st = NULL;
	pb_errbuf eb;
	pb_err err = PB_OK;
	int i, rc = PB_EXIT_OK;

	(void)cli;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--db") || !strcmp(a, "--role")) {
			if (i + 1 >= argc)
				return pb_cli_usage("agents", "%s needs a value", a);
			*(a[2] == 'd' ? &db : &role) = argv[++i];
		} else if (!strncmp(a, "--db=", 5)) {
			db = a + 5;
		} else if (!strncmp(a, "--role=", 7)) {
			role = a + 7;
		} else if (!strcmp(a, "--password-stdin")) {
			from_stdin = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(pb_usage_agents, stdout);
			return PB_EXIT_OK;
		} else if (a[0] == '-' && a[1]) {
			return pb_cli_usage("agents", "unknown option '%s'", a);
		} else if (!sub) {
			sub = a;
		} else if (!name) {
			name = a;
		} else {
			return pb_cli_usage("agents", "unexpected argument '%s'", a);
		}
	}
	if (!sub)
		return pb_cli_usage("agents", "say add, passwd, remove or list");
	if (strcmp(sub, "add") && strcmp(sub, "passwd") && strcmp(sub, "remove") &&
	    strcmp(sub, "list"))
		return pb_cli_usage("agents", "unknown subcommand '%s'", sub);
	if (strcmp(sub, "list") && !name)
		return pb_cli_usage("agents", "agents %s needs a NAME", sub);
	if (!strcmp(sub, "list") && name)
		return pb_cli_usage("agents", "unexpected argument '%s'", name);
	if (role && (strcmp(sub, "add") || (strcmp(role, "agent") && strcmp(role, "supervisor"))))
		return pb_cli_usage("agents", "--role is agent or supervisor, with add only");
	if (name && !pb_cli_agent(name))
		return PB_EXIT_USAGE;
	if ((!strcmp(sub, "add") || !strcmp(sub, "passwd")) && !from_stdin && !isatty(STDIN_FILENO))
		return pb_cli_usage("agents",
				    "standard input is not a terminal: give --password-stdin");
	if (!(st = pb_cli_open_store(db, !strcmp(sub, "add"))))
		return PB_EXIT_INPUT;
	eb.msg[0] = '\0';
	if (!strcmp(sub, "list")) {
		pb_store_agents l;
		size_t k;
		char tb[40];
		if (!(err = pb_store_agent_list(st, &l, &eb))) {
			for (k = 0; k < l.n; k++)
				printf("%-24s %-10s %-9s last seen %s\n", l.v[k].name, l.v[k].role,
				       l.v[k].password_hash ? "sign-in" : "no-login",
				       pb_time_format((pb_when){l.v[k].last_seen_at, 0}, tb,
						      sizeof tb));
			pb_store_agents_release(&l);
		}
	} else if (!strcmp(sub, "remove")) {
		if (!(err = pb_store_agent_remove(st, name, &eb)))
			printf("removed %s; their sessions are ended\n", name);
	} else if (!new_hash(from_stdin, hash, sizeof hash)) {
		rc = PB_EXIT_INPUT;
	} else if (!strcmp(sub, "add")) {
		if (!(err = pb_store_agent_add(st, name, role, hash, (int64_t)time(NULL), &eb)))
			printf("added %s (%s)\n", name, role ? role : "agent");
	} else {
		if (!(err = pb_store_agent_set_password(st, name, hash, &eb)))
			printf("changed %s's password; their sessions are ended\n", name);
	}
	memset(hash, 0, sizeof hash);
	if (err)
		rc = pb_cli_fail(PB_EXIT_INPUT, "%s", pb_errmsg(&eb, err));
	pb_store_close(st);
	return rc;
}
