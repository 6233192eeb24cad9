/*
 * format.c: one event (or heartbeat) -> one message in an output's
 * format: a table from the configured format to its writer in
 * format_rfc5424.c, format_cef.c, format_leef.c or format_json.c.
 */
#include "autoconf.h"

#include <stddef.h>

#include "config.h"
#include "format.h"
#include "util.h"

static const struct {
	int	(*event)(struct buf *, const struct hss_event *,
		    const struct format_ctx *, int *);
	int	(*heartbeat)(struct buf *, const struct format_ctx *, int64_t,
		    const struct kv *, size_t);
} formats[] = {
	[FORMAT_RFC5424] = { format_rfc5424, format_rfc5424_heartbeat },
	[FORMAT_CEF] = { format_cef, format_cef_heartbeat },
	[FORMAT_LEEF] = { format_leef, format_leef_heartbeat },
	[FORMAT_JSON] = { format_json, format_json_heartbeat },
};

static int
known(enum output_format f)
{
	return (size_t)f < HSS_ARRAY_LEN(formats) && formats[f].event != NULL;
}

int
format_event(struct buf *b, const struct hss_event *ev,
    const struct format_ctx *ctx, int *truncated)
{
	*truncated = 0;
	if (!known(ctx->out->format))
		return -1;
	return formats[ctx->out->format].event(b, ev, ctx, truncated);
}

int
format_heartbeat(struct buf *b, const struct format_ctx *ctx, int64_t now_ms,
    const struct kv *kv, size_t nkv)
{
	if (!known(ctx->out->format))
		return -1;
	return formats[ctx->out->format].heartbeat(b, ctx, now_ms, kv, nkv);
}
