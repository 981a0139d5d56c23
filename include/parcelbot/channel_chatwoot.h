/*
 * The Chatwoot channel: buyers write in a Chatwoot inbox, parcelbot answers
 * there as an Agent Bot. Chatwoot posts every `message_created` event to
 * https://HOST/webhooks/chatwoot/<secret>; the adapter turns a contact's
 * public message into a "message" event and an agent's private note that
 * is a command (/send, /reject, ...) into a "command" event, and ignores
 * everything else, its own messages above all (they come back as
 * message_created with sender.type "agent_bot").
 *
 * Actions go to Chatwoot's application API under
 * {url}/api/v1/accounts/{account_id}, authenticated with the
 * `api_access_token` header: drafts, hand-off briefs and overdue notices
 * are private notes agents see and buyers never do; an approved reply is a
 * public outgoing message; a hand-off also adds the escalation label
 * (merged with the labels already there, since Chatwoot's POST replaces
 * the set) and opens the conversation. Order lookups are not supported.
 *
 * Before resending an action whose earlier attempt may have arrived
 * (attempt > 0), the adapter reads the conversation's recent messages and
 * treats one with the same text and visibility, created no earlier than
 * PB_CHATWOOT_CLOCK_SLACK seconds before the action was queued, as that
 * earlier attempt delivered. The slack absorbs clock skew between parcelbot
 * and Chatwoot: without it a delivered reply timestamped a second "early"
 * by Chatwoot's clock would be sent twice.
 */
#ifndef PARCELBOT_CHANNEL_CHATWOOT_H
#define PARCELBOT_CHANNEL_CHATWOOT_H

#include "parcelbot/buf.h"
#include "parcelbot/channel.h"
#include "parcelbot/config.h"
#include "parcelbot/err.h"

struct cJSON;
struct pb_http;

#define PB_CHATWOOT_CLOCK_SLACK 120

/* Creates the adapter (named "chatwoot"). The strings in cfg are copied;
 * http is borrowed and must outlive the channel. cfg needs url,
 * account_id, api_token and webhook_secret; escalate_label defaults to
 * "parcel-escalated". On success *out owns the channel, freed with
 * pb_channel_free. */
pb_err pb_chatwoot_new(const pb_chatwoot_config *cfg, struct pb_http *http, pb_channel **out,
		       pb_errbuf *eb);

/* Appends the text of the private note or message that action a posts
 * (post_draft: header, draft, checklist, lint findings, what to type;
 * hand_off: the brief; notify_supervisor: what is overdue; send_reply:
 * a->text unchanged), in Chinese when a->lang is "zh". Pure: the same
 * action always gives the same text, which is what the resend check
 * compares. */
pb_err pb_chatwoot_render(const pb_chan_action *a, pb_buf *out);

/* The resend check's reading of a messages-list answer (an object with a
 * "payload" array, or the array itself): true when it holds an outgoing
 * message with this content and visibility created no earlier than
 * since - PB_CHATWOOT_CLOCK_SLACK; its id then goes to ext ("" when it has
 * none). Pure, exposed for the tests. */
bool pb_chatwoot_find_message(const struct cJSON *answer, const char *content, bool priv,
			      int64_t since, char *ext, size_t n);

#endif
