/*
 * master_fixture.h - a master without threads or sockets, for the unit
 * tests and fuzzers that reach the store (tests/unit/test_master.c,
 * tests/fuzz/fuzz_api_body.c, tests/fuzz/fuzz_master_frame.c).
 *
 * master_fixture_new() makes a struct master whose hub and scheduler are
 * NULL, so notifications are no-ops, and a real SQLite store in a fresh
 * temp directory (on /dev/shm when there is one; synchronous=OFF, since a
 * test's store need not survive power loss) holding grid "g". On the
 * calling thread master_store() answers the fixture's store, so the
 * scheduler's round (sched_round_new()) runs on it too.
 * master_fixture_seed() adds the small world the fuzzers share:
 *
 *	node MASTER_FIXTURE_NODE_ID named "n1" (az=a); stack "st" with
 *	services "web" (ha, 2 instances, depends on db) and "db" (daemon);
 *	instances 1 and 2 of web (rev 1) placed on n1.
 *
 * A set-up step that fails aborts with a message: a fixture that cannot
 * be built is a broken test, not a result. Everything runs on one thread.
 *
 * With BERTH_FIXTURE_DQLITE=HOST:PORT in the environment the store is on
 * that dqlite node instead (a database of its own per fixture), through
 * the shim's dqlite backend (test_store_dq.c).
 */
#ifndef BERTH_MASTER_FIXTURE_H
#define BERTH_MASTER_FIXTURE_H

#include "master/master.h"
#include "master/store.h"

#include <jansson.h>
#include <stdint.h>

#define MASTER_FIXTURE_NODE_ID	"0123456789abcdef0123456789abcdef"

struct master_fixture {
	struct master	 m;		/* hub and scheduler NULL */
	struct store	*st;		/* the store, m's on this thread */
	char		 dir[64];	/* temp dir; removed by _free() */
	int64_t		 grid_id;	/* grid "g" */
	int64_t		 stack_id;	/* seeded stack "st", or 0 */
	int64_t		 web_id;	/* its service "web", or 0 */
	json_t		*stack_spec;	/* "st" as created, or NULL */
};

/* The seeded stack's file. */
extern const char	 master_fixture_stack_yml[];

struct master_fixture	*master_fixture_new(void);
void			 master_fixture_free(struct master_fixture *f);
/* One fixture per process, seeded, freed at exit (the fuzzers). */
struct master_fixture	*master_fixture_once(void);
void			 master_fixture_seed(struct master_fixture *f);
void			 master_fixture_die(struct master_fixture *f,
			    const char *what) __attribute__((noreturn));

/* Join node id as name with labels (a JSON array of "k=v"): online. */
void	 master_fixture_node(struct master_fixture *f, const char *id,
	    const char *name, const char *labels);
/* Parse yml as the API does for grid "g": the normalized spec (the
 * caller's reference). */
json_t	*master_fixture_parse(struct master_fixture *f, const char *yml);
/* Parse yml and create the stack: its id; the normalized spec into *spec
 * when spec is not NULL (the caller's reference). */
int64_t	 master_fixture_stack(struct master_fixture *f, const char *yml,
	    json_t **spec);
/* The id of service name of stack. */
int64_t	 master_fixture_service(struct master_fixture *f, const char *stack,
	    const char *name);
/* An instance row as the scheduler writes a placement: pending at rev. */
void	 master_fixture_place(struct master_fixture *f, int64_t service_id,
	    int no, const char *node_id, int64_t rev);

#endif
