/*
 * aws_asg_xml.c - the Auto Scaling client's XML replies (see aws_asg.h):
 * DescribeAutoScalingGroups, DescribeScalingActivities and
 * <ErrorResponse>, read with libxml2 (no network, no DTD loading, no
 * entity substitution; libxml2's own guard refuses entity amplification).
 * Elements are matched by local name, so the namespace does not matter.
 * Text from AWS is cut to printable ASCII: it goes into events and logs.
 *
 * Any thread; libxml2 is initialised once for the process.
 */
#include "master/aws_asg.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "common/xmalloc.h"

static pthread_once_t aws_xml_once = PTHREAD_ONCE_INIT;

static void
aws_xml_init(void)
{
	xmlInitParser();
}


/* ---- XML --------------------------------------------------------------- */

static xmlDocPtr
aws_xml_read(const char *xml, size_t len)
{
	pthread_once(&aws_xml_once, aws_xml_init);
	if (len > AWS_REPLY_MAX)
		return NULL;
	/* No network, no DTD, no entity substitution, no noise on stderr. */
	return xmlReadMemory(xml, (int)len, "aws.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
	    XML_PARSE_NOWARNING);
}

/* The first element child of n named name (local name, any namespace). */
static xmlNodePtr
aws_xml_child(xmlNodePtr n, const char *name)
{
	xmlNodePtr c;

	if (n == NULL)
		return NULL;
	for (c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)c->name, name) == 0)
			return c;
	return NULL;
}

/* Follow a path of child names ("A/B/C"). */
static xmlNodePtr
aws_xml_path(xmlNodePtr n, const char *path)
{
	char part[128];
	const char *p = path, *slash;
	size_t l;

	while (n != NULL && *p != '\0') {
		slash = strchr(p, '/');
		l = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (l >= sizeof part)
			return NULL;
		memcpy(part, p, l);
		part[l] = '\0';
		n = aws_xml_child(n, part);
		p += l + (slash != NULL);
	}
	return n;
}

/* The text of child name of n into buf ("" if absent); 1 if present. */
static int
aws_xml_text(xmlNodePtr n, const char *name, char *buf, size_t len)
{
	xmlNodePtr c = name != NULL ? aws_xml_path(n, name) : n;
	xmlChar *t;

	buf[0] = '\0';
	if (c == NULL)
		return 0;
	t = xmlNodeGetContent(c);
	if (t == NULL)
		return 1;
	snprintf(buf, len, "%s", (const char *)t);
	xmlFree(t);
	return 1;
}

static char *
aws_xml_strdup(xmlNodePtr n, const char *name)
{
	xmlNodePtr c = aws_xml_path(n, name);
	xmlChar *t;
	char *s;

	if (c == NULL || (t = xmlNodeGetContent(c)) == NULL)
		return xstrdup("");
	s = xstrdup((const char *)t);
	xmlFree(t);
	return s;
}

static int
aws_xml_int(xmlNodePtr n, const char *name, int64_t *out)
{
	char buf[32], *end;
	long long v;

	if (!aws_xml_text(n, name, buf, sizeof buf) || buf[0] == '\0')
		return -1;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int
aws_xml_bool(xmlNodePtr n, const char *name)
{
	char buf[8];

	aws_xml_text(n, name, buf, sizeof buf);
	return strcmp(buf, "true") == 0;
}

/* Printable ASCII only: AWS's words go into events and logs. */
static void
aws_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = ' ';
}

int
aws_xml_error(const char *xml, size_t len, char *code, size_t codelen,
    char *msg, size_t msglen)
{
	xmlDocPtr doc = aws_xml_read(xml, len);
	xmlNodePtr root, err;
	int rc = -1;

	code[0] = msg[0] = '\0';
	if (doc == NULL)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (root != NULL && strcmp((const char *)root->name,
	    "ErrorResponse") == 0 && (err = aws_xml_child(root, "Error")) &&
	    aws_xml_text(err, "Code", code, codelen) && code[0] != '\0') {
		aws_xml_text(err, "Message", msg, msglen);
		aws_clean(code);
		aws_clean(msg);
		rc = 0;
	}
	xmlFreeDoc(doc);
	return rc;
}

int
aws_xml_groups(const char *xml, size_t len, const char *group,
    struct aws_asg_group *out, char **cause)
{
	xmlDocPtr doc = aws_xml_read(xml, len);
	xmlNodePtr list, g, m, inst;
	char name[256], proc[64];
	size_t n;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (doc == NULL) {
		xasprintf(cause, "DescribeAutoScalingGroups: reply is not XML");
		return -1;
	}
	list = aws_xml_path(xmlDocGetRootElement(doc),
	    "DescribeAutoScalingGroupsResult/AutoScalingGroups");
	if (list == NULL) {
		xasprintf(cause, "DescribeAutoScalingGroups: reply has no "
		    "AutoScalingGroups");
		goto out;
	}
	for (g = list->children; g != NULL; g = g->next) {
		if (g->type != XML_ELEMENT_NODE)
			continue;
		aws_xml_text(g, "AutoScalingGroupName", name, sizeof name);
		if (strcmp(name, group) == 0)
			break;
	}
	if (g == NULL) {
		xasprintf(cause, "auto scaling group %s not found", group);
		goto out;
	}
	snprintf(out->name, sizeof out->name, "%s", name);
	if (aws_xml_int(g, "MinSize", &out->min) == -1 ||
	    aws_xml_int(g, "MaxSize", &out->max) == -1 ||
	    aws_xml_int(g, "DesiredCapacity", &out->desired) == -1) {
		xasprintf(cause, "DescribeAutoScalingGroups: group %s lacks "
		    "MinSize, MaxSize or DesiredCapacity", group);
		goto out;
	}
	out->new_protected = aws_xml_bool(g, "NewInstancesProtectedFromScaleIn");
	for (m = aws_xml_child(aws_xml_child(g, "SuspendedProcesses"),
	    "member"); m != NULL; m = m->next) {
		if (m->type != XML_ELEMENT_NODE)
			continue;
		aws_xml_text(m, "ProcessName", proc, sizeof proc);
		if (strcmp(proc, "Terminate") == 0)
			out->terminate_suspended = 1;
		else if (strcmp(proc, "Launch") == 0)
			out->launch_suspended = 1;
	}
	n = 0;
	for (inst = aws_xml_child(g, "Instances") ?
	    aws_xml_child(g, "Instances")->children : NULL; inst != NULL;
	    inst = inst->next)
		n += inst->type == XML_ELEMENT_NODE;
	out->instances = xcalloc(n ? n : 1, sizeof *out->instances);
	for (inst = aws_xml_child(g, "Instances") ?
	    aws_xml_child(g, "Instances")->children : NULL; inst != NULL;
	    inst = inst->next) {
		struct aws_asg_instance *i;

		if (inst->type != XML_ELEMENT_NODE)
			continue;
		i = &out->instances[out->n_instances];
		aws_xml_text(inst, "InstanceId", i->id, sizeof i->id);
		if (i->id[0] == '\0')
			continue;
		aws_xml_text(inst, "AvailabilityZone", i->az, sizeof i->az);
		aws_xml_text(inst, "LifecycleState", i->lifecycle,
		    sizeof i->lifecycle);
		aws_xml_text(inst, "HealthStatus", i->health, sizeof i->health);
		i->protected_ = aws_xml_bool(inst, "ProtectedFromScaleIn");
		aws_clean(i->id);
		aws_clean(i->az);
		out->n_instances++;
	}
	rc = 0;
out:
	xmlFreeDoc(doc);
	if (rc != 0)
		aws_asg_group_clear(out);
	return rc;
}

int
aws_xml_activities(const char *xml, size_t len,
    struct aws_asg_activity **out, size_t *n, char **cause)
{
	xmlDocPtr doc = aws_xml_read(xml, len);
	xmlNodePtr list, m;
	size_t cap = 0;
	char when[64];

	*out = NULL;
	*n = 0;
	if (doc == NULL) {
		xasprintf(cause, "DescribeScalingActivities: reply is not XML");
		return -1;
	}
	list = aws_xml_path(xmlDocGetRootElement(doc),
	    "DescribeScalingActivitiesResult/Activities");
	if (list == NULL) {
		xmlFreeDoc(doc);
		xasprintf(cause, "DescribeScalingActivities: reply has no "
		    "Activities");
		return -1;
	}
	for (m = list->children; m != NULL; m = m->next)
		cap += m->type == XML_ELEMENT_NODE;
	*out = xcalloc(cap ? cap : 1, sizeof **out);
	for (m = list->children; m != NULL; m = m->next) {
		struct aws_asg_activity *a;

		if (m->type != XML_ELEMENT_NODE)
			continue;
		a = &(*out)[(*n)++];
		aws_xml_text(m, "ActivityId", a->id, sizeof a->id);
		aws_xml_text(m, "StatusCode", a->status, sizeof a->status);
		a->description = aws_xml_strdup(m, "Description");
		a->message = aws_xml_strdup(m, "StatusMessage");
		aws_clean(a->description);
		aws_clean(a->message);
		aws_xml_text(m, "StartTime", when, sizeof when);
		a->start_ms = util_parse_time(when);
		if (a->start_ms < 0)
			a->start_ms = 0;
	}
	xmlFreeDoc(doc);
	return 0;
}

void
aws_asg_group_clear(struct aws_asg_group *g)
{
	if (g == NULL)
		return;
	free(g->instances);
	memset(g, 0, sizeof *g);
}

void
aws_asg_activities_free(struct aws_asg_activity *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].description);
		free(v[i].message);
	}
	free(v);
}
