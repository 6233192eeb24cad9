/*
 * config.c: the YAML config file -> struct config (DESIGN.md section 4).
 *
 * config_load() collects every error as "FILE:LINE:COL: message" and every
 * warning the same way; it returns NULL when there is at least one error.
 * Secrets are read at load time, held in memory only in the credentials
 * struct and wiped by config_free().
 */
#ifndef HSS_CONFIG_H
#define HSS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "secret.h"

struct buf;

#define CONFIG_DEFAULT_PATH	SYSCONFDIR "/hss-forwarder/hss-forwarder.yaml"
#define CONFIG_DEFAULT_STATEDIR	LOCALSTATEDIR "/lib/hss-forwarder"

/* TLS protocol versions as on the wire (RFC 8446 4.2.1), as OpenSSL's
 * TLS1_2_VERSION and TLS1_3_VERSION. */
#define CONFIG_TLS1_2		0x0303
#define CONFIG_TLS1_3		0x0304
/*
 * queue_limit_bytes: the bytes an output holds before the sources pause,
 * beside queue_limit (messages), whichever comes first. 64 MiB holds the
 * 10,000 messages of queue_limit at 6.5 KB each (a large event in JSON)
 * and bounds the memory of one output however large the messages are
 * (10,000 x 1 MB would be 10 GB).
 */
#define CONFIG_QUEUE_BYTES_DEFAULT	((size_t)64 * 1024 * 1024)
#define CONFIG_QUEUE_BYTES_MAX		((int64_t)64 * 1024 * 1024 * 1024)
/* The LEEF delimiters accepted (config.c says why these). */
#define CONFIG_LEEF_DELIMITERS	"^|~\t"

enum cred_method {
	CRED_AKSK,
	CRED_PASSWORD,
	CRED_TOKEN,
};

struct credentials {
	enum cred_method	 method;
	struct secret		 access_key;
	struct secret		 secret_key;
	struct secret		 security_token;	/* optional */
	char			*iam_endpoint;	/* password: default derived */
	char			*domain;
	char			*user;
	struct secret		 password;
	struct secret		 token;		/* token method */
};

enum source_category {
	CATEGORY_HOST,
	CATEGORY_CONTAINER,
};

/*
 * A field added to struct source_config or struct output_config must be
 * compared in config_source_equal() or config_output_equal() too, or a
 * reload that changes only it keeps the running source or output.
 */
struct source_config {
	char		*name;
	int		 line;		/* where the source starts in the file */
	char		*region;
	char		*project_id;
	enum source_category category;
	char		*enterprise_project_id;	/* NULL: not sent (API: "0") */
	char		*endpoint;	/* always set: given or derived */
	char		*ca_file;	/* NULL: system store */
	char		*proxy;		/* NULL: *_proxy environment */
	int64_t		 timeout_ms;
	struct credentials cred;
	int64_t		 poll_interval_ms;
	int64_t		 settle_ms;
	int64_t		 lookback_ms;
	int64_t		 backfill_ms;
	int		 page_size;
	int		 calls_per_minute;
	size_t		 max_tracked_ids;	/* dedupe set bound */
	int64_t		 sweep_range_ms;	/* late sweep: 0 = off */
	int64_t		 sweep_interval_ms;
	struct kv	*filters;	/* validated query parameters */
	size_t		 nfilters;
};

enum output_format {
	FORMAT_RFC5424,
	FORMAT_CEF,
	FORMAT_LEEF,
	FORMAT_JSON,
};

enum output_transport {
	TRANSPORT_TCP,
	TRANSPORT_TLS,
	TRANSPORT_UDP,
	TRANSPORT_STDOUT,
	TRANSPORT_RELP,		/* RELP, plain or over TLS (relp_tls) */
};

enum output_framing {
	FRAMING_OCTET_COUNTING,
	FRAMING_LF,
	FRAMING_NONE,		/* udp: one message per datagram */
};

/*
 * A file as config_load() found it (all 0: absent or unreadable). A reload
 * compares these, so that a certificate or key renewed under the same name
 * counts as a change and is loaded again.
 */
struct config_file_id {
	uint64_t	 dev;
	uint64_t	 ino;
	int64_t		 size;
	int64_t		 mtime_ns;
	int64_t		 ctime_ns;
};

struct output_tls {
	char	*ca_file;	/* NULL: system store */
	char	*cert_file;	/* client certificate (mutual TLS) */
	char	*key_file;
	char	*server_name;	/* default: host of address */
	int	 verify;	/* default 1 */
	int	 min_version;	/* CONFIG_TLS1_2 or CONFIG_TLS1_3 */
	struct config_file_id ca_id, cert_id, key_id;
};

struct output_config {
	char		*name;
	int		 line;
	enum output_format format;
	enum output_transport transport;
	char		*address;	/* as written; NULL for stdout */
	char		*host;		/* parsed from address */
	int		 port;
	enum output_framing framing;
	struct output_tls tls;
	int		 facility;	/* 0..23 */
	char		*hostname;	/* default: gethostname() */
	char		*app_name;	/* default "hss-forwarder" */
	char		*sd_id;		/* default "hss@32473" */
	int		 syslog_header;	/* cef/leef: RFC 5424 header first */
	char		 leef_delimiter;	/* default '^' */
	size_t		 max_message_size;
	size_t		 queue_limit;
	size_t		 queue_limit_bytes;	/* default 64 MiB */
	int		 relp_tls;	/* relp: a `tls` block was given */
	int		 relp_window;	/* relp: in flight, default 128 */
};

struct config {
	char		*path;
	char		*state_directory;
	enum log_level	 log_level;
	int64_t		 stats_interval_ms;
	int64_t		 heartbeat_interval_ms;
	char		*metrics_listen;	/* NULL: off */
	char		*metrics_host;
	int		 metrics_port;
	struct source_config *sources;
	size_t		 nsources;
	struct output_config *outputs;
	size_t		 noutputs;
};

/* Diagnostics of one load: each line "FILE:LINE:COL: message". */
struct config_diag {
	char	**errors;
	size_t	  nerrors;
	char	**warnings;
	size_t	  nwarnings;
};

struct config	*config_load(const char *path, struct config_diag *);
void		 config_free(struct config *);
void		 config_diag_free(struct config_diag *);
/* The default API endpoint of a region (eu-west-101 is .eu). Allocated. */
char		*config_endpoint_for_region(const char *);
const char	*config_format_name(enum output_format);
const char	*config_transport_name(enum output_transport);
const char	*config_category_name(enum source_category);

/*
 * Reload (DESIGN.md section 11): 1 when two entries configure the same
 * source or output, so the running one is kept; else 0, with the names of
 * the keys that differ appended to *changed (", "-separated; may be NULL).
 * `line` (where an entry is in the file) does not count. Secrets compare
 * by value (a rotated key restarts the source), except a token read from a
 * file, which the API client re-reads by itself; TLS files compare by
 * identity (struct config_file_id).
 */
int		 config_source_equal(const struct source_config *,
		    const struct source_config *, struct buf *changed);
int		 config_output_equal(const struct output_config *,
		    const struct output_config *, struct buf *changed);
/*
 * The top-level settings a reload cannot apply while the sources run:
 * state_directory (every cursor lives there; every source restarts, and
 * the directory lock moves once the old ones have stopped). 1 when they
 * differ, with their names in *changed. log_level, stats_interval,
 * heartbeat_interval and metrics_listen apply in place.
 */
int		 config_restart_needed(const struct config *,
		    const struct config *, struct buf *changed);
/*
 * The checks that depend on how the daemon runs rather than on the file:
 * transport stdout writes to the daemon's standard output, which is
 * /dev/null once it goes to the background, so it needs foreground (-f or
 * --once). Errors are appended to *diag ("FILE:LINE: message"); returns
 * how many.
 */
size_t		 config_check_mode(const struct config *, int foreground,
		    struct config_diag *);

#endif
