/*
 * format.c: one event (or heartbeat, or gap) -> one message in an output's
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
	int	(*gap)(struct buf *, const struct format_ctx *,
		    const struct format_gap *);
} formats[] = {
	[FORMAT_RFC5424] = { format_rfc5424, format_rfc5424_heartbeat,
	    format_rfc5424_gap },
	[FORMAT_CEF] = { format_cef, format_cef_heartbeat, format_cef_gap },
	[FORMAT_LEEF] = { format_leef, format_leef_heartbeat,
	    format_leef_gap },
	[FORMAT_JSON] = { format_json, format_json_heartbeat,
	    format_json_gap },
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

/*
 * The gap's own identity goes into the context, as an event's source does:
 * a notice comes with none.
 */
int
format_gap(struct buf *b, const struct format_ctx *ctx,
    const struct format_gap *g)
{
	struct format_ctx	 c = *ctx;

	if (!known(ctx->out->format))
		return -1;
	c.source_name = g->source;
	c.region = g->region;
	c.project_id = g->project_id;
	c.category = g->category;
	return formats[ctx->out->format].gap(b, &c, g);
}

void
format_gap_replay(struct buf *b, const struct format_gap *g)
{
	char	 from[32], to[32];

	time_format_iso(g->begin, from, sizeof(from));
	time_format_iso(g->end, to, sizeof(to));
	buf_printf(b, PACKAGE_NAME " --replay %s --from %s --to %s",
	    g->source != NULL ? g->source : "-", from, to);
}

void
format_gap_text(struct buf *b, const struct format_gap *g)
{
	char	 from[32], to[32];

	time_format_iso(g->begin, from, sizeof(from));
	time_format_iso(g->end, to, sizeof(to));
	buf_printf(b, "source \"%s\": events from %s to %s were not read: "
	    "%s; read them again with: ", g->source != NULL ? g->source : "-",
	    from, to, g->reason != NULL ? g->reason : "unknown");
	format_gap_replay(b, g);
}
