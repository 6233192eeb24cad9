/*
 * test_output.c: unit tests of src/output.c against sockets made here on
 * loopback: exact framed bytes (octet counting, lf, datagrams), UTF-8
 * truncation, CR/LF replacement, acknowledgement waiters, congestion and
 * the shutdown callback.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "config.h"
#include "log.h"
#include "output.h"
#include "relp.h"
#include "util.h"

struct fixture {
	struct event_base	*base;
	struct output_config	 cfg;
	char			 addr[64];
	int			 lfd;	/* listening or bound socket */
	int			 cfd;	/* accepted */
	int			 acked_calls;
	int			 cong_calls;
	int			 last_cong;
};

static int
setup(void **state)
{
	struct fixture	*f;

	f = xcalloc(1, sizeof(*f));
	f->base = event_base_new();
	assert_non_null(f->base);
	f->lfd = f->cfd = -1;
	f->cfg.name = "t";
	f->cfg.tls.verify = 1;
	f->cfg.max_message_size = 65536;
	f->cfg.queue_limit = 100;
	f->last_cong = -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	if (f->cfd != -1)
		close(f->cfd);
	if (f->lfd != -1)
		close(f->lfd);
	free(f->cfg.host);
	event_base_free(f->base);
	free(f);
	return 0;
}

/* A socket bound to 127.0.0.1 on a port the kernel picks. */
static void
bind_local(struct fixture *f, int type, enum output_transport t)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	const char		*errstr;

	f->lfd = socket(AF_INET, type, 0);
	assert_true(f->lfd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sin, &len),
	    0);
	snprintf(f->addr, sizeof(f->addr), "127.0.0.1:%d",
	    ntohs(sin.sin_port));
	f->cfg.address = f->addr;
	f->cfg.transport = t;
	assert_int_equal(parse_hostport(f->addr, &f->cfg.host, &f->cfg.port,
	    &errstr), 0);
}

/* Run the loop in 10 ms slices until *flag or 5 s passed. */
static void
run_until(struct fixture *f, const int *flag)
{
	struct timeval	 tv = { 0, 10000 };
	int64_t		 end = time_mono_ms() + 5000;

	while (!*flag && time_mono_ms() < end) {
		event_base_loopexit(f->base, &tv);
		event_base_dispatch(f->base);
	}
}

static void
on_acked(void *arg)
{
	struct fixture	*f = arg;

	f->acked_calls++;
}

static void
on_cong(struct output *o, int c, void *arg)
{
	struct fixture	*f = arg;

	f->cong_calls++;
	f->last_cong = c;
}

/* Read exactly len bytes from fd within 5 s. */
static void
read_exact(int fd, char *out, size_t len)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	size_t		 got = 0;
	ssize_t		 n;

	while (got < len) {
		assert_true(poll(&pfd, 1, 5000) == 1);
		n = recv(fd, out + got, len - got, 0);
		assert_true(n > 0);
		got += (size_t)n;
	}
}

static void
accept_peer(struct fixture *f, struct output *o)
{
	struct output_stats	 st;
	int64_t			 end = time_mono_ms() + 5000;
	struct timeval		 tv = { 0, 10000 };

	do {
		event_base_loopexit(f->base, &tv);
		event_base_dispatch(f->base);
		output_get_stats(o, &st);
	} while (!st.connected && time_mono_ms() < end);
	assert_int_equal(st.connected, 1);
	f->cfd = accept(f->lfd, NULL, NULL);
	assert_true(f->cfd >= 0);
}

static void
test_tcp_octet_counting(void **state)
{
	struct fixture		*f = *state;
	struct output		*o;
	struct output_stats	 st;
	char			 got[64];
	static const char	 want[] = "5 hello13 h\xc3\xa9llo world!";

	bind_local(f, SOCK_STREAM, TRANSPORT_TCP);
	f->cfg.framing = FRAMING_OCTET_COUNTING;
	o = output_new(f->base, &f->cfg);
	assert_non_null(o);
	output_set_congestion_cb(o, on_cong, f);
	assert_int_equal(output_congested(o), 1);
	assert_int_equal(output_enqueue(o, "hello", 5), 1);
	assert_int_equal(output_enqueue(o, "h\xc3\xa9llo world!", 13), 2);
	assert_int_equal(output_last_seq(o), 2);
	assert_int_equal(output_start(o), 0);
	accept_peer(f, o);
	assert_int_equal(f->last_cong, 0);
	output_when_acked(o, 2, on_acked, f);
	assert_int_equal(f->acked_calls, 0);	/* never synchronous */
	run_until(f, &f->acked_calls);
	assert_int_equal(f->acked_calls, 1);
	read_exact(f->cfd, got, sizeof(want) - 1);
	assert_memory_equal(got, want, sizeof(want) - 1);
	output_get_stats(o, &st);
	assert_int_equal(st.enqueued, 2);
	assert_int_equal(st.acked, 2);
	assert_int_equal(st.queue_depth, 0);
	assert_int_equal(st.bytes_sent, sizeof(want) - 1);
	assert_int_equal(st.truncated, 0);
	assert_int_equal(st.resent, 0);
	assert_int_equal(st.reconnects, 0);
	/* a waiter for what is already acknowledged: deferred, still once */
	output_when_acked(o, 1, on_acked, f);
	assert_int_equal(f->acked_calls, 1);
	f->acked_calls = 0;
	run_until(f, &f->acked_calls);
	assert_int_equal(f->acked_calls, 1);
	output_free(o);
}

static void
test_tcp_lf_replaces_crlf(void **state)
{
	struct fixture	*f = *state;
	struct output	*o;
	char		 got[32];
	static const char want[] = "a  b\nx\n";

	bind_local(f, SOCK_STREAM, TRANSPORT_TCP);
	f->cfg.framing = FRAMING_LF;
	o = output_new(f->base, &f->cfg);
	assert_non_null(o);
	output_start(o);
	accept_peer(f, o);
	output_enqueue(o, "a\r\nb", 4);
	output_enqueue(o, "x", 1);
	output_when_acked(o, 2, on_acked, f);
	run_until(f, &f->acked_calls);
	assert_int_equal(f->acked_calls, 1);
	read_exact(f->cfd, got, sizeof(want) - 1);
	assert_memory_equal(got, want, sizeof(want) - 1);
	assert_int_equal(output_lf_replaced(o), 2);
	output_free(o);
}

static void
test_udp_truncates_on_utf8_boundary(void **state)
{
	struct fixture		*f = *state;
	struct output		*o;
	struct output_stats	 st;
	char			 got[64];
	ssize_t			 n;
	struct pollfd		 pfd;

	bind_local(f, SOCK_DGRAM, TRANSPORT_UDP);
	f->cfg.framing = FRAMING_NONE;
	f->cfg.max_message_size = 6;
	o = output_new(f->base, &f->cfg);
	assert_non_null(o);
	assert_int_equal(output_start(o), 0);
	/* "abcd" + U+20AC (3 bytes) would end at 7 > 6: cut before it */
	output_enqueue(o, "abcd\xe2\x82\xac", 7);
	output_enqueue(o, "abcdef", 6);
	output_when_acked(o, 2, on_acked, f);
	run_until(f, &f->acked_calls);
	assert_int_equal(f->acked_calls, 1);
	pfd.fd = f->lfd;
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	n = recv(f->lfd, got, sizeof(got), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(got, "abcd", 4);
	n = recv(f->lfd, got, sizeof(got), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(got, "abcdef", 6);
	output_get_stats(o, &st);
	assert_int_equal(st.truncated, 1);
	assert_int_equal(st.acked, 2);
	assert_int_equal(st.connected, 1);
	output_free(o);
}

static void
test_refused_keeps_messages(void **state)
{
	struct fixture		*f = *state;
	struct output		*o;
	struct output_stats	 st;
	int64_t			 end;
	struct timeval		 tv = { 0, 10000 };

	bind_local(f, SOCK_STREAM, TRANSPORT_TCP);
	close(f->lfd);		/* nobody listens there now */
	f->lfd = -1;
	o = output_new(f->base, &f->cfg);
	assert_non_null(o);
	output_enqueue(o, "kept", 4);
	output_start(o);
	end = time_mono_ms() + 5000;
	do {
		event_base_loopexit(f->base, &tv);
		event_base_dispatch(f->base);
		output_get_stats(o, &st);
	} while (st.connect_failures == 0 && time_mono_ms() < end);
	assert_int_equal(st.connect_failures, 1);
	assert_int_equal(st.connected, 0);
	assert_int_equal(st.queue_depth, 1);
	assert_int_equal(st.acked, 0);
	assert_int_equal(output_congested(o), 1);
	output_free(o);
}

static void
test_congestion_limit(void **state)
{
	struct fixture	*f = *state;
	struct output	*o;
	int		 i;

	bind_local(f, SOCK_STREAM, TRANSPORT_TCP);
	f->cfg.queue_limit = 4;
	o = output_new(f->base, &f->cfg);
	assert_non_null(o);
	output_set_congestion_cb(o, on_cong, f);
	/* not started: down, so congested whatever the depth */
	for (i = 0; i < 6; i++)
		output_enqueue(o, "m", 1);
	assert_int_equal(output_congested(o), 1);
	assert_int_equal(f->cong_calls, 0);	/* no change yet */
	output_start(o);
	accept_peer(f, o);
	/* up, and every message acknowledged: below half, clear */
	output_when_acked(o, 6, on_acked, f);
	run_until(f, &f->acked_calls);
	assert_int_equal(output_congested(o), 0);
	assert_int_equal(f->last_cong, 0);
	assert_int_equal(f->cong_calls, 1);
	output_free(o);
}

static void
on_shut(void *arg)
{
	struct fixture	*f = arg;

	f->acked_calls++;
}

static void
test_shutdown_calls_back_once(void **state)
{
	struct fixture	*f = *state;
	struct output	*o;
	struct timeval	 tv = { 0, 50000 };

	bind_local(f, SOCK_STREAM, TRANSPORT_TCP);
	o = output_new(f->base, &f->cfg);
	assert_non_null(o);
	output_start(o);
	accept_peer(f, o);
	output_enqueue(o, "bye", 3);
	output_shutdown(o, 2000, on_shut, f);
	assert_int_equal(f->acked_calls, 0);
	run_until(f, &f->acked_calls);
	assert_int_equal(f->acked_calls, 1);
	event_base_loopexit(f->base, &tv);
	event_base_dispatch(f->base);
	assert_int_equal(f->acked_calls, 1);
	output_free(o);
}

/* Freed while its name lookup is in flight: the late callback is harmless
 * (ASan/valgrind would see a use after free or a leak). */
static void
test_free_while_resolving(void **state)
{
	struct fixture	*f = *state;
	struct output	*o;
	struct timeval	 tv = { 0, 20000 };

	f->cfg.transport = TRANSPORT_TCP;
	f->cfg.address = "hss-output-test.invalid:514";
	f->cfg.host = xstrdup("hss-output-test.invalid");
	f->cfg.port = 514;
	o = output_new(f->base, &f->cfg);
	assert_non_null(o);
	output_enqueue(o, "x", 1);
	assert_int_equal(output_start(o), 0);
	event_base_loopexit(f->base, &tv);
	event_base_dispatch(f->base);
	output_free(o);
	event_base_loopexit(f->base, &tv);
	event_base_dispatch(f->base);
}

/* Run the loop while reading exactly want from the peer (5 s at most). */
static void
relp_expect(struct fixture *f, const char *want)
{
	char		 got[512];
	size_t		 len = strlen(want), have = 0;
	ssize_t		 n;
	struct timeval	 tv = { 0, 10000 };
	int64_t		 end = time_mono_ms() + 5000;

	assert_true(len < sizeof(got));
	while (have < len && time_mono_ms() < end) {
		event_base_loopexit(f->base, &tv);
		event_base_dispatch(f->base);
		n = recv(f->cfd, got + have, len - have, MSG_DONTWAIT);
		if (n > 0)
			have += (size_t)n;
	}
	assert_int_equal(have, len);
	assert_memory_equal(got, want, len);
}

/* Nothing more from the peer for 200 ms of the loop. */
static void
relp_expect_quiet(struct fixture *f)
{
	char		 c;
	struct timeval	 tv = { 0, 200000 };

	event_base_loopexit(f->base, &tv);
	event_base_dispatch(f->base);
	assert_int_equal(recv(f->cfd, &c, 1, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
}

static void
relp_send(struct fixture *f, const char *s)
{
	assert_int_equal(send(f->cfd, s, strlen(s), MSG_NOSIGNAL),
	    (ssize_t)strlen(s));
}

/* Accept the output's connection, check its open, answer it. */
static void
relp_accept_open(struct fixture *f, struct output *o)
{
	struct pollfd		 pfd = { f->lfd, POLLIN, 0 };
	struct output_stats	 st;
	struct buf		 open;
	struct timeval		 tv = { 0, 10000 };
	int64_t			 end = time_mono_ms() + 5000;
	static const char	 offers[] = "200 OK\nrelp_version=0\n"
	    "relp_software=test\ncommands=syslog";
	char			 rsp[128];

	while (poll(&pfd, 1, 0) == 0 && time_mono_ms() < end) {
		event_base_loopexit(f->base, &tv);
		event_base_dispatch(f->base);
	}
	if (f->cfd != -1)
		close(f->cfd);
	f->cfd = accept(f->lfd, NULL, NULL);
	assert_true(f->cfd >= 0);
	buf_init(&open);
	relp_frame_open(&open, 1, PACKAGE_NAME "," PACKAGE_VERSION);
	buf_addc(&open, '\0');
	relp_expect(f, open.data);
	buf_free(&open);
	output_get_stats(o, &st);
	assert_int_equal(st.connected, 0);	/* not before open's answer */
	relp_expect_quiet(f);		/* nothing before it either */
	snprintf(rsp, sizeof(rsp), "1 rsp %zu %s\n", sizeof(offers) - 1,
	    offers);
	relp_send(f, rsp);
	do {
		event_base_loopexit(f->base, &tv);
		event_base_dispatch(f->base);
		output_get_stats(o, &st);
	} while (!st.connected && time_mono_ms() < end);
	assert_int_equal(st.connected, 1);
}

/* Run the loop until the output acknowledged seq (5 s at most). */
static void
relp_until_acked(struct fixture *f, struct output *o, uint64_t seq)
{
	struct timeval	 tv = { 0, 10000 };
	int64_t		 end = time_mono_ms() + 5000;

	while (output_acked_seq(o) < seq && time_mono_ms() < end) {
		event_base_loopexit(f->base, &tv);
		event_base_dispatch(f->base);
	}
	assert_int_equal(output_acked_seq(o), seq);
}

/*
 * relp: open first; a window of 2; answers in any order acknowledge the
 * queue's oldest messages only once every older one is answered; after
 * a break only the unanswered message is sent again, not the one answered
 * behind it.
 */
static void
test_relp_window_any_order_resend(void **state)
{
	struct fixture		*f = *state;
	struct output		*o;
	struct output_stats	 st;
	struct timeval		 tv = { 0, 100000 };

	bind_local(f, SOCK_STREAM, TRANSPORT_RELP);
	f->cfg.framing = FRAMING_NONE;
	f->cfg.relp_window = 2;
	o = output_new(f->base, &f->cfg);
	assert_non_null(o);
	output_enqueue(o, "a", 1);
	output_enqueue(o, "b\nb", 3);		/* RELP carries any byte */
	output_enqueue(o, "c", 1);
	assert_int_equal(output_start(o), 0);
	relp_accept_open(f, o);
	relp_expect(f, "2 syslog 1 a\n3 syslog 3 b\nb\n");
	relp_expect_quiet(f);				/* window full */
	relp_send(f, "3 rsp 6 200 OK\n");
	relp_expect_quiet(f);				/* 2 still open */
	assert_int_equal(output_acked_seq(o), 0);
	relp_send(f, "2 rsp 6 200 OK\n");
	relp_until_acked(f, o, 2);
	relp_expect(f, "4 syslog 1 c\n");
	relp_send(f, "4 rsp 6 200 OK\n");
	relp_until_acked(f, o, 3);

	output_enqueue(o, "d", 1);
	output_enqueue(o, "e", 1);
	relp_expect(f, "5 syslog 1 d\n6 syslog 1 e\n");
	relp_send(f, "6 rsp 6 200 OK\n");
	event_base_loopexit(f->base, &tv);
	event_base_dispatch(f->base);
	assert_int_equal(output_acked_seq(o), 3);
	close(f->cfd);				/* the receiver dies */
	f->cfd = -1;
	relp_accept_open(f, o);			/* after the backoff */
	relp_expect(f, "2 syslog 1 d\n");
	relp_expect_quiet(f);			/* e was answered */
	relp_send(f, "2 rsp 6 200 OK\n");
	relp_until_acked(f, o, 5);
	output_get_stats(o, &st);
	assert_int_equal(st.acked, 5);
	assert_int_equal(st.resent, 1);
	assert_int_equal(st.reconnects, 1);
	assert_int_equal(st.queue_depth, 0);
	output_free(o);
}

/* relp: 500 to a message: close, then send it again on a new session. */
static void
test_relp_refused_closes_and_resends(void **state)
{
	struct fixture		*f = *state;
	struct output		*o;
	struct output_stats	 st;

	bind_local(f, SOCK_STREAM, TRANSPORT_RELP);
	f->cfg.framing = FRAMING_NONE;
	o = output_new(f->base, &f->cfg);
	assert_non_null(o);
	output_enqueue(o, "x", 1);
	output_enqueue(o, "y", 1);
	assert_int_equal(output_start(o), 0);
	relp_accept_open(f, o);
	relp_expect(f, "2 syslog 1 x\n3 syslog 1 y\n");
	relp_send(f, "2 rsp 8 500 full\n");
	relp_expect(f, "4 close 0\n");	/* y still in flight */
	relp_send(f, "3 rsp 6 200 OK\n4 rsp 0\n");
	relp_accept_open(f, o);
	relp_expect(f, "2 syslog 1 x\n");
	relp_expect_quiet(f);
	relp_send(f, "2 rsp 6 200 OK\n");
	relp_until_acked(f, o, 2);
	output_get_stats(o, &st);
	assert_int_equal(st.acked, 2);
	assert_int_equal(st.resent, 1);
	output_free(o);
}

/* relp: shutdown sends close once all is answered, ends on its answer. */
static void
test_relp_shutdown_closes(void **state)
{
	struct fixture		*f = *state;
	struct output		*o;

	bind_local(f, SOCK_STREAM, TRANSPORT_RELP);
	f->cfg.framing = FRAMING_NONE;
	o = output_new(f->base, &f->cfg);
	assert_non_null(o);
	assert_int_equal(output_start(o), 0);
	relp_accept_open(f, o);
	output_enqueue(o, "z", 1);
	relp_expect(f, "2 syslog 1 z\n");
	output_shutdown(o, 5000, on_shut, f);
	relp_expect_quiet(f);			/* z not answered yet */
	relp_send(f, "2 rsp 6 200 OK\n");
	relp_expect(f, "3 close 0\n");
	assert_int_equal(f->acked_calls, 0);
	relp_send(f, "3 rsp 0\n0 serverclose 0\n");
	run_until(f, &f->acked_calls);
	assert_int_equal(f->acked_calls, 1);
	assert_int_equal(output_acked_seq(o), 1);
	output_free(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tcp_octet_counting,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_lf_replaces_crlf,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_udp_truncates_on_utf8_boundary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_keeps_messages,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_congestion_limit,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_calls_back_once,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_while_resolving,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_relp_window_any_order_resend, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_relp_refused_closes_and_resends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relp_shutdown_closes,
		    setup, teardown),
	};

	log_init(1, LOG_LEVEL_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
