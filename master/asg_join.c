/*
 * asg_join.c - the ids of aws-asg agents waiting for their check (see
 * asg_join.h).
 */
#include "master/asg_join.h"

#include "master/token.h"

#include "common/util.h"

#include <openssl/crypto.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

enum aj_state { AJ_NEW = 1, AJ_ASKED, AJ_REFUSED, AJ_UNKNOWN };

struct aj_entry {
	enum aj_state	 state;		/* 0: a free slot */
	int64_t		 grid_id;
	int64_t		 group_id;
	int64_t		 at;		/* mono ms of the last change */
	char		 id[256];
	char		 why[256];
};

static pthread_mutex_t	 aj_lock = PTHREAD_MUTEX_INITIALIZER;
static struct aj_entry	 aj[ASG_JOIN_MAX];

static struct aj_entry *
aj_find(int64_t group_id, const char *id)
{
	size_t i;

	for (i = 0; i < ASG_JOIN_MAX; i++)
		if (aj[i].state != 0 && aj[i].group_id == group_id &&
		    strcmp(aj[i].id, id) == 0)
			return &aj[i];
	return NULL;
}

/* A free slot, or one whose refusal or question is old. */
static struct aj_entry *
aj_slot(int64_t now)
{
	size_t i;

	for (i = 0; i < ASG_JOIN_MAX; i++)
		if (aj[i].state == 0 || ((aj[i].state == AJ_REFUSED ||
		    aj[i].state == AJ_UNKNOWN) &&
		    now - aj[i].at > ASG_JOIN_REFUSED_MS) ||
		    now - aj[i].at > 2 * ASG_JOIN_ASKED_MS)
			return &aj[i];
	return NULL;
}

enum asg_join_verdict
asg_join_note(int64_t grid_id, int64_t group_id, const char *id, char *why,
    size_t whylen)
{
	int64_t now = util_mono_ms();
	struct aj_entry *e;
	enum asg_join_verdict v = ASG_JOIN_WAIT;

	why[0] = '\0';
	pthread_mutex_lock(&aj_lock);
	if ((e = aj_find(group_id, id)) != NULL) {
		if (e->state == AJ_UNKNOWN && now - e->at <=
		    ASG_JOIN_REFUSED_MS) {
			/* Said once: the agent joins as a pending node (and
			 * comes back with that node's token). */
			snprintf(why, whylen, "%s", e->why);
			memset(e, 0, sizeof *e);
			v = ASG_JOIN_PENDING;
		} else if (e->state == AJ_REFUSED && now - e->at <=
		    ASG_JOIN_REFUSED_MS) {
			snprintf(why, whylen, "%s", e->why);
			v = ASG_JOIN_REFUSED;
		} else if (e->state == AJ_REFUSED || e->state == AJ_UNKNOWN ||
		    (e->state == AJ_ASKED && now - e->at > ASG_JOIN_ASKED_MS)) {
			e->state = AJ_NEW;	/* checked again */
			e->at = now;
		}
	} else if ((e = aj_slot(now)) != NULL) {
		memset(e, 0, sizeof *e);
		e->state = AJ_NEW;
		e->grid_id = grid_id;
		e->group_id = group_id;
		e->at = now;
		snprintf(e->id, sizeof e->id, "%s", id);
	} else {
		snprintf(why, whylen, "too many instance ids waiting for their "
		    "check (%d)", ASG_JOIN_MAX);
		v = ASG_JOIN_REFUSED;
	}
	pthread_mutex_unlock(&aj_lock);
	return v;
}

size_t
asg_join_take(int64_t grid_id, struct asg_join_ask *out, size_t max)
{
	int64_t now = util_mono_ms();
	size_t i, n = 0;

	pthread_mutex_lock(&aj_lock);
	for (i = 0; i < ASG_JOIN_MAX && n < max; i++) {
		if (aj[i].state != AJ_NEW || aj[i].grid_id != grid_id)
			continue;
		aj[i].state = AJ_ASKED;
		aj[i].at = now;
		out[n].group_id = aj[i].group_id;
		snprintf(out[n].id, sizeof out[n].id, "%s", aj[i].id);
		n++;
	}
	pthread_mutex_unlock(&aj_lock);
	return n;
}

void
asg_join_bound(int64_t group_id, const char *id)
{
	struct aj_entry *e;

	pthread_mutex_lock(&aj_lock);
	if ((e = aj_find(group_id, id)) != NULL)
		memset(e, 0, sizeof *e);
	pthread_mutex_unlock(&aj_lock);
}

void
asg_join_refuse(int64_t group_id, const char *id, const char *why)
{
	struct aj_entry *e;

	pthread_mutex_lock(&aj_lock);
	if ((e = aj_find(group_id, id)) != NULL) {
		e->state = AJ_REFUSED;
		e->at = util_mono_ms();
		snprintf(e->why, sizeof e->why, "%s", why);
	}
	pthread_mutex_unlock(&aj_lock);
}

void
asg_join_unknown(int64_t group_id, const char *id, const char *why)
{
	struct aj_entry *e;

	pthread_mutex_lock(&aj_lock);
	if ((e = aj_find(group_id, id)) != NULL) {
		e->state = AJ_UNKNOWN;
		e->at = util_mono_ms();
		snprintf(e->why, sizeof e->why, "%s", why);
	}
	pthread_mutex_unlock(&aj_lock);
}

void
asg_join_retry(int64_t group_id, const char *id)
{
	struct aj_entry *e;

	pthread_mutex_lock(&aj_lock);
	if ((e = aj_find(group_id, id)) != NULL) {
		e->state = AJ_NEW;
		e->at = util_mono_ms();
	}
	pthread_mutex_unlock(&aj_lock);
}

void
asg_join_hash(const unsigned char *group_hash, const char *id,
    unsigned char out[32])
{
	char buf[64 + 1 + 256 + 1];
	size_t i;

	for (i = 0; i < 32; i++)
		snprintf(buf + 2 * i, 3, "%02x", group_hash[i]);
	snprintf(buf + 64, sizeof buf - 64, ":%.255s", id);
	token_hash(buf, out);
	OPENSSL_cleanse(buf, sizeof buf);
}
