/*
 * The case commands: with these an agent runs the whole loop from a
 * terminal. `cases` lists the queue, `case` shows one case's whole history,
 * `due` shows deadlines (and escalates the missed ones), and approve,
 * reject, escalate, note, resolve and close act on a case. Each is a thin
 * client of case.h; each opens the store and never creates it.
 */
#include <cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "parcelbot/case.h"
#include "parcelbot/cli.h"
#include "parcelbot/policy.h"
#include "parcelbot/store.h"
#include "parcelbot/utf8.h"

#define COMMON_HELP                                                                        \
	"  --db PATH      the database (default: $PARCELBOT_DB, else\n"                     \
	"                 $XDG_DATA_HOME/parcelbot/parcelbot.db, else\n"                    \
	"                 ~/.local/share/parcelbot/parcelbot.db)\n"                         \
	"  --kb DIR       knowledge base directory (the shop's time zone and policy)\n"
#define ACT_HELP                                                                           \
	"  --as NAME      who is acting (default: $USER); recorded with the decision\n"     \
	"  --now TIME     when (ISO 8601; default: now), for scripts and tests\n"
#define EXIT_HELP "\nExit status: 0 done, 1 usage, 2 refused (with the reason) or failed.\n"

const char pb_usage_cases[] =
	"usage: parcelbot cases [--state S] [--severity N] [--json] [--db PATH]\n"
	"\n"
	"Lists cases: the most severe first, then those waiting longest. Without\n"
	"--state only open cases (any state but closed) are listed.\n"
	"\n"
	"Options:\n"
	"  --state S      new, drafted, awaiting_agent, sent, following_up, escalated,\n"
	"                 resolved, closed or reopened; open (the default) or all\n"
	"  --severity N   only cases of severity N or higher (1 to 3)\n"
	"  --json         print a JSON array\n" COMMON_HELP EXIT_HELP;

const char pb_usage_case[] =
	"usage: parcelbot case ID [--json] [--db PATH]\n"
	"\n"
	"Shows a case and its whole timeline, in the order things happened: the\n"
	"buyer's messages, the parcel's trace events, every draft version with its\n"
	"offer, checklist and reply-check findings, the agents' decisions, notes,\n"
	"reminders, queued actions and every state change with who made it.\n"
	"\n"
	"Options:\n"
	"  --json         print {case, order, parcel, timeline} as JSON\n" COMMON_HELP EXIT_HELP;

const char pb_usage_due[] =
	"usage: parcelbot due [--within DURATION] [--escalate] [--json] [--now TIME]\n"
	"                     [--as NAME] [--db PATH]\n"
	"\n"
	"Lists the deadlines that are overdue, and those due within DURATION\n"
	"(default 2h): first reply, first plan, progress updates while a parcel is\n"
	"stuck, every time a sent reply promised, and the check-back after\n"
	"resolution.\n"
	"\n"
	"With --escalate every overdue reminder not yet escalated goes to a\n"
	"supervisor: the case records it and a notify_supervisor action is queued.\n"
	"A reminder is escalated once, however often this runs (from cron, say).\n"
	"\n"
	"Options:\n"
	"  --within D     how far ahead to look: 30m, 2h, 1d, or seconds\n"
	"  --escalate     escalate the overdue reminders\n"
	"  --json         print {overdue: [...], upcoming: [...]}\n" ACT_HELP COMMON_HELP EXIT_HELP;

const char pb_usage_approve[] =
	"usage: parcelbot approve ID [--text FILE] [--draft N] [--as NAME] [--json]\n"
	"                        [--now TIME] [--db PATH]\n"
	"\n"
	"Approves case ID's latest draft, as it is or, with --text, with your own\n"
	"edited wording. The reply is queued for sending and the case moves to sent.\n"
	"\n"
	"An edited text is checked the way drafts are (apology first, a time, no\n"
	"blame, no sending the buyer to the courier, nothing contradicting the trace,\n"
	"no promise already past, compensation within the cap); the findings are\n"
	"printed and kept with your decision, and the reply is still queued.\n"
	"Every time the sent reply promises (\"by 18:00 today\", \"明天12:00前\")\n"
	"becomes a reminder, as does the draft's follow-up deadline, and a progress\n"
	"update while the parcel stays stuck.\n"
	"\n"
	"Options:\n"
	"  --text FILE    the reply as you want it sent (- for standard input)\n"
	"  --draft N      approve only if draft N (its id) is still the latest\n"
	"  --json         print the decision and the findings as JSON\n" ACT_HELP COMMON_HELP
	EXIT_HELP;

const char pb_usage_reject[] =
	"usage: parcelbot reject ID --reason TEXT [--as NAME] [--now TIME] [--db PATH]\n"
	"\n"
	"Rejects case ID's latest draft, saying why (the monthly review reads the\n"
	"reasons to improve the replies). The case stays open and its deadlines\n"
	"keep running: the buyer still needs an answer.\n"
	"\n"
	"Options:\n"
	"  --reason TEXT  why the draft is wrong (required)\n" ACT_HELP COMMON_HELP EXIT_HELP;

const char pb_usage_escalate[] =
	"usage: parcelbot escalate ID [--reason TEXT] [--as NAME] [--now TIME] [--db PATH]\n"
	"\n"
	"Hands case ID to a human: the case becomes escalated, its pending draft\n"
	"goes with it as a suggestion, and a hand_off action is queued.\n"
	"\n"
	"Options:\n"
	"  --reason TEXT  why (optional)\n" ACT_HELP COMMON_HELP EXIT_HELP;

const char pb_usage_note[] =
	"usage: parcelbot note ID TEXT... [--as NAME] [--now TIME] [--db PATH]\n"
	"\n"
	"Adds a note to case ID for whoever picks it up next (what was checked,\n"
	"what the carrier said), so the buyer is never asked the same thing twice.\n"
	"\n"
	"Options:\n" ACT_HELP COMMON_HELP EXIT_HELP;

const char pb_usage_resolve[] =
	"usage: parcelbot resolve ID --outcome OUTCOME [--as NAME] [--now TIME] [--db PATH]\n"
	"\n"
	"Records how case ID ended. Its open deadlines are met, pending drafts are\n"
	"dropped, and a check-back with the buyer is scheduled (the policy's\n"
	"check_back hours). A message from the buyer before the case is closed\n"
	"reopens it.\n"
	"\n"
	"Options:\n"
	"  --outcome O    reshipped, refunded, partial_refund, exchanged, delivered,\n"
	"                 found, compensated, cancelled or no_action\n" ACT_HELP COMMON_HELP
	EXIT_HELP;

const char pb_usage_close[] =
	"usage: parcelbot close ID [--as NAME] [--now TIME] [--db PATH]\n"
	"\n"
	"Closes resolved case ID once you have checked back with the buyer. A later\n"
	"message about the same problem opens a new case.\n"
	"\n"
	"Options:\n" ACT_HELP COMMON_HELP EXIT_HELP;

/* ---- options shared by the case commands ---- */

enum {
	O_DB = 1 << 0, O_AS = 1 << 1, O_NOW = 1 << 2, O_JSON = 1 << 3, O_TEXT = 1 << 4,
	O_REASON = 1 << 5, O_OUTCOME = 1 << 6, O_STATE = 1 << 7, O_SEVERITY = 1 << 8,
	O_WITHIN = 1 << 9, O_ESCALATE = 1 << 10, O_DRAFT = 1 << 11, O_KB = 1 << 12,
};

typedef struct args {
	const char *cmd, *db, *as, *now, *text, *reason, *outcome, *state, *within;
	long severity;
	long long draft;
	bool json, escalate;
	int first; /* index of the first operand */
} args;

/* Parses the options cmd allows. Returns -1 to go on, else an exit code. */
static int parse(pb_cli *cli, const char *cmd, unsigned allow, int argc, char **argv, args *a)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, O_DB},
		{"as", required_argument, NULL, O_AS},
		{"now", required_argument, NULL, O_NOW},
		{"json", no_argument, NULL, O_JSON},
		{"text", required_argument, NULL, O_TEXT},
		{"reason", required_argument, NULL, O_REASON},
		{"outcome", required_argument, NULL, O_OUTCOME},
		{"state", required_argument, NULL, O_STATE},
		{"severity", required_argument, NULL, O_SEVERITY},
		{"within", required_argument, NULL, O_WITHIN},
		{"escalate", no_argument, NULL, O_ESCALATE},
		{"draft", required_argument, NULL, O_DRAFT},
		{"kb", required_argument, NULL, O_KB},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char *end;
	int o;

	memset(a, 0, sizeof *a);
	a->cmd = cmd;
	/* Options may follow the operands ("note 5 text --as amy"); "--"
	 * ends them, for a note that starts with a dash. */
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (o == 'h') {
			pb_cli_help(pb_cli_find(cmd));
			return PB_EXIT_OK;
		}
		if (o == '?' || !((unsigned)o & allow))
			return pb_cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
		switch (o) {
		case O_DB: a->db = optarg; break;
		case O_AS: a->as = optarg; break;
		case O_NOW: a->now = optarg; break;
		case O_JSON: a->json = true; break;
		case O_TEXT: a->text = optarg; break;
		case O_REASON: a->reason = optarg; break;
		case O_OUTCOME: a->outcome = optarg; break;
		case O_STATE: a->state = optarg; break;
		case O_WITHIN: a->within = optarg; break;
		case O_ESCALATE: a->escalate = true; break;
		case O_KB: cli->kb_dir = optarg; break;
		case O_SEVERITY:
			a->severity = strtol(optarg, &end, 10);
			if (*end || a->severity < 1 || a->severity > 3)
				return pb_cli_usage(cmd, "--severity needs 1, 2 or 3, not '%s'", optarg);
			break;
		case O_DRAFT:
			a->draft = strtoll(optarg, &end, 10);
			if (*end || a->draft < 1)
				return pb_cli_usage(cmd, "--draft needs a draft id, not '%s'", optarg);
			break;
		}
	}
	a->first = optind;
	return -1;
}

/* What every acting command needs: the KB, the store, the time, the
 * agent (when it acts) and the case id (when it takes one). */
typedef struct env {
	pb_kb *kb;
	pb_store *st;
	int64_t now;
	const char *agent;
	int64_t id;
	int32_t tz;
} env;

static void env_release(env *e)
{
	pb_store_close(e->st);
	pb_kb_unref(e->kb);
}

static int env_open(pb_cli *cli, const args *a, int argc, char **argv, bool takes_id, bool acts,
		    env *e)
{
	memset(e, 0, sizeof *e);
	if (takes_id) {
		if (a->first >= argc)
			return pb_cli_usage(a->cmd, "which case? give its ID");
		if (!pb_cli_case_id(a->cmd, argv[a->first], &e->id))
			return PB_EXIT_USAGE;
	}
	if (acts && !(e->agent = pb_cli_agent(a->as)))
		return PB_EXIT_USAGE;
	if (!(e->kb = pb_cli_load_kb(cli)))
		return PB_EXIT_INPUT;
	e->tz = e->kb->policy->tz_off;
	if (!pb_cli_now(a->cmd, a->now, e->tz, &e->now)) {
		env_release(e);
		return PB_EXIT_USAGE;
	}
	if (!(e->st = pb_cli_open_store(a->db, false))) {
		env_release(e);
		return PB_EXIT_INPUT;
	}
	return -1;
}

static int failed(pb_err err, const pb_errbuf *eb)
{
	return pb_cli_fail(PB_EXIT_INPUT, "%s", pb_errmsg(eb, err));
}

static void print_json(cJSON *j)
{
	char *s = j ? cJSON_Print(j) : NULL;

	if (s)
		printf("%s\n", s);
	free(s);
}

/* "2026-11-20T10:00:00+08:00" as "2026-11-20 10:00". */
static const char *short_time(const cJSON *v, char *buf, size_t n)
{
	const char *s = cJSON_IsString(v) ? v->valuestring : NULL;

	if (!s || strlen(s) < 16)
		return "-";
	snprintf(buf, n, "%.10s %.5s", s, s + 11);
	return buf;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Prints text indented under a timeline entry, one output line per line. */
static void print_block(const char *text)
{
	const char *p = text, *nl;

	while (p && *p) {
		nl = strchr(p, '\n');
		printf("%30s%.*s\n", "", (int)(nl ? nl - p : (long)strlen(p)), p);
		p = nl ? nl + 1 : NULL;
	}
}

static void print_lint(const cJSON *lint, const char *indent)
{
	const cJSON *f;

	if (!cJSON_IsArray(lint) || !cJSON_GetArraySize(lint)) {
		printf("%sreply check: clean\n", indent);
		return;
	}
	cJSON_ArrayForEach(f, lint)
		printf("%sreply check: %s: %s\n", indent, jstr(f, "code") ? jstr(f, "code") : "?",
		       jstr(f, "message") ? jstr(f, "message") : "");
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

/* ---- cases ---- */

int pb_cmd_cases(pb_cli *cli, int argc, char **argv)
{
	pb_store_case_filter f = {"open", 0, 0};
	pb_store_cases l = {NULL, 0};
	args a;
	env e;
	pb_errbuf eb;
	pb_err err;
	size_t i;
	int rc;

	if ((rc = parse(cli, "cases", O_DB | O_JSON | O_STATE | O_SEVERITY | O_KB, argc, argv, &a)) >= 0)
		return rc;
	if (a.first < argc)
		return pb_cli_usage("cases", "unexpected argument '%s'", argv[a.first]);
	if (a.state && strcmp(a.state, "open") && strcmp(a.state, "all") &&
	    pb_case_state_from_name(a.state) < 0)
		return pb_cli_usage("cases", "no state '%s'", a.state);
	if ((rc = env_open(cli, &a, argc, argv, false, false, &e)) >= 0)
		return rc;
	if (a.state)
		f.state = strcmp(a.state, "all") ? a.state : NULL;
	f.min_severity = (int)a.severity;
	eb.msg[0] = '\0';
	if ((err = pb_store_case_list(e.st, &f, &l, &eb))) {
		rc = failed(err, &eb);
		goto out;
	}
	if (a.json) {
		cJSON *arr = cJSON_CreateArray();
		for (i = 0; arr && i < l.n; i++)
			cJSON_AddItemToArray(arr, pb_case_summary_json(&l.v[i], e.tz));
		print_json(arr);
		cJSON_Delete(arr);
	} else if (!l.n) {
		printf("no cases\n");
	} else {
		printf("%-6s %-14s %-3s %-20s %-8s %-18s %-14s %s\n", "ID", "STATE", "SEV", "KIND",
		       "CONTACTS", "CONVERSATION", "ORDER", "UPDATED");
		for (i = 0; i < l.n; i++) {
			const pb_store_case *c = &l.v[i];
			char conv[PB_STORE_MAX_NAME * 2 + 2], tb[40];
			cJSON *t = cJSON_CreateString(pb_time_format((pb_when){c->updated_at, e.tz},
								     tb, sizeof tb));
			snprintf(conv, sizeof conv, "%s:%s", or_dash(c->channel),
				 or_dash(c->conversation));
			printf("%-6lld %-14s %-3d %-20s %-8d %-18s %-14s %s\n", (long long)c->id,
			       c->state, c->severity, c->kind, c->contacts, conv, or_dash(c->order_ref),
			       short_time(t, tb, sizeof tb));
			cJSON_Delete(t);
		}
	}
	rc = fflush(stdout) ? pb_cli_fail(PB_EXIT_INPUT, "writing standard output failed")
			    : PB_EXIT_OK;
out:
	pb_store_cases_release(&l);
	env_release(&e);
	return rc;
}

/* ---- case ---- */

static void print_entry(const cJSON *x)
{
	const char *type = jstr(x, "type");
	char tb[40], tb2[40];
	const cJSON *v;

	if (!type)
		return;
	printf("  %s  ", short_time(cJSON_GetObjectItemCaseSensitive(x, "at"), tb, sizeof tb));
	if (!strcmp(type, "trace")) {
		printf("%-9s %s %s: %s\n", "trace", or_dash(jstr(x, "state")),
		       or_dash(jstr(x, "location")), or_dash(jstr(x, "description")));
	} else if (!strcmp(type, "message")) {
		const cJSON *in = cJSON_GetObjectItemCaseSensitive(x, "intents"), *it;
		printf("%-9s %s %s from %s", "message", or_dash(jstr(x, "direction")),
		       or_dash(jstr(x, "message_id")), or_dash(jstr(x, "author")));
		cJSON_ArrayForEach(it, in)
			printf(" [%s]", cJSON_IsString(it) ? it->valuestring : "?");
		printf("\n");
		print_block(jstr(x, "text"));
	} else if (!strcmp(type, "event")) {
		const char *what = jstr(x, "what");
		if (what && !strcmp(what, "state"))
			printf("%-9s %s -> %s by %s", "state",
			       jstr(x, "from") ? jstr(x, "from") : "(none)", or_dash(jstr(x, "to")),
			       or_dash(jstr(x, "actor")));
		else
			printf("%-9s by %s", or_dash(what), or_dash(jstr(x, "actor")));
		printf("%s%s\n", jstr(x, "note") ? ": " : "", jstr(x, "note") ? jstr(x, "note") : "");
	} else if (!strcmp(type, "draft")) {
		const cJSON *comp = cJSON_GetObjectItemCaseSensitive(x, "compensation");
		const cJSON *cl = cJSON_GetObjectItemCaseSensitive(x, "checklist"), *it;
		printf("%-9s v%.0f (id %.0f) %s: severity %.0f, %s, template %s\n", "draft",
		       jnum(x, "version"), jnum(x, "id"), or_dash(jstr(x, "state")),
		       jnum(x, "severity"), or_dash(jstr(x, "action")), or_dash(jstr(x, "template")));
		printf("%30soffer %s %g %s; follow-up due %s\n", "", or_dash(jstr(comp, "kind")),
		       jnum(comp, "amount"), or_dash(jstr(comp, "currency")),
		       short_time(cJSON_GetObjectItemCaseSensitive(x, "follow_up_due"), tb2,
				  sizeof tb2));
		print_block(jstr(x, "reply"));
		if (jstr(x, "brief")) {
			printf("%30sbrief:\n", "");
			print_block(jstr(x, "brief"));
		}
		cJSON_ArrayForEach(it, cl)
			if (cJSON_IsString(it))
				printf("%30s[ ] %s\n", "", it->valuestring);
		print_lint(cJSON_GetObjectItemCaseSensitive(x, "lint"), "                              ");
	} else if (!strcmp(type, "decision")) {
		printf("%-9s %s by %s", "decision", or_dash(jstr(x, "kind")), or_dash(jstr(x, "agent")));
		v = cJSON_GetObjectItemCaseSensitive(x, "draft");
		if (cJSON_IsNumber(v))
			printf(" (draft %.0f)", v->valuedouble);
		printf("%s%s\n", jstr(x, "reason") ? ": " : "", jstr(x, "reason") ? jstr(x, "reason") : "");
		if (jstr(x, "kind") && !strcmp(jstr(x, "kind"), "approve_edited")) {
			print_block(jstr(x, "text"));
			print_lint(cJSON_GetObjectItemCaseSensitive(x, "lint"),
				   "                              ");
		}
	} else if (!strcmp(type, "note")) {
		printf("%-9s by %s\n", "note", or_dash(jstr(x, "agent")));
		print_block(jstr(x, "text"));
	} else if (!strcmp(type, "reminder")) {
		printf("%-9s %s due %s", "reminder", or_dash(jstr(x, "kind")),
		       short_time(cJSON_GetObjectItemCaseSensitive(x, "due"), tb2, sizeof tb2));
		if (jstr(x, "done_at"))
			printf(", done %s",
			       short_time(cJSON_GetObjectItemCaseSensitive(x, "done_at"), tb2, sizeof tb2));
		if (jstr(x, "escalated_at"))
			printf(", escalated %s",
			       short_time(cJSON_GetObjectItemCaseSensitive(x, "escalated_at"), tb2,
					  sizeof tb2));
		if (jstr(x, "source"))
			printf(" (%s)", jstr(x, "source"));
		printf("\n");
	} else if (!strcmp(type, "action")) {
		printf("%-9s %s %s\n", "action", or_dash(jstr(x, "kind")),
		       jstr(x, "sent_at") ? "confirmed by the channel" : "queued");
	}
}

int pb_cmd_case(pb_cli *cli, int argc, char **argv)
{
	args a;
	env e;
	pb_errbuf eb;
	cJSON *j = NULL, *c, *p, *t, *x;
	pb_err err;
	int rc;

	if ((rc = parse(cli, "case", O_DB | O_JSON | O_KB, argc, argv, &a)) >= 0)
		return rc;
	if (a.first + 1 < argc)
		return pb_cli_usage("case", "unexpected argument '%s'", argv[a.first + 1]);
	if ((rc = env_open(cli, &a, argc, argv, true, false, &e)) >= 0)
		return rc;
	eb.msg[0] = '\0';
	if ((err = pb_case_json(e.st, e.kb, e.id, &j, &eb))) {
		rc = failed(err, &eb);
		goto out;
	}
	if (a.json) {
		print_json(j);
	} else {
		char tb[40], tb2[40];
		c = cJSON_GetObjectItemCaseSensitive(j, "case");
		p = cJSON_GetObjectItemCaseSensitive(j, "parcel");
		printf("case %.0f: %s, %s, severity %.0f, %.0f contact%s\n", jnum(c, "id"),
		       or_dash(jstr(c, "kind")), or_dash(jstr(c, "state")), jnum(c, "severity"),
		       jnum(c, "contacts"), jnum(c, "contacts") == 1 ? "" : "s");
		printf("  conversation %s:%s, buyer %s, order %s, parcel %s %s\n",
		       or_dash(jstr(c, "channel")), or_dash(jstr(c, "conversation")),
		       or_dash(jstr(c, "buyer")), or_dash(jstr(c, "order")), or_dash(jstr(c, "carrier")),
		       or_dash(jstr(c, "number")));
		printf("  opened %s, updated %s, owner %s, outcome %s\n",
		       short_time(cJSON_GetObjectItemCaseSensitive(c, "opened_at"), tb, sizeof tb),
		       short_time(cJSON_GetObjectItemCaseSensitive(c, "updated_at"), tb2, sizeof tb2),
		       or_dash(jstr(c, "owner")), or_dash(jstr(c, "outcome")));
		x = cJSON_GetObjectItemCaseSensitive(p, "assessment");
		if (cJSON_IsObject(x)) {
			const cJSON *an = cJSON_GetObjectItemCaseSensitive(x, "anomalies"), *it;
			printf("  parcel as last seen: %s", or_dash(jstr(x, "state")));
			if (jnum(x, "hours_since_update") > 0)
				printf(", %.0f h without an update", jnum(x, "hours_since_update"));
			cJSON_ArrayForEach(it, an)
				if (cJSON_IsString(it))
					printf("%s%s", it == an->child ? "; anomalies: " : ", ",
					       it->valuestring);
			printf("\n");
		}
		printf("\ntimeline:\n");
		t = cJSON_GetObjectItemCaseSensitive(j, "timeline");
		cJSON_ArrayForEach(x, t)
			print_entry(x);
	}
	rc = fflush(stdout) ? pb_cli_fail(PB_EXIT_INPUT, "writing standard output failed")
			    : PB_EXIT_OK;
out:
	cJSON_Delete(j);
	env_release(&e);
	return rc;
}

/* ---- due ---- */

/* 30m, 2h, 1d, 90s or plain seconds. */
static bool parse_duration(const char *s, int64_t *out)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	int64_t unit = 1;

	if (end == s || v < 0)
		return false;
	if (!strcmp(end, "d"))
		unit = 86400;
	else if (!strcmp(end, "h"))
		unit = 3600;
	else if (!strcmp(end, "m"))
		unit = 60;
	else if (*end && strcmp(end, "s"))
		return false;
	if (v > (long long)(INT64_MAX / 2 / unit))
		return false;
	*out = (int64_t)v * unit;
	return true;
}

static cJSON *reminder_json(const pb_store_reminder *r, int32_t tz)
{
	cJSON *o = cJSON_CreateObject();
	char tb[40];

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "id", (double)r->id);
	cJSON_AddNumberToObject(o, "case", (double)r->case_id);
	cJSON_AddStringToObject(o, "kind", r->kind);
	cJSON_AddStringToObject(o, "due", pb_time_format((pb_when){r->due, tz}, tb, sizeof tb));
	if (r->escalated_at)
		cJSON_AddStringToObject(o, "escalated_at",
					pb_time_format((pb_when){r->escalated_at, tz}, tb, sizeof tb));
	else
		cJSON_AddNullToObject(o, "escalated_at");
	cJSON_AddStringToObject(o, "case_state", r->case_state);
	cJSON_AddNumberToObject(o, "severity", r->severity);
	if (r->source)
		cJSON_AddStringToObject(o, "source", r->source);
	else
		cJSON_AddNullToObject(o, "source");
	return o;
}

int pb_cmd_due(pb_cli *cli, int argc, char **argv)
{
	pb_store_reminders l = {NULL, 0};
	int64_t within = 7200;
	size_t i, escalated = 0, n_over = 0;
	args a;
	env e;
	pb_errbuf eb;
	pb_err err;
	int rc;

	if ((rc = parse(cli, "due", O_DB | O_JSON | O_WITHIN | O_ESCALATE | O_NOW | O_AS | O_KB, argc,
			argv, &a)) >= 0)
		return rc;
	if (a.first < argc)
		return pb_cli_usage("due", "unexpected argument '%s'", argv[a.first]);
	if (a.within && !parse_duration(a.within, &within))
		return pb_cli_usage("due", "--within needs a duration such as 30m, 2h or 1d, not '%s'",
				    a.within);
	if ((rc = env_open(cli, &a, argc, argv, false, a.escalate, &e)) >= 0)
		return rc;
	eb.msg[0] = '\0';
	if (a.escalate && (err = pb_case_escalate_overdue(e.st, e.kb, e.now, e.agent, &escalated, &eb))) {
		rc = failed(err, &eb);
		goto out;
	}
	if ((err = pb_store_reminder_due(e.st, e.now + within, &l, &eb))) {
		rc = failed(err, &eb);
		goto out;
	}
	for (i = 0; i < l.n; i++)
		n_over += l.v[i].due <= e.now;
	if (a.json) {
		cJSON *o = cJSON_CreateObject(), *over, *up;
		over = cJSON_AddArrayToObject(o, "overdue");
		up = cJSON_AddArrayToObject(o, "upcoming");
		for (i = 0; o && i < l.n; i++)
			cJSON_AddItemToArray(l.v[i].due <= e.now ? over : up, reminder_json(&l.v[i], e.tz));
		if (a.escalate)
			cJSON_AddNumberToObject(o, "escalated_now", (double)escalated);
		print_json(o);
		cJSON_Delete(o);
	} else {
		char tb[40];
		if (a.escalate)
			printf("escalated %zu overdue reminder%s to a supervisor\n", escalated,
			       escalated == 1 ? "" : "s");
		printf("%zu overdue, %zu due within %s\n", n_over, l.n - n_over,
		       a.within ? a.within : "2h");
		for (i = 0; i < l.n; i++) {
			const pb_store_reminder *r = &l.v[i];
			cJSON *t = cJSON_CreateString(pb_time_format((pb_when){r->due, e.tz}, tb,
								     sizeof tb));
			int64_t d = r->due - e.now;
			printf("  %-8s case %-6lld %-12s due %s (%s%lldh%02lldm%s)%s  [%s, severity %d]\n",
			       d <= 0 ? "OVERDUE" : "upcoming", (long long)r->case_id, r->kind,
			       short_time(t, tb, sizeof tb), d <= 0 ? "" : "in ",
			       (long long)((d < 0 ? -d : d) / 3600), (long long)((d < 0 ? -d : d) % 3600 / 60),
			       d <= 0 ? " late" : "", r->escalated_at ? " escalated" : "", r->case_state,
			       r->severity);
			cJSON_Delete(t);
		}
	}
	rc = fflush(stdout) ? pb_cli_fail(PB_EXIT_INPUT, "writing standard output failed")
			    : PB_EXIT_OK;
out:
	pb_store_reminders_release(&l);
	env_release(&e);
	return rc;
}

/* ---- approve, reject, escalate, note, resolve, close ---- */

static bool read_text(const char *path, pb_buf *b)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	bool ok = true;
	pb_err err;

	if (!f) {
		pb_cli_fail(PB_EXIT_INPUT, "cannot open %s", path);
		return false;
	}
	if ((err = pb_buf_read(b, f))) {
		pb_cli_fail(PB_EXIT_INPUT, err == PB_EIO ? "reading %s failed"
							 : "%s is too long for a reply",
			    path);
		ok = false;
	}
	if (f != stdin)
		(void)fclose(f); /* read only */
	/* An editor's final newline is not part of the reply. */
	while (ok && b->len && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == '\r'))
		b->data[--b->len] = '\0';
	if (ok && !b->len) {
		pb_cli_fail(PB_EXIT_INPUT, "%s is empty", path);
		ok = false;
	}
	if (ok && !pb_utf8_valid(b->data, b->len)) {
		pb_cli_fail(PB_EXIT_INPUT, "%s is not valid UTF-8", path);
		ok = false;
	}
	return ok;
}

int pb_cmd_approve(pb_cli *cli, int argc, char **argv)
{
	pb_case_approval ap;
	pb_buf text;
	args a;
	env e;
	pb_errbuf eb;
	pb_err err;
	size_t i;
	int rc;

	if ((rc = parse(cli, "approve", O_DB | O_AS | O_NOW | O_JSON | O_TEXT | O_DRAFT | O_KB, argc,
			argv, &a)) >= 0)
		return rc;
	if (a.first + 1 < argc)
		return pb_cli_usage("approve", "unexpected argument '%s' (an edited reply goes in "
					       "a file: --text FILE)", argv[a.first + 1]);
	pb_buf_init(&text, 16384);
	if (a.text && !read_text(a.text, &text)) {
		pb_buf_release(&text);
		return PB_EXIT_INPUT;
	}
	if ((rc = env_open(cli, &a, argc, argv, true, true, &e)) >= 0) {
		pb_buf_release(&text);
		return rc;
	}
	eb.msg[0] = '\0';
	err = pb_case_approve(e.st, e.kb, e.id, a.draft, a.text ? text.data : NULL, e.agent, e.now,
			      &ap, &eb);
	if (err) {
		rc = failed(err, &eb);
		goto out;
	}
	if (a.json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "case", (double)e.id);
		cJSON_AddNumberToObject(o, "draft", (double)ap.draft_id);
		cJSON_AddNumberToObject(o, "version", ap.version);
		cJSON_AddNumberToObject(o, "decision", (double)ap.decision_id);
		cJSON_AddStringToObject(o, "kind", ap.edited ? "approve_edited" : "approve");
		cJSON_AddNumberToObject(o, "outbox", (double)ap.outbox_id);
		cJSON_AddNumberToObject(o, "reminders", (double)ap.reminders);
		cJSON_AddItemToObject(o, "lint",
				      pb_lint_json(&ap.lint, a.text ? text.data : NULL));
		print_json(o);
		cJSON_Delete(o);
	} else {
		printf("case %lld: draft v%d approved%s by %s; reply queued for sending; %zu "
		       "reminder%s set\n",
		       (long long)e.id, ap.version, ap.edited ? " with your edits" : "", e.agent,
		       ap.reminders, ap.reminders == 1 ? "" : "s");
		if (ap.edited && !ap.lint.n)
			printf("reply check: clean\n");
		for (i = 0; i < ap.lint.n; i++)
			printf("reply check: %s: %s\n", pb_lint_code_name(ap.lint.f[i].code),
			       ap.lint.f[i].msg);
	}
	rc = PB_EXIT_OK;
out:
	pb_buf_release(&text);
	env_release(&e);
	return rc;
}

int pb_cmd_reject(pb_cli *cli, int argc, char **argv)
{
	args a;
	env e;
	pb_errbuf eb;
	pb_err err;
	int rc;

	if ((rc = parse(cli, "reject", O_DB | O_AS | O_NOW | O_REASON | O_KB, argc, argv, &a)) >= 0)
		return rc;
	if (!a.reason || !*a.reason)
		return pb_cli_usage("reject", "say why: --reason TEXT");
	if (a.first + 1 < argc)
		return pb_cli_usage("reject", "unexpected argument '%s'", argv[a.first + 1]);
	if ((rc = env_open(cli, &a, argc, argv, true, true, &e)) >= 0)
		return rc;
	eb.msg[0] = '\0';
	if ((err = pb_case_reject(e.st, e.id, a.reason, e.agent, e.now, &eb)))
		rc = failed(err, &eb);
	else
		printf("case %lld: draft rejected by %s; the case stays open\n", (long long)e.id,
		       e.agent);
	env_release(&e);
	return err ? rc : PB_EXIT_OK;
}

int pb_cmd_escalate(pb_cli *cli, int argc, char **argv)
{
	args a;
	env e;
	pb_errbuf eb;
	pb_err err;
	int rc;

	if ((rc = parse(cli, "escalate", O_DB | O_AS | O_NOW | O_REASON | O_KB, argc, argv, &a)) >= 0)
		return rc;
	if (a.first + 1 < argc)
		return pb_cli_usage("escalate", "unexpected argument '%s'", argv[a.first + 1]);
	if ((rc = env_open(cli, &a, argc, argv, true, true, &e)) >= 0)
		return rc;
	eb.msg[0] = '\0';
	if ((err = pb_case_escalate(e.st, e.id, a.reason && *a.reason ? a.reason : NULL, e.agent,
				    e.now, &eb)))
		rc = failed(err, &eb);
	else
		printf("case %lld: escalated by %s; handed to a human\n", (long long)e.id, e.agent);
	env_release(&e);
	return err ? rc : PB_EXIT_OK;
}

int pb_cmd_note(pb_cli *cli, int argc, char **argv)
{
	pb_buf text;
	pb_id note_id = 0;
	args a;
	env e;
	pb_errbuf eb;
	pb_err err = PB_OK;
	int rc, i;

	if ((rc = parse(cli, "note", O_DB | O_AS | O_NOW | O_KB, argc, argv, &a)) >= 0)
		return rc;
	if (a.first + 1 >= argc)
		return pb_cli_usage("note", "give the case ID and the note's text");
	pb_buf_init(&text, 16384);
	for (i = a.first + 1; i < argc; i++)
		if ((i > a.first + 1 && pb_buf_putc(&text, ' ')) || pb_buf_puts(&text, argv[i])) {
			pb_buf_release(&text);
			return pb_cli_fail(PB_EXIT_INPUT, "the note is too long");
		}
	if (!pb_utf8_valid(text.data, text.len)) {
		pb_buf_release(&text);
		return pb_cli_fail(PB_EXIT_INPUT, "the note is not valid UTF-8");
	}
	if ((rc = env_open(cli, &a, argc, argv, true, true, &e)) >= 0) {
		pb_buf_release(&text);
		return rc;
	}
	eb.msg[0] = '\0';
	if ((err = pb_case_note(e.st, e.id, text.data, e.agent, e.now, &note_id, &eb)))
		rc = failed(err, &eb);
	else
		printf("case %lld: note %lld added by %s\n", (long long)e.id, (long long)note_id,
		       e.agent);
	pb_buf_release(&text);
	env_release(&e);
	return err ? rc : PB_EXIT_OK;
}

int pb_cmd_resolve(pb_cli *cli, int argc, char **argv)
{
	args a;
	env e;
	pb_errbuf eb;
	pb_err err;
	int rc;

	if ((rc = parse(cli, "resolve", O_DB | O_AS | O_NOW | O_OUTCOME | O_KB, argc, argv, &a)) >= 0)
		return rc;
	if (!a.outcome)
		return pb_cli_usage("resolve", "say how it ended: --outcome (%s)", pb_case_outcomes());
	if (!pb_case_outcome_valid(a.outcome))
		return pb_cli_usage("resolve", "unknown outcome '%s' (one of: %s)", a.outcome,
				    pb_case_outcomes());
	if (a.first + 1 < argc)
		return pb_cli_usage("resolve", "unexpected argument '%s'", argv[a.first + 1]);
	if ((rc = env_open(cli, &a, argc, argv, true, true, &e)) >= 0)
		return rc;
	eb.msg[0] = '\0';
	if ((err = pb_case_resolve(e.st, e.kb, e.id, a.outcome, e.agent, e.now, &eb))) {
		rc = failed(err, &eb);
	} else {
		char tb[40];
		int64_t due = pb_case_service_due(e.kb->policy, PB_REM_CHECK_BACK, e.now);
		printf("case %lld: resolved (%s) by %s; check back with the buyer by %s\n",
		       (long long)e.id, a.outcome, e.agent,
		       pb_time_format((pb_when){due, e.tz}, tb, sizeof tb));
	}
	env_release(&e);
	return err ? rc : PB_EXIT_OK;
}

int pb_cmd_close(pb_cli *cli, int argc, char **argv)
{
	args a;
	env e;
	pb_errbuf eb;
	pb_err err;
	int rc;

	if ((rc = parse(cli, "close", O_DB | O_AS | O_NOW | O_KB, argc, argv, &a)) >= 0)
		return rc;
	if (a.first + 1 < argc)
		return pb_cli_usage("close", "unexpected argument '%s'", argv[a.first + 1]);
	if ((rc = env_open(cli, &a, argc, argv, true, true, &e)) >= 0)
		return rc;
	eb.msg[0] = '\0';
	if ((err = pb_case_close(e.st, e.id, e.agent, e.now, &eb)))
		rc = failed(err, &eb);
	else
		printf("case %lld: closed by %s\n", (long long)e.id, e.agent);
	env_release(&e);
	return err ? rc : PB_EXIT_OK;
}
