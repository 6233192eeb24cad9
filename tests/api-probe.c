/*
 * api-probe: drive api_list_events() against the simulator (or the real
 * API) and print one line per result:
 *
 *   SOURCE STATUS http=N calls=N throttled=N total=N ms=N detail=...
 *
 * The source config is built from flags, not from a YAML file. Several
 * sources (--sources N, or --cpm-list A,B,C with one rate each) share one
 * credential and run concurrently, each making --count calls in turn.
 */
#include "autoconf.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "api.h"
#include "config.h"
#include "log.h"
#include "util.h"

#define MAX_SOURCES	16
#define MAX_FILTERS	16

struct probe_source {
	struct source_config	 sc;
	struct api_call		*call;
	int			 done;		/* calls finished */
	int			 attempt;	/* failures in a row */
	struct event		*next;
};

static struct api		*api;
static struct event_base	*base;
static struct probe_source	 src[MAX_SOURCES];
static int			 nsrc = 1;
static int			 count = 1;
static int			 backoff;
static int64_t			 interval;
static int			 failures;
static int			 running;
static struct kv		 query[8 + MAX_FILTERS];
static size_t			 nquery;
static int64_t			 started;

static void	start_call(struct probe_source *);

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
"usage: api-probe --endpoint URL --project ID [--region R]\n"
"\t(--aksk AK:SK [--security-token T] | --user DOMAIN:USER:PASSWORD\n"
"\t [--iam URL] | --token-file FILE)\n"
"\t[--ca-file F] [--proxy URL] [--timeout DUR] [--cpm N]\n"
"\t[--sources N | --cpm-list N,N,...] [--count N] [--duration DUR]\n"
"\t[--window DUR] [--begin MS --end MS] [--offset N] [--limit N]\n"
"\t[--category host|container] [--filter K=V]... [--backoff]\n"
"\t[--interval DUR] [--max-response BYTES] [-v]\n");
	exit(2);
}

static int64_t
num(const char *s, int64_t min, int64_t max)
{
	int64_t		 v;
	const char	*errstr;

	if (parse_int64(s, min, max, &v, &errstr) == -1) {
		fprintf(stderr, "api-probe: %s: %s\n", s, errstr);
		exit(2);
	}
	return v;
}

static int64_t
dur(const char *s)
{
	int64_t		 v;
	const char	*errstr;

	if (parse_duration(s, &v, &errstr) == -1) {
		fprintf(stderr, "api-probe: %s: %s\n", s, errstr);
		exit(2);
	}
	return v;
}

/* "A:B" -> two strings (split at the first n-1 colons). */
static void
split(char *s, char **parts, int n)
{
	int	 i;
	char	*c;

	for (i = 0; i < n - 1; i++) {
		if ((c = strchr(s, ':')) == NULL)
			usage();
		*c = '\0';
		parts[i] = s;
		s = c + 1;
	}
	parts[n - 1] = s;
}

static long long
total_num(const struct api_result *r)
{
	cJSON		*root;
	const cJSON	*t;
	long long	 n = -1;

	if (r->status != API_OK)
		return -1;
	if ((root = cJSON_ParseWithLength(r->body, r->body_len)) == NULL)
		return -2;
	t = cJSON_GetObjectItemCaseSensitive(root, "total_num");
	if (cJSON_IsNumber(t))
		n = (long long)t->valuedouble;
	cJSON_Delete(root);
	return n;
}

static void
finished_one(void)
{
	if (--running == 0)
		event_base_loopexit(base, NULL);
}

static void
next_cb(evutil_socket_t fd, short kind, void *arg)
{
	start_call(arg);
}

static void
result_cb(const struct api_result *r, void *arg)
{
	struct probe_source	*s = arg;
	struct timeval		 tv;
	int64_t			 wait = 0;

	s->call = NULL;
	s->done++;
	printf("%s %s http=%ld calls=%d throttled=%d total=%lld ms=%lld "
	    "detail=%s\n", s->sc.name, api_status_name(r->status),
	    r->http_status, r->calls, r->throttled, total_num(r),
	    (long long)(time_mono_ms() - started), r->detail);
	fflush(stdout);
	if (r->status != API_OK) {
		failures++;
		if (backoff)
			wait = api_backoff_ms(s->attempt++, (uint32_t)random());
	} else {
		s->attempt = 0;
		wait = interval;
	}
	if (s->done >= count) {
		finished_one();
		return;
	}
	tv.tv_sec = wait / 1000;
	tv.tv_usec = (wait % 1000) * 1000;
	if (wait > 0 && r->status != API_OK)
		printf("%s backoff ms=%lld\n", s->sc.name, (long long)wait);
	evtimer_add(s->next, &tv);
}

static void
start_call(struct probe_source *s)
{
	s->call = api_list_events(api, &s->sc, query, nquery, result_cb, s);
}

static void
deadline_cb(evutil_socket_t fd, short kind, void *arg)
{
	int	 i;

	for (i = 0; i < nsrc; i++) {
		if (src[i].call != NULL) {
			api_call_cancel(src[i].call);
			src[i].call = NULL;
			printf("%s cancelled\n", src[i].sc.name);
		}
		evtimer_del(src[i].next);
	}
	fflush(stdout);
	event_base_loopexit(base, NULL);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "endpoint", required_argument, NULL, 'E' },
		{ "project", required_argument, NULL, 'P' },
		{ "region", required_argument, NULL, 'R' },
		{ "aksk", required_argument, NULL, 'A' },
		{ "security-token", required_argument, NULL, 'S' },
		{ "user", required_argument, NULL, 'U' },
		{ "iam", required_argument, NULL, 'I' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "ca-file", required_argument, NULL, 'C' },
		{ "proxy", required_argument, NULL, 'X' },
		{ "timeout", required_argument, NULL, 't' },
		{ "cpm", required_argument, NULL, 'm' },
		{ "sources", required_argument, NULL, 'n' },
		{ "cpm-list", required_argument, NULL, 'M' },
		{ "count", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "window", required_argument, NULL, 'w' },
		{ "begin", required_argument, NULL, 'b' },
		{ "end", required_argument, NULL, 'e' },
		{ "offset", required_argument, NULL, 'o' },
		{ "limit", required_argument, NULL, 'l' },
		{ "category", required_argument, NULL, 'g' },
		{ "filter", required_argument, NULL, 'f' },
		{ "backoff", no_argument, NULL, 'B' },
		{ "interval", required_argument, NULL, 'i' },
		{ "max-response", required_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 },
	};
	struct source_config	 sc;
	struct event		*deadline = NULL;
	struct timeval		 tv;
	char			*parts[3], *p, *cpm_list = NULL, *eq;
	char			 bs[24], es[24], os[24], ls[24];
	int64_t			 window = 86400000, begin = -1, end = -1;
	int64_t			 duration = 0, offset = 0, limit = 10;
	int64_t			 max_response = 0;
	int			 ch, i, verbose = 0, nfilters = 0, rc;

	memset(&sc, 0, sizeof(sc));
	sc.region = "ap-southeast-1";
	sc.category = CATEGORY_HOST;
	sc.timeout_ms = 30000;
	sc.calls_per_minute = 5;
	sc.cred.method = (enum cred_method)-1;
	while ((ch = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'E':
			sc.endpoint = optarg;
			break;
		case 'P':
			sc.project_id = optarg;
			break;
		case 'R':
			sc.region = optarg;
			break;
		case 'A':
			split(optarg, parts, 2);
			sc.cred.method = CRED_AKSK;
			sc.cred.access_key.value = parts[0];
			sc.cred.secret_key.value = parts[1];
			break;
		case 'S':
			sc.cred.security_token.value = optarg;
			break;
		case 'U':
			split(optarg, parts, 3);
			sc.cred.method = CRED_PASSWORD;
			sc.cred.domain = parts[0];
			sc.cred.user = parts[1];
			sc.cred.password.value = parts[2];
			break;
		case 'I':
			sc.cred.iam_endpoint = optarg;
			break;
		case 'T':
			sc.cred.method = CRED_TOKEN;
			sc.cred.token.origin = SECRET_FILE;
			sc.cred.token.where = optarg;
			break;
		case 'C':
			sc.ca_file = optarg;
			break;
		case 'X':
			sc.proxy = optarg;
			break;
		case 't':
			sc.timeout_ms = dur(optarg);
			break;
		case 'm':
			sc.calls_per_minute = (int)num(optarg, 1, 100000);
			break;
		case 'n':
			nsrc = (int)num(optarg, 1, MAX_SOURCES);
			break;
		case 'M':
			cpm_list = optarg;
			break;
		case 'c':
			count = (int)num(optarg, 1, 1000000);
			break;
		case 'd':
			duration = dur(optarg);
			break;
		case 'w':
			window = dur(optarg);
			break;
		case 'b':
			begin = num(optarg, 0, INT64_MAX);
			break;
		case 'e':
			end = num(optarg, 0, INT64_MAX);
			break;
		case 'o':
			offset = num(optarg, 0, 2000000);
			break;
		case 'l':
			limit = num(optarg, 1, 100000);
			break;
		case 'x':
			max_response = num(optarg, 1, INT64_MAX);
			break;
		case 'g':
			if (strcmp(optarg, "container") == 0)
				sc.category = CATEGORY_CONTAINER;
			else if (strcmp(optarg, "host") != 0)
				usage();
			break;
		case 'f':
			if (nfilters == MAX_FILTERS ||
			    (eq = strchr(optarg, '=')) == NULL)
				usage();
			*eq = '\0';
			query[nquery].key = optarg;
			query[nquery++].value = eq + 1;
			nfilters++;
			break;
		case 'B':
			backoff = 1;
			break;
		case 'i':
			interval = dur(optarg);
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (sc.endpoint == NULL || sc.project_id == NULL ||
	    (int)sc.cred.method == -1 || optind != argc)
		usage();
	log_init(1, verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)getpid());

	if (end < 0)
		end = time_now_ms();
	if (begin < 0)
		begin = end - window;
	snprintf(bs, sizeof(bs), "%lld", (long long)begin);
	snprintf(es, sizeof(es), "%lld", (long long)end);
	snprintf(os, sizeof(os), "%lld", (long long)offset);
	snprintf(ls, sizeof(ls), "%lld", (long long)limit);
	query[nquery++] = (struct kv){ "category",
	    sc.category == CATEGORY_HOST ? "host" : "container" };
	query[nquery++] = (struct kv){ "begin_time", bs };
	query[nquery++] = (struct kv){ "end_time", es };
	query[nquery++] = (struct kv){ "offset", os };
	query[nquery++] = (struct kv){ "limit", ls };

	if (cpm_list != NULL) {
		nsrc = 0;
		while ((p = strsep(&cpm_list, ",")) != NULL) {
			if (nsrc == MAX_SOURCES)
				usage();
			src[nsrc].sc = sc;
			src[nsrc++].sc.calls_per_minute =
			    (int)num(p, 1, 100000);
		}
	} else
		for (i = 0; i < nsrc; i++)
			src[i].sc = sc;

	base = event_base_new();
	api = api_new(base);
	api_set_max_response(api, (size_t)max_response);
	started = time_mono_ms();
	for (i = 0; i < nsrc; i++) {
		src[i].sc.name = xasprintf("s%d", i);
		src[i].next = evtimer_new(base, next_cb, &src[i]);
		start_call(&src[i]);
		running++;
	}
	if (duration > 0) {
		deadline = evtimer_new(base, deadline_cb, NULL);
		tv.tv_sec = duration / 1000;
		tv.tv_usec = (duration % 1000) * 1000;
		evtimer_add(deadline, &tv);
	}
	event_base_dispatch(base);
	rc = failures > 0 ? 1 : 0;
	api_free(api);
	for (i = 0; i < nsrc; i++) {
		free(src[i].sc.name);
		event_free(src[i].next);
	}
	if (deadline != NULL)
		event_free(deadline);
	event_base_free(base);
	return rc;
}
