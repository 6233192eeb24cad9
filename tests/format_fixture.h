/*
 * The output settings and context that the format goldens
 * (tests/data/format/), tests/format-dump and bench/bench_format share, so
 * that all three format the same messages. Callers change fields after.
 */
#ifndef HSS_FORMAT_FIXTURE_H
#define HSS_FORMAT_FIXTURE_H

#include <string.h>

#include "config.h"
#include "format.h"

static inline void
format_fixture(struct output_config *oc, struct format_ctx *ctx)
{
	memset(oc, 0, sizeof(*oc));
	memset(ctx, 0, sizeof(*ctx));
	oc->format = FORMAT_RFC5424;
	oc->framing = FRAMING_OCTET_COUNTING;
	oc->facility = 20;
	oc->hostname = "collector01";
	oc->app_name = "hss-forwarder";
	oc->sd_id = "hss@32473";
	oc->leef_delimiter = '^';
	oc->max_message_size = 65536;
	ctx->out = oc;
	ctx->source_name = "prod-ap-southeast-1-host";
	ctx->region = "ap-southeast-1";
	ctx->project_id = "0123456789abcdef0123456789abcdef";
	ctx->category = "host";
	ctx->hostname = "collector01";
	ctx->pid = 1234;
	ctx->sequence = 1;
}

#endif
