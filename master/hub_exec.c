/*
 * hub_exec.c - exec sessions as the hub sees them: the relay's messages to
 * agents, the agents' frames to the relay (docs/exec.md).
 *
 * ws thread only. Each agent session keeps the ids of the exec sessions
 * the relay started on it (struct hub_exec in hub_int.h), so an agent can
 * only speak for its own sessions: frames naming another id are dropped
 * (a cancelled session's last frames race its cancel; that is no fault).
 * The hub enforces the output window the agent must keep: the bytes it
 * sent for a session minus those the relay acknowledged may not pass
 * PROTO_EXEC_WINDOW, or the agent is closed with 4010 (malformed frame),
 * so no agent can make the master buffer more than its windows. When an
 * agent's session ends, each of its exec sessions is told lost.
 */
#include "master/hub_int.h"
#include "master/exec_relay.h"

#include "common/log.h"
#include "common/proto.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

static struct hub_exec *
hub_exec_find(struct hub_sess *s, uint32_t id)
{
	size_t i;

	for (i = 0; i < s->nexecs; i++)
		if (s->execs[i].id == id)
			return &s->execs[i];
	return NULL;
}

static void
hub_exec_forget(struct hub_sess *s, uint32_t id)
{
	size_t i;

	for (i = 0; i < s->nexecs; i++) {
		if (s->execs[i].id == id) {
			s->execs[i] = s->execs[--s->nexecs];
			return;
		}
	}
}

static void
hub_exec_lost(struct hub *h, uint32_t id, const char *why)
{
	if (h->m->exec != NULL)
		exec_relay_from_agent(h->m->exec, id, EXEC_FA_LOST, why,
		    strlen(why), 0);
}

void
hub_exec_to_agent(struct hub *h, struct hub_sess *s, struct hub_msg *msg)
{
	struct hub_exec *e;
	unsigned char *f;
	char why[128];

	if (s == NULL || !s->authed) {
		if (msg->exec_op == HUB_EXEC_START) {
			snprintf(why, sizeof why, "the node is not connected");
			hub_exec_lost(h, msg->exec_id, why);
		}
		return;
	}
	e = hub_exec_find(s, msg->exec_id);
	switch (msg->exec_op) {
	case HUB_EXEC_START:
		if (e == NULL) {
			s->execs = xreallocarray(s->execs, s->nexecs + 1,
			    sizeof *s->execs);
			e = &s->execs[s->nexecs++];
			e->id = msg->exec_id;
			e->unacked = 0;
		}
		hub_queue_raw(s, HUB_OUT_FRAME, msg->data, msg->len);
		break;
	case HUB_EXEC_CONTROL:
		if (e != NULL)
			hub_queue_raw(s, HUB_OUT_FRAME, msg->data, msg->len);
		break;
	case HUB_EXEC_STDIN:
		if (e == NULL)
			break;
		f = xmalloc(PROTO_EXEC_HDR + msg->len);
		f[0] = PROTO_EXEC_STDIN;
		f[1] = (unsigned char)(msg->exec_id >> 24);
		f[2] = (unsigned char)(msg->exec_id >> 16);
		f[3] = (unsigned char)(msg->exec_id >> 8);
		f[4] = (unsigned char)msg->exec_id;
		memcpy(f + PROTO_EXEC_HDR, msg->data, msg->len);
		hub_queue_raw(s, HUB_OUT_BINARY, f, PROTO_EXEC_HDR + msg->len);
		free(f);
		break;
	case HUB_EXEC_ACK:
		if (e == NULL)
			break;
		e->unacked -= msg->num;
		if (e->unacked < 0)
			e->unacked = 0;
		hub_queue_json(s, json_pack("{s:s, s:I, s:I}", "type",
		    PROTO_T_EXEC_ACK, "id", (json_int_t)msg->exec_id,
		    "bytes", (json_int_t)msg->num));
		break;
	case HUB_EXEC_CANCEL:
		if (e == NULL)
			break;
		hub_queue_json(s, json_pack("{s:s, s:I}", "type",
		    PROTO_T_EXEC_CANCEL, "id", (json_int_t)msg->exec_id));
		hub_exec_forget(s, msg->exec_id);
		break;
	}
}

void
hub_exec_from_agent(struct hub *h, struct hub_sess *s, json_t *f,
    enum frame_type type)
{
	uint32_t id = (uint32_t)json_integer_value(json_object_get(f, "id"));
	const char *err;
	json_t *v;

	if (hub_exec_find(s, id) == NULL || h->m->exec == NULL)
		return;		/* not (or no longer) one of its sessions */
	switch (type) {
	case FRAME_EXEC_STARTED:
		exec_relay_from_agent(h->m->exec, id, EXEC_FA_STARTED, NULL, 0,
		    0);
		break;
	case FRAME_EXEC_ACK:
		exec_relay_from_agent(h->m->exec, id, EXEC_FA_ACK, NULL, 0,
		    json_integer_value(json_object_get(f, "bytes")));
		break;
	case FRAME_EXEC_END:
		v = json_object_get(f, "exit_code");
		err = json_string_value(json_object_get(f, "error"));
		if (json_is_integer(v))
			exec_relay_from_agent(h->m->exec, id, EXEC_FA_END, NULL,
			    0, json_integer_value(v));
		else
			exec_relay_from_agent(h->m->exec, id, EXEC_FA_END, err,
			    strlen(err), 0);
		hub_exec_forget(s, id);
		break;
	default:
		break;
	}
}

void
hub_exec_data_from_agent(struct hub *h, struct hub_sess *s,
    const unsigned char *data, size_t len)
{
	struct hub_exec *e;
	uint32_t id;
	char why[96];

	if (len < PROTO_EXEC_HDR || (data[0] != PROTO_EXEC_STDOUT &&
	    data[0] != PROTO_EXEC_STDERR) ||
	    len - PROTO_EXEC_HDR > PROTO_EXEC_CHUNK) {
		log_warn("hub: node %s: malformed exec data frame", s->name);
		hub_close(s, PROTO_CLOSE_BAD_FRAME, "malformed exec data "
		    "frame");
		return;
	}
	id = ((uint32_t)data[1] << 24) | ((uint32_t)data[2] << 16) |
	    ((uint32_t)data[3] << 8) | data[4];
	if ((e = hub_exec_find(s, id)) == NULL || h->m->exec == NULL)
		return;
	e->unacked += (int64_t)(len - PROTO_EXEC_HDR);
	if (e->unacked > PROTO_EXEC_WINDOW) {
		snprintf(why, sizeof why, "exec %u: output over its window",
		    id);
		log_warn("hub: node %s: %s", s->name, why);
		hub_close(s, PROTO_CLOSE_BAD_FRAME, why);
		return;
	}
	exec_relay_from_agent(h->m->exec, id, EXEC_FA_DATA,
	    data + PROTO_EXEC_HDR, len - PROTO_EXEC_HDR, data[0]);
}

void
hub_exec_sess_end(struct hub *h, struct hub_sess *s)
{
	char why[128];
	size_t i;

	snprintf(why, sizeof why, "node %s disconnected during the exec",
	    s->name[0] != '\0' ? s->name : "?");
	for (i = 0; i < s->nexecs; i++)
		hub_exec_lost(h, s->execs[i].id, why);
	free(s->execs);
	s->execs = NULL;
	s->nexecs = 0;
}
