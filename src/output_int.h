/*
 * output_int.h: what the files of one output share (output.c,
 * output_queue.c, output_conn.c, output_tls.c, output_relp.c); nothing
 * outside them includes it.
 */
#ifndef HSS_OUTPUT_INT_H
#define HSS_OUTPUT_INT_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <stdint.h>

#include <event2/util.h>
#include <openssl/types.h>

#include "config.h"
#include "output.h"
#include "util.h"

#define DEFAULT_MAX_MESSAGE	65536
#define UDP_MAX_MESSAGE		65000
#define WIRE_HIGH		(256 * 1024)	/* framed, not yet written */
#define ACK_POLL_MS		25
#define CONNECT_TIMEOUT_MS	10000
#define BACKOFF_MIN_MS		1000
#define BACKOFF_MAX_MS		(5 * 60 * 1000)
#define HEALTHY_MS		(60 * 1000)
#define TLS13_PROBATION_MS	1000
#define MAX_ADDRS		16
#define USER_TIMEOUT_MS		(120 * 1000)
#define RELP_OPEN_TIMEOUT_MS	CONNECT_TIMEOUT_MS
#define RELP_ANSWER_TIMEOUT_MS	(90 * 1000)	/* librelp's default */

struct relp_session;

enum ostate {
	OS_IDLE,		/* not started */
	OS_RESOLVING,
	OS_CONNECTING,		/* TCP connect in progress */
	OS_HANDSHAKE,		/* TLS handshake in progress */
	OS_OPENING,		/* relp: open sent, not answered yet */
	OS_UP,
	OS_BACKOFF,		/* waiting to retry */
	OS_CLOSED,		/* shut down */
};

struct msg {
	TAILQ_ENTRY(msg) entry;
	uint64_t	 seq;
	uint64_t	 end_off;	/* wire offset of the end, this conn */
	int		 sent;		/* framed into the current connection */
	int		 sent_before;	/* framed into an earlier connection */
	int		 acked;		/* relp: answered 200 (an older
					   message not yet) */
	size_t		 len;
	char		 data[];	/* framed bytes */
};
TAILQ_HEAD(msgq, msg);

/*
 * A name lookup in flight. Its callback may run after the output is gone
 * (libevent defers it even when the evdns_base is freed), so the output
 * orphans the job instead of cancelling and the callback frees it.
 */
struct dnsjob {
	struct output	*o;
};

struct waiter {
	TAILQ_ENTRY(waiter) entry;
	uint64_t	 seq;
	output_ack_cb	 cb;
	void		*arg;
};
TAILQ_HEAD(waiterq, waiter);

struct output {
	struct event_base	*base;
	const struct transport	*tp;
	const struct output_config *cfg;
	char			*name;
	char			*host;
	char			*server_name;
	int			 port;
	enum output_transport	 transport;
	enum output_framing	 framing;
	size_t			 max_msg;
	size_t			 queue_limit;
	size_t			 queue_limit_bytes;
	int			 numeric;	/* host is an IP literal */

	enum ostate		 state;
	int			 fd;
	int			 stdout_regular;
	struct evdns_base	*dns;
	struct dnsjob		*dns_job;	/* lookup in progress */
	struct sockaddr_storage	 addrs[MAX_ADDRS];
	socklen_t		 addrlens[MAX_ADDRS];
	int			 naddrs;
	int			 addr_idx;
	char			 peer[INET6_ADDRSTRLEN + 8];

	SSL_CTX			*ctx;
	SSL			*ssl;
	BIO			*wbio;		/* memory BIO: records out */
	int			 tls13;
	int			 confirmed;	/* TLS 1.3: peer accepted us */
	unsigned long		 read_at_handshake;
	int64_t			 handshake_ms;

	struct buf		 wire;		/* bytes for the socket */
	size_t			 wire_off;	/* written part of wire */
	uint64_t		 wire_total;	/* appended this connection */
	uint64_t		 wire_written;	/* written this connection */

	struct msgq		 queue;
	struct msg		*next;		/* first message not framed */
	size_t			 depth;
	size_t			 bytes;		/* of the messages queued */
	uint64_t		 last_seq;
	uint64_t		 acked_seq;

	struct waiterq		 waiters;
	int			 congested;
	int			 queue_full;	/* congested by a queue limit */
	output_congestion_cb	 congestion_cb;
	void			*congestion_arg;

	int64_t			 up_since;
	int			 acked_this_conn;
	int64_t			 backoff_ms;
	int64_t			 retry_ms;	/* the delay just chosen */
	unsigned		 failures;	/* failed attempts in a row */
	unsigned		 drops;		/* connections lost unused */
	int			 ever_connected;
	uint64_t		 lf_replaced;
	char			 last_error[512];	/* output_last_error() */

	struct relp_session	*relp;		/* relp: the session */
	struct buf		 relp_out;	/* relp: a frame being built */
	int			 relp_closing;	/* relp: RELP_CLOSE_* */
	uint64_t		 relp_refused;	/* relp: seq refused, or 0 */

	const char		*hostname;	/* HOSTNAME of every message */
	char			 hostbuf[256];	/* gethostname() */
	int			 pid;		/* PROCID */
	uint32_t		 sequence;	/* [meta sequenceId], last used */
	struct buf		 msg;		/* the message being formatted */

	int			 shutting_down;
	int64_t			 shut_timeout_ms;
	output_ack_cb		 shut_cb;
	void			*shut_arg;

	struct output_stats	 stats;

	struct event		*ev_read;
	struct event		*ev_write;
	struct event		*ev_timer;	/* connect timeout, backoff */
	struct event		*ev_ack;	/* SIOCOUTQ poll */
	struct event		*ev_waiters;	/* deferred waiter callbacks */
	struct event		*ev_shut;	/* shutdown deadline */
	struct event		*ev_done;	/* deferred shutdown callback */
	struct event		*ev_pump;	/* write after enqueue */
};

/* Why a relp output sent "close" (o->relp_closing). */
enum {
	RELP_CLOSE_NONE = 0,
	RELP_CLOSE_REJECT,	/* the server refused a message: reconnect */
	RELP_CLOSE_CYCLE,	/* transaction numbers used up: reconnect */
	RELP_CLOSE_SHUTDOWN,	/* graceful stop: then close the socket */
};

/*
 * A transport: how queued messages reach the socket (pump), how a written
 * message becomes acknowledged (acks: NULL when written means
 * acknowledged; called by the ev_ack timer) and what it does with the
 * bytes the peer sends (input: NULL when they are ignored; returns -1
 * when the connection is gone). The table is in output.c.
 */
struct transport {
	int	 stream;	/* a byte stream: tcp, tls, relp */
	void	(*pump)(struct output *);
	void	(*acks)(struct output *);
	int	(*input)(struct output *, const char *, size_t);
};

/* output.c: the transports, life cycle, pumps */
int	 output_is_stream(const struct output *);
void	 output_arm_timer(struct event *, int64_t);
int	 output_flush_wire(struct output *);
void	 output_pump(struct output *);
void	 output_on_read(evutil_socket_t, short, void *);
void	 output_on_write(evutil_socket_t, short, void *);
void	 output_write_failed(struct output *);
void	 output_wire_compact(struct output *);
void	 output_finish_shutdown(struct output *);

/* output_queue.c: messages, sequence numbers, acknowledgement, congestion */
void	 queue_congestion(struct output *);
void	 queue_ack_upto(struct output *, uint64_t wire_acked, int all_sent);
void	 queue_ack_marked(struct output *);
size_t	 queue_rewind(struct output *);
void	 queue_on_waiters(evutil_socket_t, short, void *);
void	 queue_clear(struct output *);

/* output_conn.c: resolve, connect, backoff, loss */
int	 conn_is_ip_literal(const char *);
void	 conn_connect(struct output *);
void	 conn_ready(struct output *);
void	 conn_up(struct output *);
void	 conn_close(struct output *, int graceful);
void	 conn_orphan_dns(struct output *);
int	 conn_should_log(unsigned);
void	 conn_on_timer(evutil_socket_t, short, void *);
void	 conn_lost(struct output *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 conn_attempt_failed(struct output *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* output_relp.c: the relp transport (RELP sessions on the connection) */
int	 orelp_new(struct output *);
void	 orelp_free(struct output *);
void	 orelp_open(struct output *);
void	 orelp_pump(struct output *);
void	 orelp_deadline(struct output *);
int	 orelp_input(struct output *, const char *, size_t);
int	 orelp_close_first(struct output *);
void	 orelp_reset(struct output *);

/* output_tls.c: TLS through a memory BIO */
int	 tls_setup(struct output *);
void	 tls_start(struct output *);
void	 tls_handshake(struct output *);
void	 tls_drain(struct output *);
int	 tls_write(struct output *, const char *, size_t);
int	 tls_read(struct output *);
int	 tls_alert(struct output *, char *, size_t);
void	 tls_close(struct output *, int graceful);
void	 tls_free(struct output *);
const char *tls_version(const struct output *);
const char *tls_cipher(const struct output *);
void	 tls_errors(char *, size_t);

#endif
