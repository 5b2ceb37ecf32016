/*
 * exec_relay.h - the master's exec relay: one thread that carries every
 * exec session between the operator's websocket (a socket libmicrohttpd
 * handed over after the upgrade) and the hub, which talks to the agent
 * (docs/exec.md).
 *
 * Threads: api_exec.c (API pool) reserves a slot and hands the upgraded
 * socket over with exec_relay_adopt(); the hub (ws thread) hands the
 * agent's frames in with exec_relay_from_agent(); the relay thread owns
 * every session and speaks RFC 6455 (common/wsframe.h) to the operator
 * and hub_exec_send() to the hub. Nothing blocks another thread: both
 * entry points queue under a mutex and wake the relay's poll() through an
 * eventfd, and each session's output is bounded by its window
 * (PROTO_EXEC_WINDOW): the relay acknowledges output only once it has
 * written it to the operator's socket.
 */
#ifndef BERTH_EXEC_RELAY_H
#define BERTH_EXEC_RELAY_H

#include "master/master.h"

#include <stddef.h>
#include <stdint.h>

#define EXEC_RELAY_MAX	256	/* sessions at once, on this master */

struct MHD_UpgradeResponseHandle;
struct exec_relay;

/* What the API decided: where to run what (owned strings). */
struct exec_target {
	int64_t		 grid_id;		/* for the events */
	char		 node_id[NODE_ID_LEN + 1]; /* the agent */
	char		 node[64];		/* its name */
	char		 container[192];	/* container name */
	char		*cmd_json;		/* the command, a JSON array */
	int		 tty;			/* a pseudo-terminal (-t) */
	int		 want_stdin;		/* stdin attached (-i) */
	int		 rows, cols;		/* first terminal size */
	uint32_t	 id;			/* exec_relay_reserve()'s */
	struct exec_relay *relay;		/* whose slot it holds */
};
void	 exec_target_free(struct exec_target *t);	/* NULL is a no-op */

/* What an agent sent about a session (exec_relay_from_agent()). */
enum exec_from_agent {
	EXEC_FA_STARTED,	/* the exec runs */
	EXEC_FA_DATA,		/* data: output bytes; num: their stream */
	EXEC_FA_ACK,		/* num: stdin bytes the agent wrote */
	EXEC_FA_END,		/* num: exit code; or data: the error */
	EXEC_FA_LOST,		/* data: why the agent is gone */
};

struct exec_relay *exec_relay_start(struct master *m, char **cause);
/*
 * Main thread, before api_stop(): end every session (the operator is told
 * the master is shutting down, the agents to cancel), refuse new ones and
 * stop the thread. exec_relay_free() after hub_stop().
 */
void	 exec_relay_shutdown(struct exec_relay *r);
void	 exec_relay_free(struct exec_relay *r);	/* NULL is a no-op */

/*
 * API thread: take a session slot and its id (for the audit event and
 * exec_target.id); 0 when EXEC_RELAY_MAX are taken or it is stopping.
 */
uint32_t exec_relay_reserve(struct exec_relay *r);
/* API thread: give back a slot that was not adopted. */
void	 exec_relay_release(struct exec_relay *r);
/*
 * MHD thread (the upgrade callback): the relay takes the socket, the
 * handle and t (with t->id, the reserved slot's). extra: bytes MHD read
 * past the request.
 */
void	 exec_relay_adopt(struct exec_relay *r, struct exec_target *t, int fd,
	    const char *extra, size_t extra_len,
	    struct MHD_UpgradeResponseHandle *urh);
/* ws thread: what an agent said about session id (data copied). */
void	 exec_relay_from_agent(struct exec_relay *r, uint32_t id,
	    enum exec_from_agent what, const void *data, size_t len,
	    int64_t num);
/* Sessions open now (any thread). */
int	 exec_relay_count(struct exec_relay *r);

#endif
