/*
 * format-dump: read an API page (a ListSecurityEvents 200 body) from a file
 * and write each valid event formatted for an output, framed, to stdout.
 * Rejected events and page errors go to stderr. A test helper for receiver
 * tests (rsyslog, the RFC 5424 validator) and golden files.
 *
 * usage: format-dump [-H] [-f format] [-F octet-counting|lf|none] [-m max]
 *	[-d delim] [-q seq] [-p pid] [-n hostname] [-a app] [-i sd_id]
 *	[-S source] [-R region] [-P project] [-C category] [-b] file
 *   -H  syslog header before CEF/LEEF     -b  a heartbeat message instead
 * The sequence starts at -q (default 1) and grows by one per message.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "event.h"
#include "format.h"
#include "format_fixture.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr, "usage: format-dump [-Hb] [-f format] [-F framing] "
	    "[-m max] [-d delim] [-q seq] [-p pid] [-n hostname] [-a app] "
	    "[-i sd_id] [-S source] [-R region] [-P project] [-C category] "
	    "file\n");
	exit(2);
}

static int64_t
num(const char *s, int64_t min, int64_t max)
{
	const char	*errstr;
	int64_t		 v;

	if (parse_int64(s, min, max, &v, &errstr) == -1) {
		fprintf(stderr, "format-dump: %s: %s\n", s, errstr);
		exit(2);
	}
	return v;
}

static void
emit(const struct output_config *oc, const struct buf *m)
{
	if (oc->framing == FRAMING_OCTET_COUNTING)
		printf("%zu ", m->len);
	fwrite(m->data, 1, m->len, stdout);
	if (oc->framing != FRAMING_OCTET_COUNTING)
		putchar('\n');
}

int
main(int argc, char **argv)
{
	struct output_config	 oc;
	struct format_ctx	 ctx;
	struct event_page	 pg;
	struct buf		 body, m, err;
	struct kv		 hb[2];
	FILE			*f;
	char			 chunk[65536];
	size_t			 i, n;
	int			 ch, trunc, heartbeat = 0, rc = 0;

	memset(&pg, 0, sizeof(pg));
	format_fixture(&oc, &ctx);
	while ((ch = getopt(argc, argv, "a:bC:d:f:F:Hi:m:n:p:P:q:R:S:")) !=
	    -1) {
		switch (ch) {
		case 'a':
			oc.app_name = optarg;
			break;
		case 'b':
			heartbeat = 1;
			break;
		case 'C':
			ctx.category = *optarg ? optarg : NULL;
			break;
		case 'd':
			oc.leef_delimiter = optarg[0];
			break;
		case 'f':
			if (strcmp(optarg, "rfc5424") == 0)
				oc.format = FORMAT_RFC5424;
			else if (strcmp(optarg, "cef") == 0)
				oc.format = FORMAT_CEF;
			else if (strcmp(optarg, "leef") == 0)
				oc.format = FORMAT_LEEF;
			else if (strcmp(optarg, "json") == 0)
				oc.format = FORMAT_JSON;
			else
				usage();
			break;
		case 'F':
			if (strcmp(optarg, "octet-counting") == 0)
				oc.framing = FRAMING_OCTET_COUNTING;
			else if (strcmp(optarg, "lf") == 0)
				oc.framing = FRAMING_LF;
			else if (strcmp(optarg, "none") == 0)
				oc.framing = FRAMING_NONE;
			else
				usage();
			break;
		case 'H':
			oc.syslog_header = 1;
			break;
		case 'i':
			oc.sd_id = optarg;
			break;
		case 'm':
			oc.max_message_size = (size_t)num(optarg, 0, INT32_MAX);
			break;
		case 'n':
			oc.hostname = optarg;
			ctx.hostname = optarg;
			break;
		case 'p':
			ctx.pid = (int)num(optarg, 0, INT32_MAX);
			break;
		case 'P':
			ctx.project_id = *optarg ? optarg : NULL;
			break;
		case 'q':
			ctx.sequence = (uint32_t)num(optarg, 0, UINT32_MAX);
			break;
		case 'R':
			ctx.region = *optarg ? optarg : NULL;
			break;
		case 'S':
			ctx.source_name = *optarg ? optarg : NULL;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	buf_init(&body);
	buf_init(&m);
	buf_init(&err);
	if (heartbeat) {
		hb[0].key = "events_sent";
		hb[0].value = "42";
		hb[1].key = "sources";
		hb[1].value = argv[optind];
		format_heartbeat(&m, &ctx, 1661593036627LL, hb, 2);
		emit(&oc, &m);
		goto done;
	}
	if ((f = fopen(argv[optind], "rb")) == NULL) {
		fprintf(stderr, "format-dump: %s: %s\n", argv[optind],
		    strerror(errno));
		return 1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&body, chunk, n);
	fclose(f);
	if (event_page_parse(body.data, body.len, &pg, &err) == -1) {
		fprintf(stderr, "format-dump: page: %s\n", err.data);
		rc = 1;
		goto done;
	}
	for (i = 0; i < pg.nerrors; i++)
		fprintf(stderr, "format-dump: %s\n", pg.errors[i]);
	for (i = 0; i < pg.nevents; i++) {
		buf_reset(&m);
		format_event(&m, pg.events[i], &ctx, &trunc);
		if (trunc)
			fprintf(stderr, "format-dump: event %zu truncated\n",
			    i);
		emit(&oc, &m);
		ctx.sequence++;
	}
done:
	fflush(stdout);
	event_page_clear(&pg);
	buf_free(&body);
	buf_free(&m);
	buf_free(&err);
	return rc;
}
