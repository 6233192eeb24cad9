/*
 * relp.c: a non-blocking client engine for RELP, the Reliable Event Logging
 * Protocol (rsyslog imrelp, librelp servers). Pure: it builds frames and
 * parses the server's bytes; the caller owns the socket, TLS and the event
 * loop. See the top of relp.c for why this is not librelp.
 */
#ifndef HSS_RELP_H
#define HSS_RELP_H

#include <stddef.h>
#include <stdint.h>

struct buf;

#define RELP_TXNR_MAX		999999999	/* NUMBER = 1*9DIGIT */
#define RELP_DATALEN_MAX	999999999
#define RELP_CMD_MAX		32		/* COMMAND = 1*32ALPHA */
/* "999999999 " + command + " 999999999 " + NUL */
#define RELP_HDR_MAX		(10 + RELP_CMD_MAX + 11 + 1)
#define RELP_WINDOW_DEFAULT	128		/* as librelp */
#define RELP_WINDOW_MAX		16384
#define RELP_RSP_MAX_DEFAULT	(128 * 1024)	/* librelp's maxDataSize */
#define RELP_RSP_MIN		1024
#define RELP_TEXT_MAX		128		/* HUMAN-TEXT is 80 by spec */
#define RELP_ERR_MAX		256
#define RELP_VERSION		0		/* relp_version, as librelp */

/* Frames. */

/* The transaction number after txnr: 1 .. RELP_TXNR_MAX, then 1 again. */
uint32_t relp_txnr_next(uint32_t);
/*
 * Write the header "TXNR SP COMMAND SP DATALEN" plus the SP before the data
 * when datalen > 0 into hdr (RELP_HDR_MAX bytes, NUL-terminated); return
 * its length. The frame is this header, the data, then "\n".
 */
size_t	relp_header(char *, uint32_t, const char *, size_t);
/* Append a whole frame to b. */
void	relp_frame(struct buf *, uint32_t, const char *, const void *, size_t);
/* The open offers (relp_version, relp_software, commands=syslog). */
void	relp_open_offers(struct buf *, const char *);
void	relp_frame_open(struct buf *, uint32_t, const char *);
void	relp_frame_syslog(struct buf *, uint32_t, const void *, size_t);
void	relp_frame_close(struct buf *, uint32_t);

/* Parser of the frames a server sends, fed chunks split anywhere. */

enum relp_parse {
	RELP_PARSE_MORE = 0,	/* all input used, no complete frame yet */
	RELP_PARSE_FRAME,	/* one frame in *f; call again with the rest */
	RELP_PARSE_ERROR,	/* malformed; relp_parser_error() says why */
};

struct relp_in {
	uint32_t	 txnr;
	char		 cmd[RELP_CMD_MAX + 1];
	const char	*data;		/* datalen bytes, NUL after them */
	size_t		 datalen;
};

struct relp_parser;

struct relp_parser *relp_parser_new(size_t);
void	relp_parser_free(struct relp_parser *);
void	relp_parser_reset(struct relp_parser *);
/*
 * Parse from buf[0..len): sets *used to the bytes consumed. A frame stays
 * valid until the next call. After an error every call returns the error
 * until relp_parser_reset().
 */
enum relp_parse relp_parse(struct relp_parser *, const void *, size_t,
	    size_t *, struct relp_in *);
const char *relp_parser_error(const struct relp_parser *);

/*
 * The data of an "rsp": "CODE [SP HUMANMSG] [LF CMDDATA]". Returns 0 and
 * fills code (3 digits), text (non-printable bytes made '?', cut to
 * RELP_TEXT_MAX - 1) and the command data after the first LF; -1 if the
 * data does not start with 3 digits followed by the end, SP or LF.
 */
int	relp_rsp_parse(const char *, size_t, int *, char *, size_t,
	    const char **, size_t *);
/*
 * Check the offers of the server's answer to "open": relp_version present
 * and at most RELP_VERSION, commands including syslog. Returns 0, or -1
 * with err (RELP_ERR_MAX bytes) saying what is missing.
 */
int	relp_offers_check(const char *, size_t, char *);

/* Session: one connection's protocol state, window and transactions. */

enum relp_state {
	RELP_IDLE = 0,		/* no connection, or reset after one */
	RELP_OPENING,		/* open sent, its answer not yet here */
	RELP_OPEN,		/* messages may be sent */
	RELP_CLOSING,		/* close sent, waiting for its answer */
	RELP_CLOSED,		/* close answered: drop the connection */
	RELP_FAILED,		/* error, rsp 500 or serverclose: drop it */
};

enum relp_send {
	RELP_SEND_OK = 0,	/* a message may be sent now */
	RELP_SEND_WAIT,		/* not open yet, or the window is full */
	RELP_SEND_CYCLE,	/* transaction numbers used up: close, reopen */
	RELP_SEND_NO,		/* after a reject (close now), closing,
				   closed or failed */
};

enum relp_event_type {
	RELP_EV_NONE = 0,	/* all input used */
	RELP_EV_OPENED,		/* open answered 200 with usable offers */
	RELP_EV_ACK,		/* message cookie answered 200 */
	RELP_EV_REJECT,		/* message cookie answered code, text:
				   close gracefully and resend it */
	RELP_EV_SERVERCLOSE,	/* the server is closing the session */
	RELP_EV_CLOSED,		/* our close was answered */
	RELP_EV_ERROR,		/* protocol error; relp_session_error() */
};

struct relp_event {
	enum relp_event_type	 type;
	uint32_t		 txnr;
	uint64_t		 cookie;
	int			 code;
	char			 text[RELP_TEXT_MAX];	/* printable ASCII */
};

struct relp_params {
	int		 window;	/* 0: RELP_WINDOW_DEFAULT */
	size_t		 rsp_max;	/* 0: RELP_RSP_MAX_DEFAULT */
	const char	*software;	/* relp_software offer, e.g. "x,1.0" */
	uint32_t	 txnr_last;	/* 0: RELP_TXNR_MAX (lower in tests) */
};

struct relp_session;

/* Returns NULL with err set when a parameter is out of range. */
struct relp_session *relp_session_new(const struct relp_params *, char *);
void	relp_session_free(struct relp_session *);
/* Forget the connection (in-flight included): back to RELP_IDLE. */
void	relp_session_reset(struct relp_session *);
/* A new connection: append the open frame to out; RELP_OPENING. */
void	relp_session_open(struct relp_session *, struct buf *);
enum relp_send relp_session_can_send(const struct relp_session *);
/*
 * Take the next transaction for message cookie of datalen bytes (only when
 * can_send says RELP_SEND_OK) and write its header into hdr (RELP_HDR_MAX):
 * send the header, the message, then "\n". Returns the header length.
 */
size_t	relp_session_send(struct relp_session *, uint64_t, size_t, char *);
/* Append a message's whole frame to out (copying it); returns the txnr. */
uint32_t relp_session_send_buf(struct relp_session *, uint64_t, const void *,
	    size_t, struct buf *);
/* Append the close frame (RELP_CLOSING); only when RELP_OPEN. */
void	relp_session_close(struct relp_session *, struct buf *);
/*
 * Feed bytes from the server: sets *used and returns one event at a time
 * (RELP_EV_NONE when all input is used). After RELP_EV_SERVERCLOSE or
 * RELP_EV_ERROR the session is RELP_FAILED: drop the connection. After
 * RELP_EV_REJECT it stays open but sends nothing more: close it (answers
 * to the messages in flight still arrive), then reconnect.
 */
enum relp_event_type relp_session_feed(struct relp_session *, const void *,
	    size_t, size_t *, struct relp_event *);
enum relp_state relp_session_state(const struct relp_session *);
const char *relp_session_error(const struct relp_session *);
size_t	relp_session_inflight(const struct relp_session *);
int	relp_session_window(const struct relp_session *);
/* Up to max cookies not yet answered, oldest transaction first. */
size_t	relp_session_unacked(const struct relp_session *, uint64_t *, size_t);
const char *relp_state_name(enum relp_state);

#endif
