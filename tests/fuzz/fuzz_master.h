/*
 * fuzz_master.h - a master without threads or sockets, for the fuzzers
 * that reach the store (fuzz_api_body.c, fuzz_master_frame.c).
 *
 * fuzz_master_init() builds, once per process, a struct master whose hub
 * and scheduler are NULL (so notifications are no-ops) and a store in a
 * fresh temp file (on /dev/shm when there is one; synchronous=OFF, since a
 * fuzzer's store need not survive power loss) holding:
 *
 *	grid "g"; node FUZZ_NODE_ID named "n1" in it; stack "st" with
 *	services "web" (ha, 2 instances) and "db"; instances 1 and 2 of web
 *	(rev 1) placed on n1.
 *
 * The temp directory is removed at exit. Header-only: each fuzzer is one
 * translation unit, linked with the project's libraries.
 */
#ifndef BERTH_FUZZ_MASTER_H
#define BERTH_FUZZ_MASTER_H

#include "master/grid.h"
#include "master/master.h"
#include "master/store.h"
#include "stacks/stack.h"

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_NODE_ID	"0123456789abcdef0123456789abcdef"

static const char fuzz_stack_yml[] =
	"stack: fuzz/st\n"
	"version: 1.0.0\n"
	"services:\n"
	"  web:\n"
	"    image: nginx:1.25\n"
	"    instances: 2\n"
	"    ports:\n"
	"      - 8080:80\n"
	"    depends_on:\n"
	"      - db\n"
	"  db:\n"
	"    image: redis:7\n"
	"    deploy:\n"
	"      strategy: daemon\n";

static struct master	 fuzz_m;
static struct store	*fuzz_st;
static int64_t		 fuzz_grid_id;
static int64_t		 fuzz_stack_id;
static int64_t		 fuzz_web_id;
static json_t		*fuzz_stack_spec;	/* the stack as created */
static char		 fuzz_dir[64];

static void
fuzz_master_cleanup(void)
{
	char *path;

	store_close(fuzz_st);
	xasprintf(&path, "rm -rf '%s'", fuzz_dir);
	if (system(path) != 0)
		fprintf(stderr, "fuzz: cannot remove %s\n", fuzz_dir);
	free(path);
}

static void __attribute__((noreturn))
fuzz_die(const char *what)
{
	fprintf(stderr, "fuzz: set-up: %s: %s\n", what,
	    fuzz_st ? store_errmsg(fuzz_st) : "");
	abort();
}

static void
fuzz_master_init(void)
{
	struct grid_settings gs;
	struct stack_errors errs = { NULL, 0 };
	struct stack_opts opts = { "g", NULL, NULL, NULL, NULL };
	struct node_join j;
	struct grid g;
	sqlite3_stmt *s;
	char token[TOKEN_LEN + 1], got[64], *path, *cause = NULL;
	int i;

	if (fuzz_st != NULL)
		return;
	log_set_level(LOG_LVL_ERROR);
	snprintf(fuzz_dir, sizeof fuzz_dir, "%s/berth-fuzz.XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(fuzz_dir) == NULL)
		fuzz_die("mkdtemp");
	atexit(fuzz_master_cleanup);
	memset(&fuzz_m, 0, sizeof fuzz_m);
	fuzz_m.cfg.data_dir = fuzz_dir;
	util_random(fuzz_m.key, sizeof fuzz_m.key);
	xasprintf(&path, "%s/berth.db", fuzz_dir);
	fuzz_m.db_path = path;
	if ((fuzz_st = store_open(path, &cause)) == NULL ||
	    store_migrate(fuzz_st, &cause) != 0)
		fuzz_die(cause);
	sqlite3_exec(store_db(fuzz_st), "PRAGMA synchronous = OFF", NULL,
	    NULL, NULL);

	grid_settings_default(&gs);
	if (grid_create(&fuzz_m, fuzz_st, "g", &gs, &g, token) != 0)
		fuzz_die("grid");
	fuzz_grid_id = g.id;

	memset(&j, 0, sizeof j);
	j.id = FUZZ_NODE_ID;
	j.grid_id = g.id;
	j.name = "n1";
	j.labels = "[\"az=a\"]";
	j.agent_version = "fuzz";
	j.peer = "127.0.0.1";
	if (store_node_join(fuzz_st, &j, got) != 0)
		fuzz_die("node");

	fuzz_stack_spec = stack_parse(fuzz_stack_yml, strlen(fuzz_stack_yml),
	    "st.yml", &opts, &errs);
	if (fuzz_stack_spec == NULL)
		fuzz_die("stack_parse");
	if (store_stack_create(fuzz_st, g.id, fuzz_stack_spec, fuzz_stack_yml,
	    &fuzz_stack_id) != 0)
		fuzz_die("stack");
	if (store_service_find(fuzz_st, g.id, "st", "web", &fuzz_web_id) != 1)
		fuzz_die("service");
	s = store_stmt(fuzz_st, "INSERT INTO instances (service_id,"
	    " instance_no, node_id, rev, created_at, updated_at)"
	    " VALUES (?1, ?2, ?3, 1, 0, 0)");
	for (i = 1; i <= 2; i++) {
		sqlite3_bind_int64(s, 1, fuzz_web_id);
		sqlite3_bind_int(s, 2, i);
		store_bind_text(s, 3, FUZZ_NODE_ID);
		if (sqlite3_step(s) != SQLITE_DONE)
			fuzz_die("instance");
		sqlite3_reset(s);
	}
}

#endif
