/*
 * relp-probe: send messages to a RELP server through the RELP engine
 * (src/relp.c) over plain blocking sockets, optionally TLS, for the
 * integration tests. It sends every message until the server has answered
 * each with "rsp 200"; when a connection breaks (EOF, rsp 500,
 * serverclose, protocol error) it reconnects and sends everything
 * unanswered again with new transaction numbers; after an rsp 500 it
 * closes gracefully first. At the end it closes the session with "close".
 * One line per fact on stdout:
 *   connected N, opened, reject COOKIE CODE TEXT, serverclose,
 *   error TEXT, eof, closed,
 *   stats sent=.. acked=.. resent=.. connections=.. maxinflight=..
 * Messages are "relp-probe message N" padded with 'x' to --size, or the
 * lines of --file. Exit: 0 all answered and closed, 1 otherwise, 2 usage.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "relp.h"
#include "util.h"

struct msg {
	char	*data;
	size_t	 len;
	int	 acked;
	int	 sends;
};

struct conn {
	int	 fd;
	SSL	*ssl;
};

static struct msg	*msgs;
static size_t		 nmsgs;
static const char	*host = "127.0.0.1", *port;
static SSL_CTX		*ctx;
static int		 timeout_s = 30;
static time_t		 deadline;

static void
usage(void)
{
	fprintf(stderr, "usage: relp-probe -p port [-H host] [-n count] "
	    "[-s size] [-f file] [-w window] [-c max-connections] "
	    "[--tls --ca file [--cert file --key file]] [-T seconds]\n");
	exit(2);
}

static int
conn_open(struct conn *c)
{
	struct addrinfo	 hints, *res, *ai;
	X509_VERIFY_PARAM *vp;
	int		 e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0) {
		printf("error getaddrinfo: %s\n", gai_strerror(e));
		return -1;
	}
	c->fd = -1;
	c->ssl = NULL;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		c->fd = socket(ai->ai_family, ai->ai_socktype, 0);
		if (c->fd == -1)
			continue;
		if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	if (c->fd == -1)
		return -1;
	if (ctx == NULL)
		return 0;
	c->ssl = SSL_new(ctx);
	vp = SSL_get0_param(c->ssl);
	if (X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1)
		X509_VERIFY_PARAM_set1_host(vp, host, 0);
	SSL_set_fd(c->ssl, c->fd);
	if (SSL_connect(c->ssl) != 1) {
		printf("error TLS handshake: %s\n",
		    ERR_reason_error_string(ERR_get_error()));
		SSL_free(c->ssl);
		close(c->fd);
		return -1;
	}
	return 0;
}

static void
conn_close(struct conn *c)
{
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->ssl = NULL;
}

static int
conn_write(struct conn *c, const void *p, size_t n)
{
	const char	*s = p;
	ssize_t		 w;

	while (n > 0) {
		if (c->ssl != NULL)
			w = SSL_write(c->ssl, s, (int)n);
		else
			w = send(c->fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read what is there, waiting at most until the deadline. */
static ssize_t
conn_read(struct conn *c, char *p, size_t n)
{
	struct pollfd	 pfd;
	int		 ms;

	if (c->ssl == NULL || SSL_pending(c->ssl) == 0) {
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		ms = (int)(deadline - time(NULL)) * 1000;
		if (ms <= 0 || poll(&pfd, 1, ms) <= 0)
			return -2;
	}
	if (c->ssl != NULL)
		return SSL_read(c->ssl, p, (int)n);
	return recv(c->fd, p, n, 0);
}

static void
load_messages(const char *file, size_t count, size_t size)
{
	FILE	*f;
	char	*line = NULL;
	size_t	 cap = 0, i;
	ssize_t	 n;

	if (file != NULL) {
		if ((f = fopen(file, "r")) == NULL) {
			perror(file);
			exit(2);
		}
		while ((n = getline(&line, &cap, f)) != -1) {
			if (n > 0 && line[n - 1] == '\n')
				line[--n] = '\0';
			msgs = xreallocarray(msgs, nmsgs + 1, sizeof(*msgs));
			msgs[nmsgs].data = xstrndup(line, (size_t)n);
			msgs[nmsgs].len = (size_t)n;
			msgs[nmsgs].acked = msgs[nmsgs].sends = 0;
			nmsgs++;
		}
		free(line);
		fclose(f);
		return;
	}
	msgs = xcalloc(count, sizeof(*msgs));
	nmsgs = count;
	for (i = 0; i < count; i++) {
		struct buf	 b;

		buf_init(&b);
		buf_printf(&b, "relp-probe message %zu", i + 1);
		while (b.len < size)
			buf_addc(&b, 'x');
		msgs[i].data = b.data;
		msgs[i].len = b.len;
	}
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "tls", no_argument, NULL, 'S' },
		{ "ca", required_argument, NULL, 'C' },
		{ "cert", required_argument, NULL, 'E' },
		{ "key", required_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 },
	};
	struct relp_params	 rp;
	struct relp_session	*s;
	struct relp_event	 ev;
	struct conn		 c;
	struct buf		 out;
	char			 err[RELP_ERR_MAX], rbuf[16384];
	const char		*file = NULL, *ca = NULL, *cert = NULL;
	const char		*key = NULL;
	size_t			 count = 10, size = 0, i, pos, used, off;
	size_t			 acked = 0, sent = 0, resent = 0, maxin = 0;
	ssize_t			 n;
	int			 ch, tls = 0, maxconn = 20, nconn = 0, done = 0;
	enum relp_event_type	 t;

	memset(&rp, 0, sizeof(rp));
	rp.software = "relp-probe,1";
	while ((ch = getopt_long(argc, argv, "H:p:n:s:f:w:c:T:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'H': host = optarg; break;
		case 'p': port = optarg; break;
		case 'n': count = strtoul(optarg, NULL, 10); break;
		case 's': size = strtoul(optarg, NULL, 10); break;
		case 'f': file = optarg; break;
		case 'w': rp.window = atoi(optarg); break;
		case 'c': maxconn = atoi(optarg); break;
		case 'T': timeout_s = atoi(optarg); break;
		case 'S': tls = 1; break;
		case 'C': ca = optarg; break;
		case 'E': cert = optarg; break;
		case 'K': key = optarg; break;
		default: usage();
		}
	}
	if (port == NULL || (tls && ca == NULL) || (cert == NULL) !=
	    (key == NULL))
		usage();
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	load_messages(file, count, size);
	if (tls) {
		ctx = SSL_CTX_new(TLS_client_method());
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
			fprintf(stderr, "cannot load %s\n", ca);
			return 2;
		}
		if (cert != NULL && (SSL_CTX_use_certificate_chain_file(ctx,
		    cert) != 1 || SSL_CTX_use_PrivateKey_file(ctx, key,
		    SSL_FILETYPE_PEM) != 1)) {
			fprintf(stderr, "cannot load %s or %s\n", cert, key);
			return 2;
		}
	}
	if ((s = relp_session_new(&rp, err)) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	deadline = time(NULL) + timeout_s;
	buf_init(&out);
	while (!done && nconn < maxconn && time(NULL) < deadline) {
		if (nconn > 0) {
			/* a short pause between connections, as a backoff */
			poll(NULL, 0, 50);
		}
		if (conn_open(&c) == -1) {
			nconn++;
			printf("connect failed\n");
			continue;
		}
		printf("connected %d\n", ++nconn);
		buf_reset(&out);
		relp_session_open(s, &out);
		if (conn_write(&c, out.data, out.len) == -1)
			goto broken;
		pos = 0;
		for (;;) {
			/* send what the window allows, oldest first */
			buf_reset(&out);
			while (relp_session_can_send(s) == RELP_SEND_OK) {
				while (pos < nmsgs && msgs[pos].acked)
					pos++;
				if (pos == nmsgs)
					break;
				relp_session_send_buf(s, pos, msgs[pos].data,
				    msgs[pos].len, &out);
				if (msgs[pos].sends++ > 0)
					resent++;
				sent++;
				pos++;
			}
			if (relp_session_inflight(s) > maxin)
				maxin = relp_session_inflight(s);
			/* all answered, a reject or numbers used up: close */
			if (relp_session_state(s) == RELP_OPEN &&
			    (acked == nmsgs || relp_session_can_send(s) ==
			    RELP_SEND_NO || relp_session_can_send(s) ==
			    RELP_SEND_CYCLE))
				relp_session_close(s, &out);
			if (out.len > 0 &&
			    conn_write(&c, out.data, out.len) == -1)
				goto broken;
			n = conn_read(&c, rbuf, sizeof(rbuf));
			if (n == -2) {
				printf("timeout\n");
				goto broken;
			}
			if (n <= 0) {
				printf("eof\n");
				goto broken;
			}
			for (off = 0; off < (size_t)n; off += used) {
				t = relp_session_feed(s, rbuf + off,
				    (size_t)n - off, &used, &ev);
				switch (t) {
				case RELP_EV_NONE:
					break;
				case RELP_EV_OPENED:
					printf("opened\n");
					break;
				case RELP_EV_ACK:
					if (msgs[ev.cookie].acked)
						printf("error double ack\n");
					msgs[ev.cookie].acked = 1;
					acked++;
					break;
				case RELP_EV_REJECT:
					printf("reject %llu %03d %s\n",
					    (unsigned long long)ev.cookie + 1,
					    ev.code, ev.text);
					break;
				case RELP_EV_SERVERCLOSE:
					printf("serverclose\n");
					break;
				case RELP_EV_CLOSED:
					printf("closed\n");
					break;
				case RELP_EV_ERROR:
					printf("error %s\n",
					    relp_session_error(s));
					break;
				}
			}
			if (relp_session_state(s) == RELP_CLOSED) {
				done = acked == nmsgs;
				break;
			}
			if (relp_session_state(s) == RELP_FAILED)
				break;
		}
broken:
		conn_close(&c);
		relp_session_reset(s);
	}
	printf("stats sent=%zu acked=%zu resent=%zu connections=%d "
	    "maxinflight=%zu\n", sent, acked, resent, nconn, maxin);
	for (i = 0; i < nmsgs; i++)
		free(msgs[i].data);
	free(msgs);
	buf_free(&out);
	relp_session_free(s);
	SSL_CTX_free(ctx);
	return done && acked == nmsgs ? 0 : 1;
}
