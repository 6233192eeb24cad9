/*
 * Unit tests of the RELP client engine (relp.c): exact frame bytes, the
 * incremental parser fed in every split, malformed frames, the open
 * handshake checks, the window, answers in any order, rsp 500,
 * serverclose, close, and transaction numbers.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "relp.h"
#include "util.h"

/* What rsyslog 8.2302 imrelp (librelp 1.11.0) answers to open. */
#define RSYSLOG_OPEN_RSP "1 rsp 93 200 OK\nrelp_version=0\n" \
	"relp_software=librelp,1.11.0,http://librelp.adiscon.com\n" \
	"commands=syslog\n"
#define OFFERS "relp_version=0\nrelp_software=hss-forwarder,0.1.0\n" \
	"commands=syslog"

static void
assert_buf(const struct buf *b, const char *want, size_t len)
{
	assert_int_equal(b->len, len);
	assert_memory_equal(b->data, want, len);
}

static void
test_frames(void **state)
{
	struct buf	 b;
	char		 hdr[RELP_HDR_MAX], cmd[RELP_CMD_MAX + 1];
	char		 want[256];
	int		 n;

	(void)state;
	buf_init(&b);
	relp_frame_open(&b, 1, "hss-forwarder,0.1.0");
	n = snprintf(want, sizeof(want), "1 open %zu " OFFERS "\n",
	    strlen(OFFERS));
	assert_buf(&b, want, (size_t)n);
	assert_int_equal(strlen(OFFERS), 64);
	assert_buf(&b, "1 open 64 " OFFERS "\n", 10 + 64 + 1);

	buf_reset(&b);
	relp_frame_syslog(&b, 2, "<13>1 - h a - - - hi", 20);
	assert_buf(&b, "2 syslog 20 <13>1 - h a - - - hi\n", 33);

	/* octet framed: LF and NUL inside a message are data */
	buf_reset(&b);
	relp_frame_syslog(&b, 17, "a\nb\0c", 5);
	assert_buf(&b, "17 syslog 5 a\nb\0c\n", 18);

	buf_reset(&b);
	relp_frame_close(&b, 999999999);
	assert_buf(&b, "999999999 close 0\n", 18);

	/* the header alone: SP before data only when there is data */
	assert_int_equal(relp_header(hdr, 3, "syslog", 0), 10);
	assert_string_equal(hdr, "3 syslog 0");
	assert_int_equal(relp_header(hdr, 3, "syslog", 1234), 14);
	assert_string_equal(hdr, "3 syslog 1234 ");
	/* the longest header fits RELP_HDR_MAX */
	memset(cmd, 'a', RELP_CMD_MAX);
	cmd[RELP_CMD_MAX] = '\0';
	assert_int_equal(relp_header(hdr, RELP_TXNR_MAX, cmd,
	    RELP_DATALEN_MAX), RELP_HDR_MAX - 1);
	buf_free(&b);
}

static void
test_txnr_next(void **state)
{
	(void)state;
	assert_int_equal(relp_txnr_next(1), 2);
	assert_int_equal(relp_txnr_next(998), 999);
	assert_int_equal(relp_txnr_next(999999998), 999999999);
	/* "latched at 999,999,999. After that TXNR, the next TXNR is 1." */
	assert_int_equal(relp_txnr_next(999999999), 1);
}

struct frame_want {
	uint32_t	 txnr;
	const char	*cmd;
	const char	*data;
	size_t		 len;
};

/* Parse in by chunks of step bytes (0: all at once); frames must be want. */
static void
parse_chunks(const char *in, size_t len, size_t step,
    const struct frame_want *want, size_t nwant)
{
	struct relp_parser	*p;
	struct relp_in		 f;
	enum relp_parse		 r;
	size_t			 off = 0, end, used, got = 0;

	p = relp_parser_new(0);
	while (off < len) {
		end = step == 0 || off + step > len ? len : off + step;
		while (off < end) {
			r = relp_parse(p, in + off, end - off, &used, &f);
			assert_int_not_equal(r, RELP_PARSE_ERROR);
			off += used;
			if (r == RELP_PARSE_MORE) {
				assert_int_equal(off, end);
				break;
			}
			assert_true(got < nwant);
			assert_int_equal(f.txnr, want[got].txnr);
			assert_string_equal(f.cmd, want[got].cmd);
			assert_int_equal(f.datalen, want[got].len);
			assert_memory_equal(f.data, want[got].data,
			    want[got].len);
			assert_int_equal(f.data[f.datalen], '\0');
			got++;
		}
	}
	assert_int_equal(got, nwant);
	relp_parser_free(p);
}

static void
test_parse_splits(void **state)
{
	static const char in[] = "1 rsp 6 200 OK\n"
	    "2 rsp 21 500 queue full, sorry\n"
	    "0 serverclose 0\n"
	    "3 rsp 0\n"
	    "007 rsp 3 200\n";
	static const struct frame_want want[] = {
		{ 1, "rsp", "200 OK", 6 },
		{ 2, "rsp", "500 queue full, sorry", 21 },
		{ 0, "serverclose", "", 0 },
		{ 3, "rsp", "", 0 },
		{ 7, "rsp", "200", 3 },
	};
	size_t	 step;

	(void)state;
	/* all in one chunk, one byte at a time, and every other split */
	parse_chunks(in, sizeof(in) - 1, 0, want, HSS_ARRAY_LEN(want));
	for (step = 1; step < sizeof(in); step++)
		parse_chunks(in, sizeof(in) - 1, step, want,
		    HSS_ARRAY_LEN(want));
	/* rsyslog's real answer to open */
	{
		static const struct frame_want ow[] = {
			{ 1, "rsp", RSYSLOG_OPEN_RSP + 9, 93 },
		};
		parse_chunks(RSYSLOG_OPEN_RSP, sizeof(RSYSLOG_OPEN_RSP) - 1,
		    1, ow, 1);
	}
}

/* Feed in whole; the parser must fail with an error containing what. */
static void
parse_bad(const char *in, size_t len, size_t max, const char *what)
{
	struct relp_parser	*p;
	struct relp_in		 f;
	enum relp_parse		 r;
	size_t			 off = 0, used;

	p = relp_parser_new(max);
	do {
		r = relp_parse(p, in + off, len - off, &used, &f);
		off += used;
	} while (r == RELP_PARSE_FRAME);
	assert_int_equal(r, RELP_PARSE_ERROR);
	if (strstr(relp_parser_error(p), what) == NULL)
		fail_msg("input %.*s: error \"%s\", want \"%s\"", (int)len,
		    in, relp_parser_error(p), what);
	/* the error sticks until reset */
	assert_int_equal(relp_parse(p, "1 rsp 0\n", 8, &used, &f),
	    RELP_PARSE_ERROR);
	relp_parser_reset(p);
	assert_int_equal(relp_parse(p, "1 rsp 0\n", 8, &used, &f),
	    RELP_PARSE_FRAME);
	assert_int_equal(used, 8);
	relp_parser_free(p);
}

#define BAD(s, max, what)	parse_bad(s, sizeof(s) - 1, max, what)

static void
test_parse_malformed(void **state)
{
	(void)state;
	BAD("HTTP/1.1 400 Bad Request\r\n", 0, "transaction number expected");
	BAD(" 1 rsp 0\n", 0, "transaction number expected");
	BAD("1  rsp 0\n", 0, "command expected, got byte 0x20");
	BAD("-1 rsp 0\n", 0, "transaction number expected, got byte 0x2d");
	BAD("1x rsp 0\n", 0, "transaction number expected, got byte 0x78");
	BAD("1234567890 rsp 0\n", 0, "longer than 9 digits");
	BAD("1 rsp1 0\n", 0, "command expected, got byte 0x31");
	BAD("1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 0\n", 0,
	    "command longer than 32 letters");
	BAD("1 rsp x\n", 0, "data length expected, got byte 0x78");
	BAD("1 rsp \n", 0, "data length expected, got byte 0x0a");
	BAD("1 rsp 1234567890 x\n", 0, "data length longer than 9 digits");
	BAD("1 rsp 6x200 OK\n", 0, "space expected after the data length");
	BAD("1 rsp 0 \n", 0, "not followed by LF (byte 0x20)");
	BAD("1 rsp 3 200 OK\n", 0, "\"rsp\" of 3 bytes not followed by LF");
	BAD("1 rsp 6 200 OK\r\n", 0, "not followed by LF (byte 0x0d)");
	/* a good frame, then garbage */
	BAD("1 rsp 6 200 OK\n\n", 0, "transaction number expected, got "
	    "byte 0x0a");
	/* DATALEN over the limit, before any data is stored */
	BAD("1 rsp 2000 ", 1024, "frame \"rsp\" of 2000 bytes over the "
	    "limit of 1024");
	BAD("1 rsp 131073 ", 0, "of 131073 bytes over the limit of 131072");
	BAD("1 rsp 999999999 ", 0, "over the limit");
}

static void
test_parse_limit_exact(void **state)
{
	struct relp_parser	*p;
	struct relp_in		 f;
	struct buf		 b;
	char			*data;
	size_t			 used;

	(void)state;
	data = xmalloc(1024);
	memset(data, 'y', 1024);
	buf_init(&b);
	relp_frame(&b, 5, "rsp", data, 1024);
	p = relp_parser_new(1024);
	assert_int_equal(relp_parse(p, b.data, b.len, &used, &f),
	    RELP_PARSE_FRAME);
	assert_int_equal(used, b.len);
	assert_int_equal(f.datalen, 1024);
	relp_parser_free(p);
	buf_free(&b);
	free(data);
}

static void
test_rsp_parse(void **state)
{
	char		 text[RELP_TEXT_MAX];
	const char	*cd;
	size_t		 cl;
	int		 code;

	(void)state;
	assert_int_equal(relp_rsp_parse("200 OK", 6, &code, text,
	    sizeof(text), &cd, &cl), 0);
	assert_int_equal(code, 200);
	assert_string_equal(text, "OK");
	assert_null(cd);
	assert_int_equal(relp_rsp_parse("500 disk full\nx=1", 17, &code,
	    text, sizeof(text), &cd, &cl), 0);
	assert_int_equal(code, 500);
	assert_string_equal(text, "disk full");
	assert_int_equal(cl, 3);
	assert_memory_equal(cd, "x=1", 3);
	assert_int_equal(relp_rsp_parse("200", 3, &code, text, sizeof(text),
	    &cd, &cl), 0);
	assert_int_equal(code, 200);
	assert_string_equal(text, "");
	assert_int_equal(relp_rsp_parse("200\nrelp_version=0", 18, &code,
	    text, sizeof(text), &cd, &cl), 0);
	assert_int_equal(cl, 14);
	/* remote text is made printable and cut */
	assert_int_equal(relp_rsp_parse("500 a\x1b[2Jb\x7f\xc3\xa9", 13, &code,
	    text, sizeof(text), &cd, &cl), 0);
	assert_string_equal(text, "a?[2Jb???");
	assert_int_equal(relp_rsp_parse("500 abcdefgh", 12, &code, text, 5,
	    &cd, &cl), 0);
	assert_string_equal(text, "abcd");
	/* not a 3-digit status */
	assert_int_equal(relp_rsp_parse("", 0, &code, text, sizeof(text),
	    &cd, &cl), -1);
	assert_int_equal(relp_rsp_parse("20", 2, &code, text, sizeof(text),
	    &cd, &cl), -1);
	assert_int_equal(relp_rsp_parse("2000 OK", 7, &code, text,
	    sizeof(text), &cd, &cl), -1);
	assert_int_equal(relp_rsp_parse("OK 200", 6, &code, text,
	    sizeof(text), &cd, &cl), -1);
}

static void
offers_ok(const char *s)
{
	char	 err[RELP_ERR_MAX];

	if (relp_offers_check(s, strlen(s), err) != 0)
		fail_msg("offers \"%s\": %s", s, err);
}

static void
offers_bad(const char *s, const char *what)
{
	char	 err[RELP_ERR_MAX];

	assert_int_equal(relp_offers_check(s, strlen(s), err), -1);
	if (strstr(err, what) == NULL)
		fail_msg("offers \"%s\": error \"%s\", want \"%s\"", s, err,
		    what);
}

static void
test_offers(void **state)
{
	(void)state;
	offers_ok("relp_version=0\nrelp_software=librelp,1.11.0,"
	    "http://librelp.adiscon.com\ncommands=syslog");
	offers_ok("commands=eventlog,syslog\nrelp_version=0\n");
	offers_ok("x\nrelp_version=0\nfuture=1,2\ncommands=syslog,eventlog");
	offers_bad("", "no relp_version");
	offers_bad("relp_software=x\ncommands=syslog", "no relp_version");
	offers_bad("relp_version\ncommands=syslog", "no relp_version");
	offers_bad("relp_version=1\ncommands=syslog", "not a version up to 0");
	offers_bad("relp_version=\ncommands=syslog", "not a version");
	offers_bad("relp_version=x\ncommands=syslog", "not a version");
	offers_bad("relp_version=0", "does not offer the syslog command");
	offers_bad("relp_version=0\ncommands=", "does not offer the syslog");
	offers_bad("relp_version=0\ncommands=syslogx,eventlog",
	    "does not offer the syslog");
	offers_bad("relp_version=0\ncommandsx=syslog", "does not offer");
}

/* Feed all of in; return the events' types, cookies in cookies. */
static size_t
feed_all(struct relp_session *s, const char *in, size_t len, size_t step,
    struct relp_event *evs, size_t max)
{
	struct relp_event	 ev;
	enum relp_event_type	 t;
	size_t			 off = 0, end, used, n = 0;

	while (off < len) {
		end = step == 0 || off + step > len ? len : off + step;
		while (off < end) {
			t = relp_session_feed(s, in + off, end - off, &used,
			    &ev);
			off += used;
			if (t == RELP_EV_NONE) {
				assert_int_equal(off, end);
				break;
			}
			assert_true(n < max);
			evs[n++] = ev;
		}
	}
	return n;
}

#define FEED(s, str, step, evs) \
	feed_all(s, str, sizeof(str) - 1, step, evs, HSS_ARRAY_LEN(evs))

static struct relp_session *
open_session(int window, uint32_t last)
{
	struct relp_params	 pp = { window, 0, "hss-forwarder,0.1.0",
				    last };
	struct relp_session	*s;
	struct relp_event	 evs[4];
	struct buf		 out;
	char			 err[RELP_ERR_MAX];

	s = relp_session_new(&pp, err);
	assert_non_null(s);
	assert_int_equal(relp_session_state(s), RELP_IDLE);
	assert_int_equal(relp_session_can_send(s), RELP_SEND_WAIT);
	buf_init(&out);
	relp_session_open(s, &out);
	assert_buf(&out, "1 open 64 " OFFERS "\n", 75);
	buf_free(&out);
	/* nothing may be sent before the answer to open */
	assert_int_equal(relp_session_state(s), RELP_OPENING);
	assert_int_equal(relp_session_can_send(s), RELP_SEND_WAIT);
	assert_int_equal(FEED(s, RSYSLOG_OPEN_RSP, 1, evs), 1);
	assert_int_equal(evs[0].type, RELP_EV_OPENED);
	assert_int_equal(evs[0].code, 200);
	assert_int_equal(relp_session_state(s), RELP_OPEN);
	return s;
}

static uint32_t
send_one(struct relp_session *s, uint64_t cookie)
{
	struct buf	 out;
	char		 want[64];
	uint32_t	 txnr;
	int		 n;

	buf_init(&out);
	assert_int_equal(relp_session_can_send(s), RELP_SEND_OK);
	txnr = relp_session_send_buf(s, cookie, "m", 1, &out);
	n = snprintf(want, sizeof(want), "%u syslog 1 m\n", txnr);
	assert_buf(&out, want, (size_t)n);
	buf_free(&out);
	return txnr;
}

static void
test_session_window(void **state)
{
	struct relp_session	*s;
	struct relp_event	 evs[8];
	uint64_t		 un[8];
	char			 hdr[RELP_HDR_MAX];
	uint64_t		 c;

	(void)state;
	s = open_session(3, 0);
	assert_int_equal(relp_session_window(s), 3);
	assert_int_equal(send_one(s, 100), 2);
	assert_int_equal(send_one(s, 101), 3);
	/* the header-only form, for sending the message without a copy */
	assert_int_equal(relp_session_send(s, 102, 4, hdr), 11);
	assert_string_equal(hdr, "4 syslog 4 ");
	/* window full: backpressure */
	assert_int_equal(relp_session_inflight(s), 3);
	assert_int_equal(relp_session_can_send(s), RELP_SEND_WAIT);
	/* answers in any order: 3 first keeps the window full (2 is the
	 * oldest), then 2 frees two places */
	assert_int_equal(FEED(s, "3 rsp 6 200 OK\n", 0, evs), 1);
	assert_int_equal(evs[0].type, RELP_EV_ACK);
	assert_int_equal(evs[0].txnr, 3);
	assert_int_equal(evs[0].cookie, 101);
	assert_int_equal(relp_session_inflight(s), 2);
	assert_int_equal(relp_session_can_send(s), RELP_SEND_WAIT);
	assert_int_equal(relp_session_unacked(s, un, 8), 2);
	assert_int_equal(un[0], 100);
	assert_int_equal(un[1], 102);
	assert_int_equal(FEED(s, "2 rsp 6 200 OK\n", 3, evs), 1);
	assert_int_equal(evs[0].cookie, 100);
	assert_int_equal(relp_session_can_send(s), RELP_SEND_OK);
	assert_int_equal(send_one(s, 103), 5);
	assert_int_equal(send_one(s, 104), 6);
	assert_int_equal(relp_session_can_send(s), RELP_SEND_WAIT);
	/* several answers in one chunk, reversed */
	assert_int_equal(FEED(s, "6 rsp 6 200 OK\n5 rsp 6 200 OK\n"
	    "4 rsp 6 200 OK\n", 0, evs), 3);
	assert_int_equal(evs[0].cookie, 104);
	assert_int_equal(evs[1].cookie, 103);
	assert_int_equal(evs[2].cookie, 102);
	assert_int_equal(relp_session_inflight(s), 0);
	assert_int_equal(relp_session_unacked(s, un, 8), 0);
	/* 3 more in a row wrap the slots */
	for (c = 0; c < 3; c++)
		send_one(s, 200 + c);
	assert_int_equal(FEED(s, "7 rsp 6 200 OK\n8 rsp 6 200 OK\n", 1,
	    evs), 2);
	assert_int_equal(evs[1].cookie, 201);
	relp_session_free(s);
}

static void
test_session_unknown_txnr(void **state)
{
	struct relp_session	*s;
	struct relp_event	 evs[4];

	(void)state;
	s = open_session(4, 0);
	send_one(s, 1);
	send_one(s, 2);
	assert_int_equal(FEED(s, "2 rsp 6 200 OK\n2 rsp 6 200 OK\n", 0,
	    evs), 2);
	assert_int_equal(evs[0].type, RELP_EV_ACK);
	assert_int_equal(evs[1].type, RELP_EV_ERROR);
	assert_string_equal(relp_session_error(s), "response to "
	    "transaction 2, which is not outstanding");
	assert_int_equal(relp_session_state(s), RELP_FAILED);
	assert_int_equal(relp_session_can_send(s), RELP_SEND_NO);
	relp_session_free(s);

	s = open_session(4, 0);
	send_one(s, 1);
	assert_int_equal(FEED(s, "9 rsp 6 200 OK\n", 0, evs), 1);
	assert_int_equal(evs[0].type, RELP_EV_ERROR);
	relp_session_free(s);

	s = open_session(4, 0);
	assert_int_equal(FEED(s, "1 rsp 6 200 OK\n", 0, evs), 1);
	assert_int_equal(evs[0].type, RELP_EV_ERROR);
	assert_string_equal(relp_session_error(s), "response to "
	    "transaction 1, which is not outstanding");
	relp_session_free(s);

	s = open_session(4, 0);
	send_one(s, 1);
	assert_int_equal(FEED(s, "2 rsp 2 OK\n", 0, evs), 1);
	assert_int_equal(evs[0].type, RELP_EV_ERROR);
	assert_string_equal(relp_session_error(s), "malformed response to "
	    "transaction 2: no 3-digit status");
	relp_session_free(s);

	s = open_session(4, 0);
	assert_int_equal(FEED(s, "0 rsp 6 200 OK\n", 0, evs), 1);
	assert_int_equal(evs[0].type, RELP_EV_ERROR);
	relp_session_free(s);

	/* a command only a client sends */
	s = open_session(4, 0);
	assert_int_equal(FEED(s, "5 syslog 1 x\n", 0, evs), 1);
	assert_int_equal(evs[0].type, RELP_EV_ERROR);
	assert_string_equal(relp_session_error(s), "unexpected command "
	    "\"syslog\" from the server (transaction 5)");
	relp_session_free(s);

	/* garbage: the parser's error */
	s = open_session(4, 0);
	assert_int_equal(FEED(s, "<13>hello\n", 0, evs), 1);
	assert_int_equal(evs[0].type, RELP_EV_ERROR);
	assert_string_equal(relp_session_error(s), "malformed frame: "
	    "transaction number expected, got byte 0x3c");
	relp_session_free(s);
}

static void
test_session_reject(void **state)
{
	struct relp_session	*s;
	struct relp_event	 evs[4];
	uint64_t		 un[8];
	struct buf		 out;

	(void)state;
	s = open_session(8, 0);
	send_one(s, 10);
	send_one(s, 11);
	send_one(s, 12);
	assert_int_equal(FEED(s, "2 rsp 6 200 OK\n3 rsp 22 500 disk "
	    "full\x01 on /var\n", 2, evs), 2);
	assert_int_equal(evs[0].type, RELP_EV_ACK);
	assert_int_equal(evs[1].type, RELP_EV_REJECT);
	assert_int_equal(evs[1].txnr, 3);
	assert_int_equal(evs[1].cookie, 11);
	assert_int_equal(evs[1].code, 500);
	assert_string_equal(evs[1].text, "disk full? on /var");
	assert_string_equal(relp_session_error(s), "the server answered 500 "
	    "to message transaction 3: disk full? on /var");
	/* nothing more is sent; the rejected one waits for the next
	 * connection */
	assert_int_equal(relp_session_state(s), RELP_OPEN);
	assert_int_equal(relp_session_can_send(s), RELP_SEND_NO);
	assert_int_equal(relp_session_unacked(s, un, 8), 2);
	assert_int_equal(un[0], 11);
	assert_int_equal(un[1], 12);
	buf_init(&out);
	relp_session_close(s, &out);
	assert_buf(&out, "5 close 0\n", 10);
	/* what was in flight is still answered before the close */
	assert_int_equal(FEED(s, "4 rsp 6 200 OK\n5 rsp 0\n", 1, evs), 2);
	assert_int_equal(evs[0].type, RELP_EV_ACK);
	assert_int_equal(evs[0].cookie, 12);
	assert_int_equal(evs[1].type, RELP_EV_CLOSED);
	assert_int_equal(relp_session_unacked(s, un, 8), 1);
	assert_int_equal(un[0], 11);
	/* a new connection starts over at 1 */
	relp_session_reset(s);
	assert_int_equal(relp_session_state(s), RELP_IDLE);
	assert_int_equal(relp_session_inflight(s), 0);
	assert_int_equal(relp_session_unacked(s, un, 8), 0);
	buf_reset(&out);
	relp_session_open(s, &out);
	assert_memory_equal(out.data, "1 open ", 7);
	buf_free(&out);
	assert_int_equal(FEED(s, RSYSLOG_OPEN_RSP, 0, evs), 1);
	assert_int_equal(send_one(s, 11), 2);
	/* a second answer to a rejected message is an error */
	assert_int_equal(FEED(s, "2 rsp 6 500 no\n2 rsp 6 200 OK\n", 0,
	    evs), 2);
	assert_int_equal(evs[0].type, RELP_EV_REJECT);
	assert_int_equal(evs[1].type, RELP_EV_ERROR);
	assert_string_equal(relp_session_error(s), "response to "
	    "transaction 2, which is not outstanding");
	relp_session_free(s);
}

static void
test_session_serverclose(void **state)
{
	struct relp_session	*s;
	struct relp_event	 evs[4];
	uint64_t		 un[8];

	(void)state;
	s = open_session(8, 0);
	send_one(s, 1);
	send_one(s, 2);
	assert_int_equal(FEED(s, "2 rsp 6 200 OK\n0 serverclose 0\n", 1,
	    evs), 2);
	assert_int_equal(evs[1].type, RELP_EV_SERVERCLOSE);
	assert_int_equal(relp_session_state(s), RELP_FAILED);
	assert_string_equal(relp_session_error(s), "the server closed the "
	    "session (serverclose)");
	assert_int_equal(relp_session_unacked(s, un, 8), 1);
	assert_int_equal(un[0], 2);
	/* unknown hints (txnr 0) are ignored */
	relp_session_free(s);
	s = open_session(8, 0);
	assert_int_equal(FEED(s, "0 futurehint 3 abc\n", 1, evs), 0);
	assert_int_equal(relp_session_state(s), RELP_OPEN);
	relp_session_free(s);
}

static void
test_session_close(void **state)
{
	struct relp_session	*s;
	struct relp_event	 evs[4];
	struct buf		 out;

	(void)state;
	s = open_session(8, 0);
	send_one(s, 1);
	buf_init(&out);
	relp_session_close(s, &out);
	assert_buf(&out, "3 close 0\n", 10);
	buf_free(&out);
	assert_int_equal(relp_session_state(s), RELP_CLOSING);
	assert_int_equal(relp_session_can_send(s), RELP_SEND_NO);
	/* the message's answer still arrives, then close's (empty, as
	 * librelp sends it), then the serverclose hint: ignored */
	assert_int_equal(FEED(s, "2 rsp 6 200 OK\n3 rsp 0\n0 serverclose "
	    "0\n", 1, evs), 2);
	assert_int_equal(evs[0].type, RELP_EV_ACK);
	assert_int_equal(evs[1].type, RELP_EV_CLOSED);
	assert_int_equal(relp_session_state(s), RELP_CLOSED);
	relp_session_free(s);
}

static void
test_session_open_refused(void **state)
{
	struct relp_params	 pp = { 0, 0, "x,1", 0 };
	struct relp_session	*s;
	struct relp_event	 evs[4];
	struct buf		 out;
	char			 err[RELP_ERR_MAX];

	(void)state;
	s = relp_session_new(&pp, err);
	assert_int_equal(relp_session_window(s), RELP_WINDOW_DEFAULT);
	buf_init(&out);
	relp_session_open(s, &out);
	assert_int_equal(FEED(s, "1 rsp 44 500 required command not "
	    "supported by client\n", 0, evs), 1);
	assert_int_equal(evs[0].type, RELP_EV_ERROR);
	assert_int_equal(evs[0].code, 500);
	assert_string_equal(relp_session_error(s), "the server refused the "
	    "session: 500 required command not supported by client");

	buf_reset(&out);
	relp_session_open(s, &out);
	assert_int_equal(FEED(s, "1 rsp 31 200 OK\nrelp_version=0\n"
	    "commands=\n", 0, evs), 1);
	assert_int_equal(evs[0].type, RELP_EV_ERROR);
	assert_string_equal(relp_session_error(s), "the server does not "
	    "offer the syslog command (commands offer)");

	/* a message answer before the open answer */
	buf_reset(&out);
	relp_session_open(s, &out);
	assert_int_equal(FEED(s, "2 rsp 6 200 OK\n", 0, evs), 1);
	assert_int_equal(evs[0].type, RELP_EV_ERROR);
	buf_free(&out);
	relp_session_free(s);
}

static void
test_session_cycle(void **state)
{
	struct relp_session	*s;
	struct relp_event	 evs[4];
	struct buf		 out;

	(void)state;
	/* numbers 1 (open) .. 5 (close): three messages, then cycle */
	s = open_session(8, 5);
	send_one(s, 1);
	send_one(s, 2);
	assert_int_equal(send_one(s, 3), 4);
	assert_int_equal(relp_session_can_send(s), RELP_SEND_CYCLE);
	buf_init(&out);
	relp_session_close(s, &out);
	assert_buf(&out, "5 close 0\n", 10);
	buf_free(&out);
	assert_int_equal(FEED(s, "2 rsp 6 200 OK\n3 rsp 6 200 OK\n"
	    "4 rsp 6 200 OK\n5 rsp 0\n", 0, evs), 4);
	assert_int_equal(evs[3].type, RELP_EV_CLOSED);
	relp_session_free(s);
}

static void
test_session_params(void **state)
{
	struct relp_params	 pp;
	char			 err[RELP_ERR_MAX];

	(void)state;
	memset(&pp, 0, sizeof(pp));
	pp.window = RELP_WINDOW_MAX + 1;
	assert_null(relp_session_new(&pp, err));
	assert_string_equal(err, "relp window 16385 out of range 1 to 16384");
	pp.window = -1;
	assert_null(relp_session_new(&pp, err));
	pp.window = 1;
	pp.rsp_max = 100;
	assert_null(relp_session_new(&pp, err));
	pp.rsp_max = 0;
	pp.software = "has space,1";
	assert_null(relp_session_new(&pp, err));
	pp.software = "x\n";
	assert_null(relp_session_new(&pp, err));
	pp.software = "";
	assert_null(relp_session_new(&pp, err));
	pp.software = NULL;
	pp.txnr_last = 2;
	assert_null(relp_session_new(&pp, err));
	pp.txnr_last = 0;
	relp_session_free(relp_session_new(&pp, err));
	relp_session_free(NULL);
	relp_parser_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_txnr_next),
		cmocka_unit_test(test_parse_splits),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_parse_limit_exact),
		cmocka_unit_test(test_rsp_parse),
		cmocka_unit_test(test_offers),
		cmocka_unit_test(test_session_window),
		cmocka_unit_test(test_session_unknown_txnr),
		cmocka_unit_test(test_session_reject),
		cmocka_unit_test(test_session_serverclose),
		cmocka_unit_test(test_session_close),
		cmocka_unit_test(test_session_open_refused),
		cmocka_unit_test(test_session_cycle),
		cmocka_unit_test(test_session_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
