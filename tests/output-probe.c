/*
 * output-probe: drive one output (src/output.c) from the command line for
 * the integration tests. It enqueues N generated RFC 5424 messages (each
 * carrying a unique id=N) or the lines of a file, waits until every one is
 * acknowledged and prints what happens on stdout, one line per fact:
 *   connected 0|1, congested 0|1, acked N, all acked, timeout,
 *   stats enqueued=.. acked=.. truncated=.. resent=.. reconnects=..
 * Exit: 0 all acknowledged, 1 time limit reached, 2 usage, 3 SIGTERM with
 * messages left unacknowledged after the graceful shutdown.
 */
#include "autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "config.h"
#include "log.h"
#include "output.h"
#include "util.h"

static FILE	*rep;		/* stderr when the output is stdout */

struct probe {
	struct event_base	*base;
	struct output		*out;
	struct output_config	 cfg;
	int64_t			 count;
	int64_t			 size;
	const char		*pad;
	int			 pause;		/* paused while congested */
	int			 crlf;		/* CR LF inside each message */
	int64_t			 rate;		/* messages/s, 0: no limit */
	const char		*pause_file;	/* paused while it exists */
	int			 paused;
	int64_t			 generated;
	char			**lines;	/* --file */
	size_t			 nlines;
	uint64_t		 last_acked;
	int			 last_connected;
	uint64_t		 last_reconnects;
	int			 done;
	int			 exitcode;
	int64_t			 shutdown_ms;
	int64_t			 stats_ms;
	struct event		*ev_gen;
	struct event		*ev_tick;
	struct event		*ev_limit;
	struct event		*ev_term;
};

static void
usage(void)
{
	fprintf(stderr, "usage: output-probe -t tcp|tls|udp|stdout "
	    "-a host:port [-f octet|lf] [-n count] [-s size] [--pad STR]\n"
	    "    [--file FILE] [--ca F] [--cert F] [--key F] "
	    "[--server-name N] [--no-verify]\n"
	    "    [--min-version 1.2|1.3] [-q queue_limit] "
	    "[-m max_message_size] [-T seconds]\n"
	    "    [--pause-when-congested] [--queue-bytes N] [--crlf] "
	    "[--shutdown-ms MS] [--stats-ms MS] [--rate N]\n"
	    "    [--pause-file F] [-v]\n");
	exit(2);
}

static void
print_stats(struct probe *p)
{
	struct output_stats	 st;

	output_get_stats(p->out, &st);
	fprintf(rep, "stats enqueued=%llu acked=%llu truncated=%llu "
	    "resent=%llu reconnects=%llu connect_failures=%llu bytes_sent=%llu "
	    "queue_depth=%zu connected=%d lf_replaced=%llu\n",
	    (unsigned long long)st.enqueued, (unsigned long long)st.acked,
	    (unsigned long long)st.truncated, (unsigned long long)st.resent,
	    (unsigned long long)st.reconnects,
	    (unsigned long long)st.connect_failures,
	    (unsigned long long)st.bytes_sent, st.queue_depth, st.connected,
	    (unsigned long long)output_lf_replaced(p->out));
	fflush(rep);
}

static void
report(struct probe *p)
{
	struct output_stats	 st;

	output_get_stats(p->out, &st);
	if (st.connected != p->last_connected) {
		p->last_connected = st.connected;
		fprintf(rep, "connected %d\n", st.connected);
	}
	if (st.reconnects != p->last_reconnects) {
		p->last_reconnects = st.reconnects;
		fprintf(rep, "reconnects %llu\n",
		    (unsigned long long)st.reconnects);
	}
	if (st.acked != p->last_acked) {
		p->last_acked = st.acked;
		fprintf(rep, "acked %llu\n", (unsigned long long)st.acked);
	}
	fflush(rep);
}

static void
finish(struct probe *p, int code)
{
	if (p->done)
		return;
	p->done = 1;
	p->exitcode = code;
	report(p);
	print_stats(p);
	event_base_loopexit(p->base, NULL);
}

static void
on_all_acked(void *arg)
{
	struct probe	*p = arg;

	report(p);
	fprintf(rep, "all acked\n");
	finish(p, 0);
}

static void
make_message(struct probe *p, int64_t id, struct buf *b)
{
	buf_reset(b);
	if (p->lines != NULL) {
		buf_adds(b, p->lines[id - 1]);
		return;
	}
	buf_printf(b, "<134>1 2024-05-01T10:00:00.000Z probe output-probe "
	    "- - [probe@32473 id=\"%lld\"] id=%lld ", (long long)id,
	    (long long)id);
	if (p->crlf)
		buf_adds(b, "a\r\nb ");
	while ((int64_t)b->len < p->size) {
		if (p->pad != NULL && *p->pad != '\0')
			buf_adds(b, p->pad);
		else
			buf_addc(b, (char)('a' + b->len % 26));
	}
	if (p->pad == NULL && (int64_t)b->len > p->size &&
	    p->size > 0)
		buf_truncate(b, (size_t)p->size);
}

/* Generate in batches so the loop runs between them. */
static void
on_gen(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*p = arg;
	struct buf	 b;
	int		 i, batch = 500;
	struct timeval	 tv = { 0, 0 };

	if (p->pause_file != NULL && access(p->pause_file, F_OK) == 0) {
		if (!p->paused)
			fprintf(rep, "paused generated=%lld\n",
			    (long long)p->generated);
		p->paused = 1;
		tv.tv_usec = 20000;
		evtimer_add(p->ev_gen, &tv);
		return;
	}
	if (p->paused)
		fprintf(rep, "resumed\n");
	p->paused = 0;
	if (p->rate > 0) {
		batch = (int)(p->rate / 100 > 0 ? p->rate / 100 : 1);
		tv.tv_usec = 10000;
	}
	buf_init(&b);
	for (i = 0; i < batch && p->generated < p->count; i++) {
		if (p->pause && output_congested(p->out))
			break;
		p->generated++;
		make_message(p, p->generated, &b);
		output_enqueue(p->out, b.data, b.len);
	}
	buf_free(&b);
	if (p->generated == p->count) {
		fprintf(rep, "generated %lld\n", (long long)p->generated);
		fflush(rep);
		output_when_acked(p->out, output_last_seq(p->out),
		    on_all_acked, p);
		return;
	}
	if (p->pause && output_congested(p->out))
		return;		/* resumed by the congestion callback */
	evtimer_add(p->ev_gen, &tv);
}

static void
on_congestion(struct output *o, int congested, void *arg)
{
	struct probe	*p = arg;
	struct timeval	 tv = { 0, 0 };
	struct output_stats st;

	output_get_stats(o, &st);
	fprintf(rep, "congested %d depth=%zu generated=%lld\n", congested,
	    st.queue_depth, (long long)p->generated);
	fflush(rep);
	if (!congested && p->generated < p->count && !p->done)
		evtimer_add(p->ev_gen, &tv);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*p = arg;
	struct timeval	 tv;

	report(p);
	if (p->stats_ms > 0)
		print_stats(p);
	tv.tv_sec = 0;
	tv.tv_usec = 200 * 1000;
	if (p->stats_ms > 0) {
		tv.tv_sec = p->stats_ms / 1000;
		tv.tv_usec = (p->stats_ms % 1000) * 1000;
	}
	evtimer_add(p->ev_tick, &tv);
}

static void
on_limit(evutil_socket_t fd, short what, void *arg)
{
	fprintf(rep, "timeout\n");
	finish(arg, 1);
}

static void
on_shutdown_done(void *arg)
{
	struct probe		*p = arg;
	struct output_stats	 st;

	output_get_stats(p->out, &st);
	fprintf(rep, "shutdown done depth=%zu\n", st.queue_depth);
	finish(p, st.queue_depth == 0 && p->generated == p->count ? 0 : 3);
}

static void
on_term(evutil_socket_t sig, short what, void *arg)
{
	struct probe	*p = arg;

	fprintf(rep, "sigterm\n");
	fflush(rep);
	event_del(p->ev_gen);
	p->count = p->generated;	/* stop generating */
	output_shutdown(p->out, p->shutdown_ms, on_shutdown_done, p);
}

static void
read_lines(struct probe *p, const char *path)
{
	FILE	*f;
	char	*line = NULL;
	size_t	 cap = 0, room = 0;
	ssize_t	 n;

	if ((f = fopen(path, "r")) == NULL)
		fatal("%s", path);
	while ((n = getline(&line, &cap, f)) != -1) {
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		/* doubling: a realloc a line copied 1.6 GB under ASan */
		if (p->nlines == room) {
			room = room ? 2 * room : 1024;
			p->lines = xreallocarray(p->lines, room,
			    sizeof(*p->lines));
		}
		p->lines[p->nlines++] = xstrdup(line);
	}
	free(line);
	fclose(f);
	p->count = (int64_t)p->nlines;
}

static int64_t
num(const char *s, int64_t min, int64_t max)
{
	int64_t		 v;
	const char	*errstr;

	if (parse_int64(s, min, max, &v, &errstr) == -1) {
		fprintf(stderr, "output-probe: %s: %s\n", s, errstr);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ca", required_argument, NULL, 'A' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "server-name", required_argument, NULL, 'N' },
		{ "no-verify", no_argument, NULL, 'V' },
		{ "min-version", required_argument, NULL, 'M' },
		{ "pause-when-congested", no_argument, NULL, 'P' },
		{ "file", required_argument, NULL, 'F' },
		{ "pad", required_argument, NULL, 'D' },
		{ "crlf", no_argument, NULL, 'R' },
		{ "shutdown-ms", required_argument, NULL, 'S' },
		{ "stats-ms", required_argument, NULL, 'I' },
		{ "rate", required_argument, NULL, 'r' },
		{ "pause-file", required_argument, NULL, 'p' },
		{ "queue-bytes", required_argument, NULL, 'B' },
		{ NULL, 0, NULL, 0 }
	};
	struct probe	 p;
	const char	*errstr, *file = NULL;
	int64_t		 limit_s = 60;
	struct timeval	 tv;
	int		 ch, verbose = 0, framing_set = 0;
	size_t		 i;

	memset(&p, 0, sizeof(p));
	p.count = 100;
	p.size = 0;
	p.shutdown_ms = 5000;
	p.cfg.name = "probe";
	p.cfg.transport = TRANSPORT_TCP;
	p.cfg.framing = FRAMING_OCTET_COUNTING;
	p.cfg.tls.verify = 1;
	p.cfg.tls.min_version = TLS1_2_VERSION;
	p.cfg.max_message_size = 65536;
	p.cfg.queue_limit = 10000;
	p.last_connected = -1;
	while ((ch = getopt_long(argc, argv, "t:a:f:n:s:q:m:T:v", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 't':
			if (strcmp(optarg, "tcp") == 0)
				p.cfg.transport = TRANSPORT_TCP;
			else if (strcmp(optarg, "tls") == 0)
				p.cfg.transport = TRANSPORT_TLS;
			else if (strcmp(optarg, "udp") == 0)
				p.cfg.transport = TRANSPORT_UDP;
			else if (strcmp(optarg, "stdout") == 0)
				p.cfg.transport = TRANSPORT_STDOUT;
			else
				usage();
			break;
		case 'a':
			p.cfg.address = optarg;
			if (parse_hostport(optarg, &p.cfg.host, &p.cfg.port,
			    &errstr) == -1) {
				fprintf(stderr, "output-probe: %s: %s\n",
				    optarg, errstr);
				return 2;
			}
			break;
		case 'f':
			framing_set = 1;
			if (strcmp(optarg, "octet") == 0)
				p.cfg.framing = FRAMING_OCTET_COUNTING;
			else if (strcmp(optarg, "lf") == 0)
				p.cfg.framing = FRAMING_LF;
			else
				usage();
			break;
		case 'n':
			p.count = num(optarg, 0, 100000000);
			break;
		case 's':
			p.size = num(optarg, 0, 10000000);
			break;
		case 'q':
			p.cfg.queue_limit = (size_t)num(optarg, 1, 100000000);
			break;
		case 'm':
			p.cfg.max_message_size = (size_t)num(optarg, 1,
			    100000000);
			break;
		case 'B':
			p.cfg.queue_limit_bytes = (size_t)num(optarg, 1,
			    INT64_MAX);
			break;
		case 'T':
			limit_s = num(optarg, 1, 86400);
			break;
		case 'v':
			verbose = 1;
			break;
		case 'A':
			p.cfg.tls.ca_file = optarg;
			break;
		case 'C':
			p.cfg.tls.cert_file = optarg;
			break;
		case 'K':
			p.cfg.tls.key_file = optarg;
			break;
		case 'N':
			p.cfg.tls.server_name = optarg;
			break;
		case 'V':
			p.cfg.tls.verify = 0;
			break;
		case 'M':
			if (strcmp(optarg, "1.2") == 0)
				p.cfg.tls.min_version = TLS1_2_VERSION;
			else if (strcmp(optarg, "1.3") == 0)
				p.cfg.tls.min_version = TLS1_3_VERSION;
			else
				usage();
			break;
		case 'P':
			p.pause = 1;
			break;
		case 'F':
			file = optarg;
			break;
		case 'D':
			p.pad = optarg;
			break;
		case 'R':
			p.crlf = 1;
			break;
		case 'S':
			p.shutdown_ms = num(optarg, 0, 600000);
			break;
		case 'I':
			p.stats_ms = num(optarg, 0, 600000);
			break;
		case 'r':
			p.rate = num(optarg, 0, 100000000);
			break;
		case 'p':
			p.pause_file = optarg;
			break;
		default:
			usage();
		}
	}
	if (p.cfg.transport != TRANSPORT_STDOUT && p.cfg.address == NULL)
		usage();
	if (!framing_set && p.cfg.transport == TRANSPORT_UDP)
		p.cfg.framing = FRAMING_NONE;
	if (file != NULL)
		read_lines(&p, file);
	signal(SIGPIPE, SIG_IGN);
	rep = p.cfg.transport == TRANSPORT_STDOUT ? stderr : stdout;
	setvbuf(rep, NULL, _IOLBF, 0);
	log_init(1, verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);

	if ((p.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if ((p.out = output_new(p.base, &p.cfg)) == NULL) {
		fprintf(stderr, "output-probe: output_new failed\n");
		return 2;
	}
	output_set_congestion_cb(p.out, on_congestion, &p);
	p.ev_gen = evtimer_new(p.base, on_gen, &p);
	p.ev_tick = evtimer_new(p.base, on_tick, &p);
	p.ev_limit = evtimer_new(p.base, on_limit, &p);
	p.ev_term = evsignal_new(p.base, SIGTERM, on_term, &p);
	evsignal_add(p.ev_term, NULL);
	tv.tv_sec = limit_s;
	tv.tv_usec = 0;
	evtimer_add(p.ev_limit, &tv);
	tv.tv_sec = 0;
	tv.tv_usec = 0;
	evtimer_add(p.ev_tick, &tv);
	evtimer_add(p.ev_gen, &tv);
	fprintf(rep, "pid %ld\n", (long)getpid());
	if (output_start(p.out) == -1)
		return 2;
	event_base_dispatch(p.base);

	output_free(p.out);
	event_free(p.ev_gen);
	event_free(p.ev_tick);
	event_free(p.ev_limit);
	event_free(p.ev_term);
	event_base_free(p.base);
	free(p.cfg.host);
	for (i = 0; i < p.nlines; i++)
		free(p.lines[i]);
	free(p.lines);
	return p.exitcode;
}
