/*
 * test_liquid.c - unit tests of the Liquid engine (stacks/liquid.c).
 *
 * Each test renders a template with variables given as JSON and checks the
 * output, or the error and its template line, against what Liquid 4.0
 * (the gem Kontena used, strict, with strict_variables and strict_filters)
 * gives for the same template: the expected strings were worked out from
 * the gem's source (lib/liquid at v4.0.3) and Ruby's semantics.
 */
#include "tests/unit/test.h"
#include "stacks/liquid.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static char *last_err;
static int last_err_line;

/* Render tmpl with vars (JSON text, or NULL); the output, or NULL. */
static char *
render(const char *tmpl, const char *vars)
{
	struct liquid_output out;
	struct liquid_error err;
	struct liquid_opts o = { 1517400000 };	/* 2018-01-31T12:00:00Z */
	json_t *v = vars != NULL ? json_loads(vars, 0, NULL) : NULL;
	char *s = NULL;

	free(last_err);
	last_err = NULL;
	last_err_line = 0;
	if (liquid_render(tmpl, strlen(tmpl), v, &o, &out, &err) == 0) {
		s = strdup(out.text);
		liquid_output_free(&out);
	} else {
		last_err = strdup(err.message);
		last_err_line = err.line;
		liquid_error_clear(&err);
	}
	json_decref(v);
	return s;
}

#define R(tmpl, vars, want) do {					\
	char *r_ = render((tmpl), (vars));				\
	CHECK_STR(r_, (want));						\
	if (r_ == NULL)							\
		printf("  error: %s (line %d)\n", last_err, last_err_line); \
	free(r_);							\
} while (0)

#define E(tmpl, vars, line, msg) do {					\
	char *e_ = render((tmpl), (vars));				\
	CHECK(e_ == NULL);						\
	if (e_ != NULL)							\
		printf("  rendered: \"%s\"\n", e_);			\
	free(e_);							\
	CHECK_HAS(last_err, (msg));					\
	CHECK_INT(last_err_line, (line));				\
} while (0)

static void
test_output_and_filters(void)
{
	R("plain text", NULL, "plain text");
	R("{{ x }}", "{\"x\": \"a\"}", "a");
	R("{{ n }} {{ f }} {{ t }} {{ no }}", "{\"n\": 3, \"f\": 1.5, "
	    "\"t\": true, \"no\": null}", "3 1.5 true ");
	R("{{ a }}", "{\"a\": [1, \"b\", [2, 3], null]}", "1b23");
	R("{{ 'x' }}{{ \"y\" }}{{ 42 }}{{ -1.25 }}{{ nil }}{{ true }}", NULL,
	    "xy42-1.25true");
	R("{{ s | upcase }}|{{ s | downcase }}|{{ s | capitalize }}",
	    "{\"s\": \"hEllo wORLD\"}", "HELLO WORLD|hello world|Hello world");
	R("{{ 'a,b,,c,,' | split: ',' | join: '-' }}", NULL, "a-b--c");
	R("{{ ' a  b ' | split: ' ' | size }}", NULL, "2");
	R("{{ 'abc' | split: '' | join: ' ' }}", NULL, "a b c");
	R("{{ 'hello' | append: ' world' | prepend: '> ' }}", NULL,
	    "> hello world");
	R("{{ '  x  ' | strip }}|{{ '  x  ' | lstrip }}|{{ '  x  ' | rstrip }}",
	    NULL, "x|x  |  x");
	R("{{ 'aXbXc' | replace: 'X', '-' }} {{ 'aXbXc' | replace_first: 'X', "
	    "'-' }} {{ 'aXbXc' | remove: 'X' }} {{ 'aXbXc' | remove_first: 'X'"
	    " }}", NULL, "a-b-c a-bXc abc abXc");
	R("{{ 'Ground control to Major Tom.' | truncate: 20 }}", NULL,
	    "Ground control to...");
	R("{{ 'one two three four' | truncatewords: 2 }}", NULL,
	    "one two...");
	R("{{ 'Liquid' | slice: 0 }}{{ 'Liquid' | slice: 2, 5 }}"
	    "{{ 'Liquid' | slice: -3, 2 }}", NULL, "Lquidui");
	R("{{ '<p>a & b</p>' | escape }} {{ '&amp; <' | escape_once }}", NULL,
	    "&lt;p&gt;a &amp; b&lt;/p&gt; &amp; &lt;");
	R("{{ 'a b&c' | url_encode }} {{ 'a+b%26c' | url_decode }}", NULL,
	    "a+b%26c a b&c");
	R("{{ '<b>x</b><!-- c -->y' | strip_html }}", NULL, "xy");
	R("{{ 'a\nb' | newline_to_br }}|{{ 'a\r\nb\nc' | strip_newlines }}",
	    NULL, "a<br />\nb|abc");
	R("{{ s | size }} {{ a | size }} {{ h | size }} {{ n | size }}",
	    "{\"s\": \"h\u00e9llo\", \"a\": [1, 2], \"h\": {\"k\": 1}, "
	    "\"n\": null}", "5 2 1 0");
	R("{{ a | first }}{{ a | last }}{{ e | first }}", "{\"a\": [1, 2, 3],"
	    " \"e\": []}", "13");
	R("{{ a | sort | join: ',' }} {{ a | reverse | join: ',' }} "
	    "{{ b | sort_natural | join: ',' }} {{ c | uniq | join: ',' }}",
	    "{\"a\": [3, 1, 2], \"b\": [\"b\", \"A\", \"c\"], \"c\": [1, 1, "
	    "2, 1]}", "1,2,3 2,1,3 A,b,c 1,2");
	R("{{ a | map: 'n' | join: ',' }} {{ a | where: 'ok' | size }} "
	    "{{ a | where: 'n', 2 | map: 'n' | first }}",
	    "{\"a\": [{\"n\": 1, \"ok\": true}, {\"n\": 2}, {\"n\": 3, "
	    "\"ok\": false}]}", "1,2,3 1 2");
	R("{{ a | compact | join: ',' }} {{ a | concat: b | join: ',' }}",
	    "{\"a\": [1, null, 2], \"b\": [3]}", "1,2 1,,2,3");
	R("{{ x | default: 'd' }} {{ e | default: 'd' }} {{ f | default: 'd' }}"
	    " {{ z | default: 'd' }}", "{\"x\": null, \"e\": \"\", \"f\": "
	    "false, \"z\": 0}", "d d d 0");
	R("{{ 1517400000 | date: '%Y-%m-%d %H:%M' }} {{ 'now' | date: '%Y' }} "
	    "{{ '2018-03-04T05:06:07Z' | date: '%d.%m.%y' }}", NULL,
	    "2018-01-31 12:00 2018 04.03.18");
}

static void
test_numbers(void)
{
	R("{{ 4 | plus: 2 }} {{ 4 | minus: 6 }} {{ 3 | times: 4 }} "
	    "{{ 7 | divided_by: 2 }} {{ -7 | divided_by: 2 }} "
	    "{{ 7 | modulo: 3 }} {{ -7 | modulo: 3 }}", NULL,
	    "6 -2 12 3 -4 1 2");
	/* BigDecimal: 0.1 + 0.2 is 0.3 in Liquid, not 0.30000000000000004 */
	R("{{ 0.1 | plus: 0.2 }} {{ 7 | divided_by: 2.0 }} {{ 1.1 | times: 3 }}"
	    " {{ '3' | plus: 1 }} {{ '2.5' | times: 2 }} {{ 'x' | plus: 1 }}",
	    NULL, "0.3 3.5 3.3 4 5.0 1");
	R("{{ 1.5 | round }} {{ 2.5 | round }} {{ 2.675 | round: 2 }} "
	    "{{ 1234 | round: -2 }} {{ 3.2 | ceil }} {{ 3.8 | floor }} "
	    "{{ -3 | abs }} {{ 5 | at_least: 7 }} {{ 5 | at_most: 3 }}", NULL,
	    "2 3 2.68 1200 4 3 3 7 3");
	E("{{ 1e3 }}", NULL, 1, "Expected end_of_string but found id");
	R("{{ f }} {{ g }} {{ h }}", "{\"f\": 1e20, \"g\": 0.0001, "
	    "\"h\": 0.00001}", "1.0e+20 0.0001 1.0e-05");
	E("{{ 1 | divided_by: 0 }}", NULL, 1, "divided by 0");
}

static void
test_conditions(void)
{
	const char *v = "{\"n\": 3, \"s\": \"abc\", \"a\": [\"x\", \"y\"], "
	    "\"e\": [], \"z\": null, \"f\": false, \"zero\": 0, "
	    "\"h\": {\"k\": \"v\"}}";

	R("{% if n > 2 %}big{% elsif n > 1 %}mid{% else %}small{% endif %}",
	    v, "big");
	R("{% if n == 2 %}two{% elsif n == 3 %}three{% endif %}", v, "three");
	R("{% unless n == 3 %}no{% else %}yes{% endunless %}", v, "yes");
	R("{% if z %}a{% endif %}{% if f %}b{% endif %}{% if zero %}c{% endif %}"
	    "{% if e %}d{% endif %}{% if '' %}e{% endif %}", v, "cde");
	R("{% if s contains 'b' %}1{% endif %}{% if a contains 'y' %}2{% endif %}"
	    "{% if h contains 'k' %}3{% endif %}{% if a contains 'q' %}4{% endif"
	    " %}", v, "123");
	R("{% if n != 3 or s == 'abc' %}or{% endif %}{% if n == 3 and s == 'x'"
	    " %}and{% endif %}{% if n <> 4 %}ne{% endif %}", v, "orne");
	/* and/or group from the right: true or (false and false) */
	R("{% if true or false and false %}r{% endif %}", NULL, "r");
	R("{% if false and false or true %}l{% else %}no{% endif %}", NULL,
	    "no");
	R("{% if e == empty %}1{% endif %}{% if a == empty %}2{% endif %}"
	    "{% if s >= 'abb' %}3{% endif %}{% if n <= 3.0 %}4{% endif %}", v,
	    "134");
	R("{% if a.size == 2 and a.first == 'x' and a.last == 'y' %}ok"
	    "{% endif %}{{ s.size }}{{ h.size }}{{ a[1] }}{{ a[-1] }}{{ h['k'] }}"
	    "{{ h.k }}", v, "ok31yyvv");
	R("{% case n %}{% when 1 %}one{% when 2, 3 %}two or three{% else %}"
	    "other{% endcase %}", v, "two or three");
	R("{% case s %}{% when 'x' or 'abc' %}hit{% else %}miss{% endcase %}",
	    v, "hit");
	R("{% case n %}{% when 9 %}nine{% else %}else{% endcase %}", v,
	    "else");
	R("{% if z == nil and f == false %}nil{% endif %}", v, "nil");
	E("{% if n > 'a' %}x{% endif %}", v, 1,
	    "comparison of Integer with String failed");
	R("{% if z > 1 %}x{% else %}nil not ordered{% endif %}", v,
	    "nil not ordered");
}

static void
test_loops(void)
{
	const char *v = "{\"a\": [\"a\", \"b\", \"c\", \"d\"], \"n\": 3, "
	    "\"h\": {\"k\": 1}}";

	R("{% for x in a %}{{ x }}{% endfor %}", v, "abcd");
	R("{% for i in (1..n) %}{{ i }}{% unless forloop.last %},{% endunless %}"
	    "{% endfor %}", v, "1,2,3");
	R("{% for i in (1..3) %}{{ i }}{% endfor %}{% for i in (3..1) %}x"
	    "{% endfor %}", NULL, "123");
	R("{% for x in a limit: 2 %}{{ x }}{% endfor %}|{% for x in a offset: 2"
	    " %}{{ x }}{% endfor %}|{% for x in a reversed %}{{ x }}{% endfor %}"
	    "|{% for x in a reversed limit: 3 offset: 1 %}{{ x }}{% endfor %}",
	    v, "ab|cd|dcba|dcb");
	R("{% for x in a limit: 2 %}{{ x }}{% endfor %}{% for x in a offset: "
	    "continue %}{{ x }}{% endfor %}", v, "abcd");
	R("{% for x in a %}{{ forloop.index }}{{ forloop.index0 }}"
	    "{{ forloop.rindex }}{{ forloop.rindex0 }}{{ forloop.length }}"
	    "{% if forloop.first %}F{% endif %} {% endfor %}", v,
	    "10434F 21324 32214 43104 ");
	R("{% for x in e %}{{ x }}{% else %}none{% endfor %}", "{\"e\": []}",
	    "none");
	R("{% for x in a %}{% if x == 'c' %}{% break %}{% endif %}{{ x }}"
	    "{% endfor %}|{% for x in a %}{% if x == 'b' %}{% continue %}"
	    "{% endif %}{{ x }}{% endfor %}", v, "ab|acd");
	R("{% for i in (1..2) %}{% for j in (1..2) %}{{ forloop.parentloop."
	    "index }}{{ j }} {% endfor %}{% endfor %}", NULL, "11 12 21 22 ");
	R("{% for p in h %}{{ p[0] }}={{ p[1] }}{% endfor %}", v, "k=1");
	R("{% for c in 'str' %}{{ c }}{% endfor %}", NULL, "str");
	R("{% for x in a %}{% cycle 'o', 'e' %}{% endfor %}", v, "oeoe");
	R("{% tablerow i in (1..3) cols: 2 %}{{ i }}{% endtablerow %}", NULL,
	    "<tr class=\"row1\">\n<td class=\"col1\">1</td><td class=\"col2\">"
	    "2</td></tr>\n<tr class=\"row2\"><td class=\"col1\">3</td></tr>\n");
	R("{% for x in a %}{% ifchanged %}{{ x | size }}{% endifchanged %}"
	    "{% endfor %}", v, "1");
}

static void
test_assign_capture_raw_comment(void)
{
	R("{% assign x = 'v' | upcase %}{{ x }}", NULL, "V");
	R("{% assign l = 'a,b' | split: ',' %}{{ l.size }}{{ l[1] }}", NULL,
	    "2b");
	R("{% capture c %}[{{ 1 | plus: 1 }}]{% endcapture %}{{ c }}{{ c }}",
	    NULL, "[2][2]");
	R("{% for i in (1..2) %}{% assign last = i %}{% endfor %}{{ last }}",
	    NULL, "2");
	R("{% raw %}{{ not }} {% if %}{% endraw %}", NULL, "{{ not }} {% if %}");
	R("a{% comment %} {{ x }} {% anything %} {% endcomment %}b", NULL,
	    "ab");
	R("{% increment c %}{% increment c %}{% decrement d %}{{ c }}", NULL,
	    "01-12");
	/* An assigned variable shadows one passed in. */
	R("{% assign x = 2 %}{{ x }}", "{\"x\": 1}", "2");
}

static void
test_whitespace_control(void)
{
	R("a  {%- if true -%}  b  {%- endif -%}  c", NULL, "abc");
	R("[ {{- 'x' -}} ]", NULL, "[x]");
	R("line\n  {%- assign x = 1 %}\nnext", NULL, "line\nnext");
}

/* Kontena's own: the kafka stack's broker list and zookeeper connect. */
static void
test_kontena_templates(void)
{
	const char *kafka =
	    "# {% assign broker_list = \"\" %}\n"
	    "# {% for i in (1..num_instances) %}\n"
	    "# {%   capture broker %}kafka-{{ i }}.{{ STACK }}.{{ GRID }}."
	    "kontena.local:9092{% endcapture %}\n"
	    "# {%   assign broker_list = broker_list | append: broker %}\n"
	    "# {%   if i < num_instances %}\n"
	    "# {%     assign broker_list = broker_list | append: \",\" %}\n"
	    "# {%   endif %}\n"
	    "# {% endfor %}\n"
	    "- BROKER_LIST={{ broker_list }}\n"
	    "# {% for kafka_variable in kafka_variables %}\n"
	    "# {%   assign env_var = kafka_variable %}\n"
	    "# {%   assign parts = kafka_variable | split: '=' %}\n"
	    "# {%   if parts[0] contains \"REPLICATION_FACTOR\" %}\n"
	    "# {%     assign val = parts[1] | plus: 0 %}\n"
	    "# {%     if val > num_instances %}\n"
	    "# {%       capture env_var %}{{ parts[0] }}={{ num_instances }}"
	    "{% endcapture %}\n"
	    "# {%     endif %}\n"
	    "# {%   endif %}\n"
	    "- \"{{ env_var }}\"\n"
	    "# {% endfor %}\n";
	char *out;

	out = render(kafka, "{\"num_instances\": 1, \"STACK\": \"kafka\", "
	    "\"GRID\": \"g\", \"kafka_variables\": [\"A=true\", "
	    "\"B_REPLICATION_FACTOR=2\"]}");
	CHECK(out != NULL);
	CHECK_HAS(out, "- BROKER_LIST=kafka-1.kafka.g.kontena.local:9092\n");
	CHECK_HAS(out, "- \"A=true\"\n");
	CHECK_HAS(out, "- \"B_REPLICATION_FACTOR=1\"\n");
	free(out);
	R("{% if lb_certs.size > 0 %}c{% else %}none{% endif %}",
	    "{\"lb_certs\": []}", "none");
}

static void
test_strict_errors(void)
{
	E("a\nb {{ nope }}", NULL, 2, "undefined variable nope");
	E("{{ h.missing }}", "{\"h\": {}}", 1, "undefined variable missing");
	E("\n\n{{ 'x' | frobnicate }}", NULL, 3, "undefined filter frobnicate");
	E("{{ 'x' | upcase: 1 }}", NULL, 1, "wrong number of arguments");
	E("1\n2\n{% if x %}", "{\"x\": 1}", 3, "'if' tag was never closed");
	E("{% frob %}", NULL, 1, "Unknown tag 'frob'");
	E("x\n{% endif %}", NULL, 2, "Unknown tag 'endif'");
	E("{% if true %}{% endfor %}", NULL, 1,
	    "'endfor' is not a valid delimiter for if tags");
	E("{% for x in a %}{% elsif %}{% endfor %}", "{\"a\": []}", 1,
	    "Unknown tag 'elsif'");
	E("line\n{% if a == %}x{% endif %}", "{\"a\": 1}", 2,
	    "Liquid syntax error");
	E("{{ a | }}", "{\"a\": 1}", 1, "Liquid syntax error");
	E("ok\nok\n{{ a", "{\"a\": 1}", 3, "was not properly terminated");
	E("{% if %}", NULL, 1, "Liquid syntax error");
	E("{% for x a %}{% endfor %}", NULL, 1, "require an 'in' clause");
	E("{% include 'x' %}", NULL, 1, "does not allow includes");
	/* A null variable is defined (Kontena's LiquidNull). */
	R("[{{ x }}]", "{\"x\": null}", "[]");
}

static void
test_limits(void)
{
	char *deep, *p;
	int i;

	E("{% for i in (1..10000000) %}x{% endfor %}", NULL, 1, "too large");
	E("{% for i in (1..1000) %}{% for j in (1..1000) %}{% for k in (1..10)"
	    " %}{% endfor %}{% endfor %}{% endfor %}", NULL, 1, "steps");
	E("{% assign s = 'xxxxxxxxxxxxxxxx' %}{% for i in (1..30) %}{% assign "
	    "s = s | append: s %}{% endfor %}", NULL, 1, "Memory limits");
	deep = malloc(200 * 12 + 1);
	p = deep;
	for (i = 0; i < 200; i++)
		p += sprintf(p, "{%% if 1 %%}");
	E(deep, NULL, 1, "Nesting too deep");
	free(deep);
}

/* Each output line knows the template line it came from. */
static void
test_line_map(void)
{
	struct liquid_output out;
	struct liquid_error err;
	const char *t = "a: 1\n# {% if x %}\nb: {{ x }}\n# {% endif %}\nc: 3\n"
	    "{% for i in (1..2) %}\nd{{ i }}: x\n{% endfor %}\ne: end\n";
	json_t *v = json_pack("{s:i}", "x", 2);

	CHECK(liquid_render(t, strlen(t), v, NULL, &out, &err) == 0);
	CHECK_STR(out.text, "a: 1\n# \nb: 2\n# \nc: 3\n\nd1: x\n\nd2: x\n\n"
	    "e: end\n");
	CHECK(out.nlines >= 11);
	if (out.nlines >= 11) {
		CHECK_INT(out.lines[0], 1);
		CHECK_INT(out.lines[2], 3);
		CHECK_INT(out.lines[4], 5);
		CHECK_INT(out.lines[6], 7);	/* d1 */
		CHECK_INT(out.lines[8], 7);	/* d2, the same template line */
		CHECK_INT(out.lines[10], 9);	/* e */
	}
	liquid_output_free(&out);
	json_decref(v);
	CHECK(liquid_has_tags("x {{ y }}", 9));
	CHECK(!liquid_has_tags("x { y }", 7));
}

int
main(void)
{
	TEST_RUN(test_output_and_filters);
	TEST_RUN(test_numbers);
	TEST_RUN(test_conditions);
	TEST_RUN(test_loops);
	TEST_RUN(test_assign_capture_raw_comment);
	TEST_RUN(test_whitespace_control);
	TEST_RUN(test_kontena_templates);
	TEST_RUN(test_strict_errors);
	TEST_RUN(test_limits);
	TEST_RUN(test_line_map);
	free(last_err);
	return TEST_DONE();
}
