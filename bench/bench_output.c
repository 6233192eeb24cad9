/*
 * bench_output: throughput of src/output.c over loopback TCP, octet
 * counting, into a receiver served by the same event loop: messages per
 * second from the first enqueue until the last acknowledgement (SIOCOUTQ),
 * and the peak of queued messages. Prints figures; asserts nothing.
 *   bench_output [count] [size]
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "log.h"
#include "output.h"
#include "util.h"

struct bench {
	struct event_base	*base;
	struct output		*out;
	int			 lfd;
	int			 cfd;
	struct event		*ev_accept;
	struct event		*ev_rx;
	struct event		*ev_gen;
	uint64_t		 received;
	int64_t			 count;
	int64_t			 generated;
	char			*msg;
	size_t			 size;
	int64_t			 t0;
	int64_t			 t1;
	int			 waiting;
};

static void
on_rx(evutil_socket_t fd, short what, void *arg)
{
	struct bench	*b = arg;
	char		 buf[65536];
	ssize_t		 n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		b->received += (uint64_t)n;
}

static void
on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct bench	*b = arg;

	if ((b->cfd = accept(fd, NULL, NULL)) == -1)
		return;
	b->ev_rx = event_new(b->base, b->cfd, EV_READ | EV_PERSIST, on_rx, b);
	event_add(b->ev_rx, NULL);
}

static void
on_acked(void *arg)
{
	struct bench	*b = arg;

	b->t1 = time_mono_ms();
	event_base_loopexit(b->base, NULL);
}

static void
on_gen(evutil_socket_t fd, short what, void *arg)
{
	struct bench	*b = arg;
	struct timeval	 tv = { 0, 0 };
	int		 i;

	if (b->t0 == 0)
		b->t0 = time_mono_ms();
	for (i = 0; i < 1000 && b->generated < b->count; i++) {
		if (output_congested(b->out)) {
			tv.tv_usec = 1000;
			break;
		}
		b->generated++;
		output_enqueue(b->out, b->msg, b->size);
	}
	if (b->generated == b->count) {
		output_when_acked(b->out, output_last_seq(b->out), on_acked,
		    b);
		return;
	}
	evtimer_add(b->ev_gen, &tv);
}

int
main(int argc, char **argv)
{
	struct bench		 b;
	struct output_config	 cfg;
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	struct output_stats	 st;
	const char		*errstr;
	char			 addr[64];
	struct timeval		 tv = { 0, 0 };
	double			 secs;

	memset(&b, 0, sizeof(b));
	memset(&cfg, 0, sizeof(cfg));
	b.count = 500000;
	b.size = 400;
	if (argc > 1 && parse_int64(argv[1], 1, 100000000, &b.count,
	    &errstr) == -1)
		fatalx("count: %s", errstr);
	if (argc > 2) {
		int64_t	 v;

		if (parse_int64(argv[2], 1, 65536, &v, &errstr) == -1)
			fatalx("size: %s", errstr);
		b.size = (size_t)v;
	}
	log_init(1, LOG_LEVEL_WARNING);
	b.msg = xmalloc(b.size);
	memset(b.msg, 'x', b.size);
	b.base = event_base_new();

	b.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(b.lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(b.lfd, 1) == -1 ||
	    getsockname(b.lfd, (struct sockaddr *)&sin, &len) == -1)
		fatal("listen");
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", ntohs(sin.sin_port));
	b.ev_accept = event_new(b.base, b.lfd, EV_READ, on_accept, &b);
	event_add(b.ev_accept, NULL);

	cfg.name = "bench";
	cfg.transport = TRANSPORT_TCP;
	cfg.framing = FRAMING_OCTET_COUNTING;
	cfg.address = addr;
	if (parse_hostport(addr, &cfg.host, &cfg.port, &errstr) == -1)
		fatalx("%s", errstr);
	cfg.max_message_size = 65536;
	cfg.queue_limit = 10000;
	if ((b.out = output_new(b.base, &cfg)) == NULL)
		fatalx("output_new");
	output_start(b.out);
	b.ev_gen = evtimer_new(b.base, on_gen, &b);
	evtimer_add(b.ev_gen, &tv);
	event_base_dispatch(b.base);

	output_get_stats(b.out, &st);
	secs = (double)(b.t1 - b.t0) / 1000.0;
	printf("tcp octet-counting, %lld messages of %zu bytes: %.2f s, "
	    "%.0f msg/s, %.1f MB/s acknowledged; bytes_sent %llu, "
	    "received %llu\n", (long long)b.count, b.size, secs,
	    (double)b.count / secs,
	    (double)st.bytes_sent / secs / 1e6,
	    (unsigned long long)st.bytes_sent,
	    (unsigned long long)b.received);

	output_free(b.out);
	event_free(b.ev_gen);
	event_free(b.ev_accept);
	if (b.ev_rx != NULL)
		event_free(b.ev_rx);
	close(b.cfd);
	close(b.lfd);
	event_base_free(b.base);
	free(cfg.host);
	free(b.msg);
	return 0;
}
