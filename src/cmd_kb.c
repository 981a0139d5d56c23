/*
 * `parcelbot kb check`: load and validate a knowledge base, then prove that
 * every example still classifies as the intent or signal it illustrates, that
 * no counter-example does, and that the prefilter changes no result.
 */
#include <getopt.h>
#include <string.h>

#include "parcelbot/classify.h"
#include "parcelbot/cli.h"
#include "parcelbot/prefilter.h"
#include "parcelbot/replies.h"

const char pb_usage_kb[] =
	"usage: parcelbot kb check [DIR]\n"
	"       parcelbot kb templates [DIR]\n"
	"\n"
	"Loads the knowledge base in DIR (default: the one parcelbot would use) and\n"
	"checks it: every file parses, every key is known, every id is unique,\n"
	"every reference resolves and every regex compiles. Then each intent's and\n"
	"signal's examples must classify as that intent or signal, and none of its\n"
	"not_examples may. Errors are printed as file:line:col: message.\n"
	"\n"
	"\n"
	"'kb templates' lists the reply templates, one id per line, with the file\n"
	"and line where each is written.\n"
	"\n"
	"Exit status: 0 when the knowledge base is sound, 2 otherwise.\n";

static bool same_verdict(const pb_verdict *a, const pb_verdict *b)
{
	return a->intents == b->intents && a->signals == b->signals &&
	       a->ent.n_orders == b->ent.n_orders && a->ent.n_tracking == b->ent.n_tracking &&
	       a->ent.has_quantity == b->ent.has_quantity &&
	       a->ent.n_durations == b->ent.n_durations;
}

/* Classifies one example; returns the number of problems found. */
static int check_one(const pb_kb *kb, pb_classifier *fast, pb_classifier *slow, size_t ri,
		     const char *text, bool want)
{
	const pb_rule *r = &kb->rules[ri];
	pb_verdict v, w;
	pb_errbuf eb;
	bool has;
	int bad = 0;

	if (pb_classify(fast, text, strlen(text), &v, &eb) ||
	    pb_classify(slow, text, strlen(text), &w, &eb)) {
		fprintf(stderr, "%s:%d:%d: %s: example \"%s\": %s\n", r->file, r->line, r->col, r->id,
			text, eb.msg);
		return 1;
	}
	has = ri < kb->n_intents ? (v.intents >> ri) & 1 : (v.signals >> (ri - kb->n_intents)) & 1;
	if (has != want) {
		fprintf(stderr, "%s:%d:%d: %s: %s \"%s\" %s\n", r->file, r->line, r->col, r->id,
			want ? "example" : "not_example", text,
			want ? "does not classify as this" : "classifies as this");
		bad++;
	}
	if (!same_verdict(&v, &w)) {
		fprintf(stderr, "%s:%d:%d: %s: the prefilter changes the result for \"%s\"\n",
			r->file, r->line, r->col, r->id, text);
		bad++;
	}
	return bad;
}

int pb_cmd_kb(pb_cli *cli, int argc, char **argv)
{
	pb_kb *kb;
	pb_classifier *fast = NULL, *slow = NULL;
	size_t i, j, examples = 0, always = 0, npat = 0, nbranch = 0;
	int bad = 0;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		if (argc < 2)
			return pb_cli_usage("kb", "missing subcommand (try 'parcelbot kb check')");
		pb_cli_help(pb_cli_find("kb"));
		return PB_EXIT_OK;
	}
	if (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "templates") != 0)
		return pb_cli_usage("kb", "unknown subcommand '%s'", argv[1]);
	if (argc > 3)
		return pb_cli_usage("kb", "too many arguments");
	if (argc == 3)
		cli->kb_dir = argv[2];
	kb = pb_cli_load_kb(cli);
	if (!kb)
		return PB_EXIT_INPUT;
	if (!strcmp(argv[1], "templates")) {
		for (i = 0; i < kb->replies->n; i++)
			printf("%s\t%s:%d\n", kb->replies->t[i].id, kb->replies->t[i].file,
			       kb->replies->t[i].line);
		pb_kb_unref(kb);
		return PB_EXIT_OK;
	}
	fast = pb_classifier_new(kb);
	slow = pb_classifier_new(kb);
	if (!fast || !slow) {
		bad = 1;
		pb_cli_fail(PB_EXIT_INPUT, "out of memory");
		goto out;
	}
	pb_classifier_use_prefilter(slow, false);
	for (i = 0; i < kb->n_rules; i++) {
		const pb_rule *r = &kb->rules[i];
		for (j = 0; j < r->examples.n; j++, examples++)
			bad += check_one(kb, fast, slow, i, r->examples.v[j], true);
		for (j = 0; j < r->not_examples.n; j++, examples++)
			bad += check_one(kb, fast, slow, i, r->not_examples.v[j], false);
	}
	for (i = 0; i < kb->n_patterns; i++) {
		if (kb->patterns[i].role == PB_PAT_SHAPE)
			continue;
		/* Split branches share their pattern's id; count authored ones. */
		if (!i || strcmp(kb->patterns[i].id, kb->patterns[i - 1].id))
			npat++;
		nbranch++;
		if (!kb->patterns[i].n_factors)
			always++;
	}
	printf("%s: %zu intents, %zu signals, %zu carriers, %zu patterns (%zu branches, %zu always "
	       "tried), %zu prefilter literals, %zu examples checked, %d problem%s%s\n",
	       kb->dir, kb->n_intents, kb->n_rules - kb->n_intents, kb->n_carriers, npat, nbranch,
	       always,
	       pb_prefilter_literals(kb->pf), examples, bad, bad == 1 ? "" : "s",
	       kb->jit ? "" : " (PCRE2 JIT unavailable: matching is slower)");
out:
	pb_classifier_free(fast);
	pb_classifier_free(slow);
	pb_kb_unref(kb);
	return bad ? PB_EXIT_INPUT : PB_EXIT_OK;
}
