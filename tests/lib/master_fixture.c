/*
 * master_fixture.c - a master without threads or sockets (see
 * master_fixture.h).
 *
 * Test code: it writes instance rows with its own statement, as the
 * scheduler's round would, so that a test can place instances without
 * running a plan.
 */
#include "tests/lib/master_fixture.h"

#include "master/grid.h"
#include "master/vault.h"
#include "stacks/stack.h"

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char master_fixture_stack_yml[] =
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

void
master_fixture_die(struct master_fixture *f, const char *what)
{
	fprintf(stderr, "master fixture: set-up: %s: %s\n", what,
	    f != NULL && f->st != NULL ? store_errmsg(f->st) : "");
	abort();
}

struct master_fixture *
master_fixture_new(void)
{
	struct master_fixture *f = xcalloc(1, sizeof *f);
	struct grid_settings gs;
	struct grid g;
	char token[TOKEN_LEN + 1], *cause = NULL;
	const char *dq;

	log_set_level(LOG_LVL_ERROR);
	snprintf(f->dir, sizeof f->dir, "%s/berth-fixture.XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		master_fixture_die(f, "mkdtemp");
	f->m.cfg.data_dir = f->dir;
	f->m.cfg.deploy_timeout_s = 600;
	util_random(f->m.key, sizeof f->m.key);
	vault_settings_sealer(f->m.key);
	xasprintf(&f->m.db_path, "%s/berth.db", f->dir);
	if ((dq = getenv("BERTH_FIXTURE_DQLITE")) != NULL && *dq != '\0') {
		/* The dqlite backend (test_store_dq.c): a database of its
		 * own on that node, named after the temp dir. */
		f->st = store_open_dqlite(&dq, 1, strrchr(f->dir, '/') + 1,
		    &cause);
	} else
		f->st = store_open(f->m.db_path, &cause);
	if (f->st == NULL || store_migrate(f->st, &cause) != 0)
		master_fixture_die(f, cause);
	if (!store_is_dqlite(f->st))
		store_exec(f->st, "PRAGMA synchronous = OFF");
	if (pthread_key_create(&f->m.store_key, NULL) != 0 ||
	    pthread_setspecific(f->m.store_key, f->st) != 0)
		master_fixture_die(f, "pthread key");

	grid_settings_default(&gs);
	if (grid_create(&f->m, f->st, "g", &gs, &g, token) != 0)
		master_fixture_die(f, "grid");
	f->grid_id = g.id;
	return f;
}

void
master_fixture_free(struct master_fixture *f)
{
	char *cmd;

	if (f == NULL)
		return;
	vault_settings_sealer(NULL);
	pthread_key_delete(f->m.store_key);
	store_close(f->st);
	json_decref(f->stack_spec);
	xasprintf(&cmd, "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "master fixture: cannot remove %s\n", f->dir);
	free(cmd);
	free(f->m.db_path);
	free(f);
}

static struct master_fixture *master_fixture_process;

static void
master_fixture_at_exit(void)
{
	master_fixture_free(master_fixture_process);
	master_fixture_process = NULL;
}

struct master_fixture *
master_fixture_once(void)
{
	if (master_fixture_process == NULL) {
		master_fixture_process = master_fixture_new();
		master_fixture_seed(master_fixture_process);
		atexit(master_fixture_at_exit);
	}
	return master_fixture_process;
}

void
master_fixture_node(struct master_fixture *f, const char *id,
    const char *name, const char *labels)
{
	struct node_join j;
	char got[64];

	memset(&j, 0, sizeof j);
	j.id = id;
	j.grid_id = f->grid_id;
	j.name = name;
	j.labels = labels;
	j.agent_version = "fixture";
	j.peer = "127.0.0.1";
	if (store_node_join(f->st, &j, got) != 0)
		master_fixture_die(f, "node");
}

json_t *
master_fixture_parse(struct master_fixture *f, const char *yml)
{
	struct stack_errors errs = { NULL, 0 };
	struct stack_opts opts = { .grid = "g" };
	json_t *v;

	v = stack_parse(yml, strlen(yml), "stack.yml", &opts, &errs);
	if (v == NULL) {
		char *text = stack_errors_format(&errs);

		fprintf(stderr, "master fixture: %s\n", text);
		master_fixture_die(f, "stack_parse");
	}
	return v;
}

int64_t
master_fixture_stack(struct master_fixture *f, const char *yml,
    json_t **spec)
{
	json_t *v = master_fixture_parse(f, yml);
	int64_t id;

	if (store_stack_create(f->st, f->grid_id, v, yml, &id) != 0)
		master_fixture_die(f, "stack");
	if (spec != NULL)
		*spec = v;
	else
		json_decref(v);
	return id;
}

int64_t
master_fixture_service(struct master_fixture *f, const char *stack,
    const char *name)
{
	int64_t id;

	if (store_service_find(f->st, f->grid_id, stack, name, &id) != 1)
		master_fixture_die(f, "service");
	return id;
}

void
master_fixture_place(struct master_fixture *f, int64_t service_id, int no,
    const char *node_id, int64_t rev)
{
	struct store_stmt *s = store_stmt(f->st, "INSERT INTO instances"
	    " (service_id, instance_no, node_id, rev, state, created_at,"
	    " updated_at) VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)");

	stmt_bind_int64(s, 1, service_id);
	stmt_bind_int(s, 2, no);
	store_bind_text(s, 3, node_id);
	stmt_bind_int64(s, 4, rev);
	stmt_bind_int64(s, 5, util_now_ms());
	if (store_done(s) != 0)
		master_fixture_die(f, "instance");
}

void
master_fixture_seed(struct master_fixture *f)
{
	int i;

	master_fixture_node(f, MASTER_FIXTURE_NODE_ID, "n1", "[\"az=a\"]");
	f->stack_id = master_fixture_stack(f, master_fixture_stack_yml,
	    &f->stack_spec);
	f->web_id = master_fixture_service(f, "st", "web");
	for (i = 1; i <= 2; i++)
		master_fixture_place(f, f->web_id, i, MASTER_FIXTURE_NODE_ID,
		    1);
}
