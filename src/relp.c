/*
 * A RELP client engine (the Reliable Event Logging Protocol, librelp's
 * doc/relp.md, "RELP - The Reliable Event Logging Protocol", version 0.0.1
 * of 2008-03-19; rsyslog's imrelp and omrelp speak it). A message counts
 * as delivered when the receiving application answers "rsp 200" to its
 * transaction, not when the receiver's kernel has its bytes.
 *
 * Pure and non-blocking: this file builds frames, parses what the server
 * sends from chunks split anywhere, and keeps one connection's session
 * state (open handshake, window of transactions in flight, their cookies,
 * close). It never touches a socket, TLS or the event loop; the output
 * transport owns those and feeds bytes in and takes frames out.
 *
 * Why not librelp (Debian librelp-dev 1.11, read in its sources):
 * - It blocks. relpCltConnect() connects and then waits in poll() for the
 *   answer to "open" (relpSessConnect -> relpSessWaitState, 90 s default);
 *   relpCltSendSyslog() waits in poll() whenever the window is full
 *   (relpSessSendCommand) and relpSendbufSendAll() loops until the whole
 *   frame is written. The daemon is one thread on one libevent loop.
 * - It owns the socket and TLS: relpTcp opens its own fd and runs GnuTLS
 *   or OpenSSL with librelp's own settings, so it cannot share the loop's
 *   non-blocking fd, our OpenSSL context, verification and TLS versions.
 * - It does not say which message was acknowledged. relpCltSendSyslog()
 *   returns once the frame is written; the "rsp" for a syslog command has
 *   no handler (rspHdlr NULL) and an "rsp 500" destroys the message with
 *   only an onErr() call (scrsp.c): the caller cannot advance its cursor
 *   per message, and a rejected message would be lost. Unanswered frames
 *   are resent from librelp's private list, which dies with the client.
 * A thread per output would fix only the first point. RELP is small (a
 * frame is "TXNR SP COMMAND SP DATALEN [SP DATA] LF"), so the client is
 * written here on the existing output machinery.
 *
 * Transaction numbers: the spec says a connection starts at 1 and that
 * after 999,999,999 the next is 1 (relp_txnr_next()). librelp servers
 * check each txnr against their own counter, whose wrap
 * (relpEngineNextTXNR) goes to 1000000000 instead, a number their parser
 * refuses. So a session never wraps: after 999,999,998 messages it asks
 * the transport to close gracefully and reconnect (RELP_SEND_CYCLE), the
 * last number being the close's.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "relp.h"
#include "util.h"

/* Frames. */

uint32_t
relp_txnr_next(uint32_t txnr)
{
	/* "TXNR montonically increases but is latched at 999,999,999.
	 * After that TXNR, the next TXNR is 1." (relp.md, RELP FRAME) */
	if (txnr >= RELP_TXNR_MAX)
		return 1;
	return txnr + 1;
}

size_t
relp_header(char *hdr, uint32_t txnr, const char *cmd, size_t datalen)
{
	int	 n;

	if (txnr > RELP_TXNR_MAX || datalen > RELP_DATALEN_MAX ||
	    strlen(cmd) == 0 || strlen(cmd) > RELP_CMD_MAX)
		fatalx("relp: frame header out of range");
	/* HEADER = TXNR SP COMMAND SP DATALEN; DATA = [SP 1*OCTET] */
	n = snprintf(hdr, RELP_HDR_MAX, datalen > 0 ? "%u %s %zu " :
	    "%u %s %zu", txnr, cmd, datalen);
	if (n < 0 || n >= RELP_HDR_MAX)
		fatalx("relp: frame header too long");
	return (size_t)n;
}

void
relp_frame(struct buf *b, uint32_t txnr, const char *cmd, const void *data,
    size_t len)
{
	char	 hdr[RELP_HDR_MAX];
	size_t	 n;

	n = relp_header(hdr, txnr, cmd, len);
	buf_reserve(b, n + len + 1);
	buf_add(b, hdr, n);
	buf_add(b, data, len);
	buf_addc(b, '\n');	/* TRAILER = LF */
}

void
relp_open_offers(struct buf *b, const char *software)
{
	/* OFFER = FEATURENAME ["=" VALUE *("," VALUE)], one per line, as
	 * librelp sends them (no LF before the first, none after the
	 * last); relp_version MUST be offered, commands lists syslog. */
	buf_printf(b, "relp_version=%d\nrelp_software=%s\ncommands=syslog",
	    RELP_VERSION, software);
}

void
relp_frame_open(struct buf *b, uint32_t txnr, const char *software)
{
	struct buf	 offers;

	buf_init(&offers);
	relp_open_offers(&offers, software);
	relp_frame(b, txnr, "open", offers.data, offers.len);
	buf_free(&offers);
}

void
relp_frame_syslog(struct buf *b, uint32_t txnr, const void *msg, size_t len)
{
	relp_frame(b, txnr, "syslog", msg, len);
}

void
relp_frame_close(struct buf *b, uint32_t txnr)
{
	relp_frame(b, txnr, "close", NULL, 0);
}

/* Parser. */

enum relp_pstate {
	P_TXNR = 0,
	P_CMD,
	P_DATALEN,
	P_DATASP,
	P_DATA,
	P_TRAILER,
	P_ERROR,
};

struct relp_parser {
	enum relp_pstate	 st;
	size_t			 max;		/* DATALEN limit */
	size_t			 ndig;		/* digits or letters so far */
	uint32_t		 txnr;
	char			 cmd[RELP_CMD_MAX + 1];
	size_t			 datalen;
	struct buf		 data;
	char			 err[RELP_ERR_MAX];
};

struct relp_parser *
relp_parser_new(size_t max)
{
	struct relp_parser	*p;

	p = xcalloc(1, sizeof(*p));
	p->max = max > 0 ? max : RELP_RSP_MAX_DEFAULT;
	if (p->max > RELP_DATALEN_MAX)
		p->max = RELP_DATALEN_MAX;
	buf_init(&p->data);
	relp_parser_reset(p);
	return p;
}

void
relp_parser_free(struct relp_parser *p)
{
	if (p == NULL)
		return;
	buf_free(&p->data);
	free(p);
}

static void
parser_next_frame(struct relp_parser *p)
{
	p->st = P_TXNR;
	p->ndig = 0;
	p->txnr = 0;
	p->cmd[0] = '\0';
	p->datalen = 0;
	buf_reset(&p->data);
}

void
relp_parser_reset(struct relp_parser *p)
{
	parser_next_frame(p);
	p->err[0] = '\0';
}

const char *
relp_parser_error(const struct relp_parser *p)
{
	return p->err[0] != '\0' ? p->err : "no error";
}

static enum relp_parse
parser_fail(struct relp_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static enum relp_parse
parser_fail(struct relp_parser *p, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	p->st = P_ERROR;
	return RELP_PARSE_ERROR;
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * The grammar of relp.md "RELP FRAME": TXNR = 1*9DIGIT, COMMAND = 1*32ALPHA,
 * DATALEN = 1*9DIGIT, then SP and DATALEN octets when DATALEN > 0, then
 * TRAILER = LF. Anything else breaks the framing, and the spec's answer to
 * that is closing the connection ("ERROR HANDLING").
 */
enum relp_parse
relp_parse(struct relp_parser *p, const void *in, size_t len, size_t *used,
    struct relp_in *f)
{
	const unsigned char	*s = in;
	size_t			 i = 0, n;
	unsigned char		 c;

	*used = 0;
	if (p->st == P_ERROR)
		return RELP_PARSE_ERROR;
	if (p->st == P_TXNR && p->ndig == 0)
		buf_reset(&p->data);
	while (i < len) {
		c = s[i];
		switch (p->st) {
		case P_TXNR:
			if (is_digit(c)) {
				if (++p->ndig > 9)
					return parser_fail(p,
					    "malformed frame: transaction "
					    "number longer than 9 digits");
				p->txnr = p->txnr * 10 + (c - '0');
			} else if (c == ' ' && p->ndig > 0) {
				p->st = P_CMD;
				p->ndig = 0;
			} else
				return parser_fail(p, "malformed frame: "
				    "transaction number expected, got byte "
				    "0x%02x", c);
			i++;
			break;
		case P_CMD:
			if (is_alpha(c)) {
				if (p->ndig >= RELP_CMD_MAX)
					return parser_fail(p,
					    "malformed frame: command longer "
					    "than %d letters", RELP_CMD_MAX);
				p->cmd[p->ndig++] = (char)c;
				p->cmd[p->ndig] = '\0';
			} else if (c == ' ' && p->ndig > 0) {
				p->st = P_DATALEN;
				p->ndig = 0;
			} else
				return parser_fail(p, "malformed frame: "
				    "command expected, got byte 0x%02x", c);
			i++;
			break;
		case P_DATALEN:
			if (is_digit(c)) {
				if (++p->ndig > 9)
					return parser_fail(p,
					    "malformed frame: data length "
					    "longer than 9 digits");
				p->datalen = p->datalen * 10 + (c - '0');
				i++;
				break;
			}
			if (p->ndig == 0)
				return parser_fail(p, "malformed frame: data "
				    "length expected, got byte 0x%02x", c);
			if (p->datalen > p->max)
				return parser_fail(p, "frame \"%s\" of %zu "
				    "bytes over the limit of %zu", p->cmd,
				    p->datalen, p->max);
			/* DATALEN 0: no data, the LF follows at once. */
			p->st = p->datalen > 0 ? P_DATASP : P_TRAILER;
			break;
		case P_DATASP:
			if (c != ' ')
				return parser_fail(p, "malformed frame: space "
				    "expected after the data length, got byte "
				    "0x%02x", c);
			p->st = P_DATA;
			i++;
			break;
		case P_DATA:
			n = p->datalen - p->data.len;
			if (n > len - i)
				n = len - i;
			buf_add(&p->data, s + i, n);
			i += n;
			if (p->data.len == p->datalen)
				p->st = P_TRAILER;
			break;
		case P_TRAILER:
			if (c != '\n')
				return parser_fail(p, "malformed frame: \"%s\" "
				    "of %zu bytes not followed by LF (byte "
				    "0x%02x)", p->cmd, p->datalen, c);
			i++;
			*used = i;
			f->txnr = p->txnr;
			memcpy(f->cmd, p->cmd, sizeof(f->cmd));
			/* data.data is NULL until something was added */
			if (p->data.data == NULL)
				buf_adds(&p->data, "");
			f->data = p->data.data;
			f->datalen = p->data.len;
			/* p->data is reset on the next call: f points in it */
			p->st = P_TXNR;
			p->ndig = 0;
			p->txnr = 0;
			p->cmd[0] = '\0';
			p->datalen = 0;
			return RELP_PARSE_FRAME;
		case P_ERROR:
			return RELP_PARSE_ERROR;
		}
	}
	*used = i;
	return RELP_PARSE_MORE;
}

/*
 * RSP-HEADER = TXNR SP RSP-CODE [SP HUMANMSG] LF [CMDDATA] (relp.md,
 * "rsp"); the TXNR of that line is the frame's. librelp sends "200 OK",
 * "500 text", and for "open" "200 OK\n" followed by its offers.
 */
int
relp_rsp_parse(const char *data, size_t len, int *code, char *text,
    size_t textsz, const char **cmddata, size_t *cmdlen)
{
	const unsigned char	*s = (const unsigned char *)data;
	size_t			 i, t = 0;

	*cmddata = NULL;
	*cmdlen = 0;
	if (textsz > 0)
		text[0] = '\0';
	if (len < 3 || !is_digit(s[0]) || !is_digit(s[1]) || !is_digit(s[2]))
		return -1;
	if (len > 3 && s[3] != ' ' && s[3] != '\n')
		return -1;
	*code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	i = 3;
	if (i < len && s[i] == ' ') {
		for (i++; i < len && s[i] != '\n'; i++) {
			if (t + 1 < textsz)
				text[t++] = (s[i] >= 0x20 && s[i] < 0x7f) ?
				    (char)s[i] : '?';
		}
		if (textsz > 0)
			text[t] = '\0';
	}
	if (i < len && s[i] == '\n') {
		*cmddata = data + i + 1;
		*cmdlen = len - i - 1;
	}
	return 0;
}

/* Whether the comma-separated list v[0..n) holds word. */
static int
list_has(const char *v, size_t n, const char *word)
{
	size_t	 wl = strlen(word), i = 0, j;

	while (i <= n) {
		for (j = i; j < n && v[j] != ','; j++)
			;
		if (j - i == wl && memcmp(v + i, word, wl) == 0)
			return 1;
		i = j + 1;
	}
	return 0;
}

/*
 * relp.md, "Command open": "To establish a session, a relp_version offer
 * MUST be included in the response. If it is not, the client MUST close
 * the connection." "commands": "if the server response does not include
 * the command the client is interested in, this command MUST NOT be used."
 */
int
relp_offers_check(const char *s, size_t len, char *err)
{
	const char	*line, *eq, *end, *v;
	size_t		 vl, k;
	int		 have_version = 0, have_syslog = 0, version_ok = 1;

	line = s;
	while (line < s + len) {
		end = memchr(line, '\n', (size_t)(s + len - line));
		if (end == NULL)
			end = s + len;
		eq = memchr(line, '=', (size_t)(end - line));
		v = eq != NULL ? eq + 1 : end;
		vl = (size_t)(end - v);
		if (eq != NULL && eq - line == 12 &&
		    memcmp(line, "relp_version", 12) == 0) {
			have_version = 1;
			/* one integer, at most the version we offered */
			if (vl == 0 || vl > 9)
				version_ok = 0;
			for (k = 0; k < vl; k++)
				if (!is_digit((unsigned char)v[k]))
					version_ok = 0;
			if (version_ok && vl > 0) {
				long	 ver = 0;

				for (k = 0; k < vl; k++)
					ver = ver * 10 + (v[k] - '0');
				if (ver > RELP_VERSION)
					version_ok = 0;
			}
		} else if (eq != NULL && eq - line == 8 &&
		    memcmp(line, "commands", 8) == 0) {
			if (list_has(v, vl, "syslog"))
				have_syslog = 1;
		}
		line = end + 1;
	}
	if (!have_version) {
		snprintf(err, RELP_ERR_MAX, "the server's answer to open "
		    "has no relp_version offer");
		return -1;
	}
	if (!version_ok) {
		snprintf(err, RELP_ERR_MAX, "the server's relp_version is "
		    "not a version up to %d", RELP_VERSION);
		return -1;
	}
	if (!have_syslog) {
		snprintf(err, RELP_ERR_MAX, "the server does not offer the "
		    "syslog command (commands offer)");
		return -1;
	}
	return 0;
}

/* Session. */

struct relp_slot {
	uint64_t	 cookie;
	int		 waiting;	/* sent, not answered 200 */
	int		 rejected;	/* answered with an error */
};

struct relp_session {
	enum relp_state		 state;
	int			 window;
	char			*software;
	struct relp_parser	*parser;
	struct relp_slot	*slots;		/* window of them */
	uint32_t		 next;		/* next txnr to use */
	uint32_t		 base;		/* oldest unanswered message */
	size_t			 inflight;
	size_t			 rejected;
	uint32_t		 open_txnr;
	uint32_t		 close_txnr;
	uint32_t		 txnr_last;	/* the close's at most */
	char			 err[RELP_ERR_MAX];
};

struct relp_session *
relp_session_new(const struct relp_params *pp, char *err)
{
	struct relp_session	*s;
	const char		*sw;
	size_t			 i;

	if (pp->window < 0 || pp->window > RELP_WINDOW_MAX) {
		snprintf(err, RELP_ERR_MAX, "relp window %d out of range 1 "
		    "to %d", pp->window, RELP_WINDOW_MAX);
		return NULL;
	}
	if (pp->txnr_last != 0 && (pp->txnr_last < 3 ||
	    pp->txnr_last > RELP_TXNR_MAX)) {
		snprintf(err, RELP_ERR_MAX, "relp last transaction number %u "
		    "out of range 3 to %d", pp->txnr_last, RELP_TXNR_MAX);
		return NULL;
	}
	if (pp->rsp_max != 0 && (pp->rsp_max < RELP_RSP_MIN ||
	    pp->rsp_max > RELP_DATALEN_MAX)) {
		snprintf(err, RELP_ERR_MAX, "relp response limit %zu out of "
		    "range %d to %d", pp->rsp_max, RELP_RSP_MIN,
		    RELP_DATALEN_MAX);
		return NULL;
	}
	sw = pp->software != NULL ? pp->software :
	    PACKAGE_NAME "," PACKAGE_VERSION;
	/* VALUE = *255OCTET; LF ends the offer, "," separates values
	 * (the name, the version, ...). */
	for (i = 0; sw[i] != '\0'; i++)
		if (sw[i] < 0x21 || sw[i] > 0x7e)
			break;
	if (sw[i] != '\0' || i == 0 || i > 255) {
		snprintf(err, RELP_ERR_MAX, "relp_software offer must be 1 "
		    "to 255 printable characters without spaces");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->window = pp->window > 0 ? pp->window : RELP_WINDOW_DEFAULT;
	s->txnr_last = pp->txnr_last > 0 ? pp->txnr_last : RELP_TXNR_MAX;
	s->software = xstrdup(sw);
	s->parser = relp_parser_new(pp->rsp_max);
	s->slots = xcalloc((size_t)s->window, sizeof(*s->slots));
	relp_session_reset(s);
	return s;
}

void
relp_session_free(struct relp_session *s)
{
	if (s == NULL)
		return;
	relp_parser_free(s->parser);
	free(s->slots);
	free(s->software);
	free(s);
}

void
relp_session_reset(struct relp_session *s)
{
	s->state = RELP_IDLE;
	relp_parser_reset(s->parser);
	memset(s->slots, 0, (size_t)s->window * sizeof(*s->slots));
	s->next = 1;		/* "A RELP connection start with TXNR 1." */
	s->base = 1;
	s->inflight = 0;
	s->rejected = 0;
	s->open_txnr = 0;
	s->close_txnr = 0;
	s->err[0] = '\0';
}

void
relp_session_open(struct relp_session *s, struct buf *out)
{
	relp_session_reset(s);
	s->open_txnr = s->next;
	relp_frame_open(out, s->open_txnr, s->software);
	s->next = relp_txnr_next(s->next);
	s->base = s->next;
	/* "the connection is only ready AFTER the client has received
	 * the open response" */
	s->state = RELP_OPENING;
}

enum relp_send
relp_session_can_send(const struct relp_session *s)
{
	switch (s->state) {
	case RELP_IDLE:
	case RELP_OPENING:
		return RELP_SEND_WAIT;
	case RELP_OPEN:
		break;
	default:
		return RELP_SEND_NO;
	}
	if (s->rejected > 0)
		return RELP_SEND_NO;
	/* the last number stays for the close: never wrap (see the top) */
	if (s->next >= s->txnr_last)
		return RELP_SEND_CYCLE;
	if (s->next - s->base >= (uint32_t)s->window)
		return RELP_SEND_WAIT;
	return RELP_SEND_OK;
}

static struct relp_slot *
slot_of(const struct relp_session *s, uint32_t txnr)
{
	return &s->slots[txnr % (uint32_t)s->window];
}

/*
 * In-flight transactions are [base, next). Answers may come in any order
 * ("The server may reply in any order", relp.md, although librelp answers
 * in order); base moves past answered ones, and at most window numbers
 * span it, so txnr % window names a unique slot.
 */
static uint32_t
session_take(struct relp_session *s, uint64_t cookie)
{
	struct relp_slot	*sl;
	uint32_t		 txnr;

	if (relp_session_can_send(s) != RELP_SEND_OK)
		fatalx("relp: message sent while the session cannot send");
	txnr = s->next;
	sl = slot_of(s, txnr);
	sl->cookie = cookie;
	sl->waiting = 1;
	s->inflight++;
	s->next = txnr + 1;	/* below RELP_TXNR_MAX: no wrap */
	return txnr;
}

size_t
relp_session_send(struct relp_session *s, uint64_t cookie, size_t datalen,
    char *hdr)
{
	uint32_t	 txnr;

	if (datalen > RELP_DATALEN_MAX)
		fatalx("relp: message of %zu bytes", datalen);
	txnr = session_take(s, cookie);
	return relp_header(hdr, txnr, "syslog", datalen);
}

uint32_t
relp_session_send_buf(struct relp_session *s, uint64_t cookie,
    const void *msg, size_t len, struct buf *out)
{
	uint32_t	 txnr;

	if (len > RELP_DATALEN_MAX)
		fatalx("relp: message of %zu bytes", len);
	txnr = session_take(s, cookie);
	relp_frame_syslog(out, txnr, msg, len);
	return txnr;
}

void
relp_session_close(struct relp_session *s, struct buf *out)
{
	if (s->state != RELP_OPEN)
		fatalx("relp: close in state %s", relp_state_name(s->state));
	/* "Once the client has sent a close command, it must not transmit
	 * any other command over the session." */
	s->close_txnr = s->next;
	relp_frame_close(out, s->close_txnr);
	s->state = RELP_CLOSING;
}

static enum relp_event_type
session_fail(struct relp_session *s, struct relp_event *ev,
    enum relp_event_type type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum relp_event_type
session_fail(struct relp_session *s, struct relp_event *ev,
    enum relp_event_type type, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	s->state = RELP_FAILED;
	ev->type = type;
	return type;
}

static int
session_outstanding(const struct relp_session *s, uint32_t txnr)
{
	if (txnr < s->base || txnr >= s->next)
		return 0;
	return slot_of(s, txnr)->waiting && !slot_of(s, txnr)->rejected;
}

static void
session_answered(struct relp_session *s, uint32_t txnr)
{
	struct relp_slot	*sl = slot_of(s, txnr);

	sl->waiting = 0;
	s->inflight--;
	while (s->base < s->next && !slot_of(s, s->base)->waiting)
		s->base++;
}

/* One server frame; RELP_EV_NONE when it needs no event (a hint). */
static enum relp_event_type
session_frame(struct relp_session *s, const struct relp_in *f,
    struct relp_event *ev)
{
	const char	*cd;
	size_t		 cl;
	int		 code;

	ev->txnr = f->txnr;
	if (strcmp(f->cmd, "serverclose") == 0)
		/* a hint: "it advised the client that the server has closed
		 * the connection" */
		return session_fail(s, ev, RELP_EV_SERVERCLOSE,
		    "the server closed the session (serverclose)");
	if (strcmp(f->cmd, "rsp") != 0) {
		/* hints (txnr 0) unknown to us are ignored: "if they do not
		 * arrive at the client, nothing fatal should happen" */
		if (f->txnr == 0)
			return RELP_EV_NONE;
		return session_fail(s, ev, RELP_EV_ERROR, "unexpected "
		    "command \"%s\" from the server (transaction %u)",
		    f->cmd, f->txnr);
	}
	if (s->state == RELP_CLOSING && f->txnr == s->close_txnr) {
		/* librelp answers close with an empty rsp (cclose.c) */
		s->state = RELP_CLOSED;
		ev->type = RELP_EV_CLOSED;
		return ev->type;
	}
	if (relp_rsp_parse(f->data, f->datalen, &code, ev->text,
	    sizeof(ev->text), &cd, &cl) == -1)
		return session_fail(s, ev, RELP_EV_ERROR, "malformed "
		    "response to transaction %u: no 3-digit status",
		    f->txnr);
	ev->code = code;
	if (s->state == RELP_OPENING && f->txnr == s->open_txnr) {
		if (code != 200)
			return session_fail(s, ev, RELP_EV_ERROR, "the server "
			    "refused the session: %03d %s", code, ev->text);
		if (relp_offers_check(cd, cl, s->err) == -1) {
			s->state = RELP_FAILED;
			ev->type = RELP_EV_ERROR;
			return ev->type;
		}
		s->state = RELP_OPEN;
		ev->type = RELP_EV_OPENED;
		return ev->type;
	}
	if ((s->state != RELP_OPEN && s->state != RELP_CLOSING) ||
	    !session_outstanding(s, f->txnr))
		return session_fail(s, ev, RELP_EV_ERROR, "response to "
		    "transaction %u, which is not outstanding", f->txnr);
	ev->cookie = slot_of(s, f->txnr)->cookie;
	if (code == 200) {
		session_answered(s, f->txnr);
		ev->type = RELP_EV_ACK;
		return ev->type;
	}
	/*
	 * RSP-CODE = 200 / 500; "200 is ok, all the rest currently errors":
	 * the message was not taken and stays unanswered, to be sent again
	 * on the next connection. Nothing more is sent on this one, but the
	 * answers to what is in flight still count, so that a graceful close
	 * resends only what the server did not take.
	 */
	slot_of(s, f->txnr)->rejected = 1;
	s->rejected++;
	snprintf(s->err, sizeof(s->err), "the server answered %03d to "
	    "message transaction %u: %s", code, f->txnr, ev->text);
	ev->type = RELP_EV_REJECT;
	return ev->type;
}

enum relp_event_type
relp_session_feed(struct relp_session *s, const void *in, size_t len,
    size_t *used, struct relp_event *ev)
{
	struct relp_in		 f;
	enum relp_parse		 r;
	enum relp_event_type	 t;
	size_t			 off = 0, n;

	memset(ev, 0, sizeof(*ev));
	*used = 0;
	if (s->state == RELP_IDLE || s->state == RELP_CLOSED ||
	    s->state == RELP_FAILED) {
		/* the connection is done with: what follows is moot */
		*used = len;
		return RELP_EV_NONE;
	}
	while (off < len) {
		r = relp_parse(s->parser, (const char *)in + off, len - off,
		    &n, &f);
		off += n;
		*used = off;
		if (r == RELP_PARSE_MORE)
			break;
		if (r == RELP_PARSE_ERROR) {
			snprintf(s->err, sizeof(s->err), "%s",
			    relp_parser_error(s->parser));
			s->state = RELP_FAILED;
			ev->type = RELP_EV_ERROR;
			return ev->type;
		}
		t = session_frame(s, &f, ev);
		if (t != RELP_EV_NONE)
			return t;
		memset(ev, 0, sizeof(*ev));
	}
	return RELP_EV_NONE;
}

enum relp_state
relp_session_state(const struct relp_session *s)
{
	return s->state;
}

const char *
relp_session_error(const struct relp_session *s)
{
	return s->err[0] != '\0' ? s->err : "no error";
}

size_t
relp_session_inflight(const struct relp_session *s)
{
	return s->inflight;
}

int
relp_session_window(const struct relp_session *s)
{
	return s->window;
}

size_t
relp_session_unacked(const struct relp_session *s, uint64_t *out,
    size_t max)
{
	uint32_t	 t;
	size_t		 n = 0;

	for (t = s->base; t < s->next && n < max; t++)
		if (slot_of(s, t)->waiting)
			out[n++] = slot_of(s, t)->cookie;
	return n;
}

const char *
relp_state_name(enum relp_state st)
{
	switch (st) {
	case RELP_IDLE:
		return "idle";
	case RELP_OPENING:
		return "opening";
	case RELP_OPEN:
		return "open";
	case RELP_CLOSING:
		return "closing";
	case RELP_CLOSED:
		return "closed";
	case RELP_FAILED:
		return "failed";
	}
	return "unknown";
}
