/*
 * event.c: parse and validate ListSecurityEvents pages (see event.h).
 *
 * Before cJSON sees a body, one pass over a copy of it:
 *  - rejects NUL bytes (never valid JSON) and nesting deeper than cJSON's
 *    CJSON_NESTING_LIMIT with a clear reason;
 *  - rewrites, inside strings, every \u0000 escape and every unpaired
 *    surrogate escape (\uD800-\uDFFF) into \uFFFD (same length). cJSON would
 *    otherwise cut the string at the NUL (hiding what follows from the SIEM)
 *    or refuse the whole page because of one bad escape in one event.
 */
#include "autoconf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "event.h"
#include "util.h"

#define EVENT_NESTING_MAX	CJSON_NESTING_LIMIT
#define TOTAL_NUM_MAX		9007199254740992LL	/* 2^53 */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The value of the \uXXXX escape at p (p[0] == '\\'), or -1. */
static long
uescape(const char *p, const char *end)
{
	long	 v = 0;
	int	 i, h;

	if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
		return -1;
	for (i = 2; i < 6; i++) {
		if ((h = hexval((unsigned char)p[i])) == -1)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/*
 * Copy body into a NUL-terminated buffer, fixing escapes cJSON mishandles
 * (see the top of the file). NULL with a reason when the body has a NUL byte
 * or nests too deep.
 */
static char *
prepare_body(const char *body, size_t len, struct buf *err)
{
	const char	*end = body + len;
	char		*copy, *q;
	const char	*p;
	int		 instr = 0;
	long		 depth = 0, v, w;

	if ((p = memchr(body, '\0', len)) != NULL) {
		buf_printf(err, "invalid JSON: NUL byte at offset %zu",
		    (size_t)(p - body));
		return NULL;
	}
	copy = xmalloc(len + 1);
	memcpy(copy, body, len);
	copy[len] = '\0';
	for (p = body, q = copy; p < end; p++, q++) {
		if (!instr) {
			if (*p == '"')
				instr = 1;
			else if (*p == '[' || *p == '{') {
				if (++depth > EVENT_NESTING_MAX) {
					buf_printf(err, "invalid JSON: nested "
					    "deeper than %d levels",
					    EVENT_NESTING_MAX);
					free(copy);
					return NULL;
				}
			} else if (*p == ']' || *p == '}')
				depth--;
			continue;
		}
		if (*p == '"') {
			instr = 0;
			continue;
		}
		if (*p != '\\' || p + 1 >= end)
			continue;
		if (p[1] != 'u') {
			p++;
			q++;
			continue;
		}
		if ((v = uescape(p, end)) == -1) {
			/* cJSON would read a bad \u escape as a NUL */
			buf_printf(err, "invalid JSON: bad \\u escape at "
			    "offset %zu", (size_t)(p - body));
			free(copy);
			return NULL;
		}
		if (v >= 0xD800 && v <= 0xDBFF &&
		    (w = uescape(p + 6, end)) >= 0xDC00 && w <= 0xDFFF) {
			p += 11;
			q += 11;
			continue;
		}
		if (v == 0 || (v >= 0xD800 && v <= 0xDFFF))
			memcpy(q, "\\uFFFD", 6);
		p += 5;
		q += 5;
	}
	if (instr || depth > 0) {
		buf_printf(err, "truncated JSON (%zu bytes, %s)", len,
		    instr ? "inside a string" : "unclosed [ or {");
		free(copy);
		return NULL;
	}
	return copy;
}

/* The length of the prefix of s[0..len) made of bytes in set. */
static size_t
strspn_len(const char *s, size_t len, const char *set)
{
	size_t	 i;

	for (i = 0; i < len && s[i] != '\0' && strchr(set, s[i]) != NULL; i++)
		;
	return i;
}

static const char *
json_type_name(const cJSON *j)
{
	if (cJSON_IsObject(j))
		return "object";
	if (cJSON_IsArray(j))
		return "array";
	if (cJSON_IsString(j))
		return "string";
	if (cJSON_IsNumber(j))
		return "number";
	if (cJSON_IsBool(j))
		return "boolean";
	if (cJSON_IsNull(j))
		return "null";
	return "invalid";
}

/* An integral double in int64 range. */
static int
double_to_int64(double d, int64_t *out)
{
	if (!isfinite(d) || d < -9223372036854775808.0 ||
	    d >= 9223372036854775808.0 || d != trunc(d))
		return -1;
	*out = (int64_t)d;
	return 0;
}

/*
 * An integer from a JSON number or a decimal string in [min, max].
 * Returns 0, or -1 with *why "not an integer" / "out of range" /
 * "not a number".
 */
static int
json_int64(const cJSON *j, int64_t min, int64_t max, int64_t *out,
    const char **why)
{
	const char	*errstr;
	const char	*s;
	int64_t		 v;

	if (cJSON_IsNumber(j)) {
		if (!isfinite(j->valuedouble)) {
			*why = "out of range";
			return -1;
		}
		if (j->valuedouble != trunc(j->valuedouble)) {
			*why = "not an integer";
			return -1;
		}
		if (double_to_int64(j->valuedouble, &v) == -1 ||
		    v < min || v > max) {
			*why = "out of range";
			return -1;
		}
		*out = v;
		return 0;
	}
	if (cJSON_IsString(j)) {
		s = j->valuestring;
		if (*s == '-')
			s++;
		if (*s == '\0' || strspn(s, "0123456789") != strlen(s)) {
			*why = "not an integer";
			return -1;
		}
		if (parse_int64(j->valuestring, min, max, &v, &errstr) == -1) {
			*why = "out of range";
			return -1;
		}
		*out = v;
		return 0;
	}
	*why = "not a number";
	return -1;
}

static const char *
get_str(const cJSON *obj, const char *key)
{
	const cJSON	*j;

	j = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!cJSON_IsString(j) || j->valuestring[0] == '\0')
		return NULL;
	return j->valuestring;
}

static unsigned int
get_int(const cJSON *obj, const char *key, int64_t *out)
{
	const char	*why;

	if (json_int64(cJSON_GetObjectItemCaseSensitive(obj, key), INT64_MIN,
	    INT64_MAX, out, &why) == -1) {
		*out = 0;
		return 0;
	}
	return 1;
}

/* The first element of an array member when it is an object, else NULL. */
static const cJSON *
first_object(const cJSON *obj, const char *key)
{
	const cJSON	*a;

	a = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!cJSON_IsArray(a) || !cJSON_IsObject(a->child))
		return NULL;
	return a->child;
}

/*
 * Characters of text in UTF-8: a valid sequence is one character, and so
 * is each byte that is not part of one (a lone continuation byte counts).
 */
static size_t
utf8_chars(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = 0, i, k;

	for (i = 0; i < len; i += k, n++)
		if (p[i] < 0x80 || (k = utf8_seq_len(p + i, len - i)) == 0)
			k = 1;
	return n;
}

int
event_id_valid(const char *id, size_t len, struct buf *why)
{
	size_t	 n;

	if (len == 0) {
		if (why != NULL)
			buf_adds(why, "event_id is empty");
		return -1;
	}
	if (memchr(id, '\0', len) != NULL) {
		if (why != NULL)
			buf_adds(why, "event_id holds a NUL character");
		return -1;
	}
	if (len > EVENT_ID_MAX_BYTES) {
		if (why != NULL)
			buf_printf(why, "event_id is longer than %d bytes (%zu)",
			    EVENT_ID_MAX_BYTES, len);
		return -1;
	}
	if ((n = utf8_chars(id, len)) > EVENT_ID_MAX) {
		if (why != NULL)
			buf_printf(why, "event_id is longer than %d characters "
			    "(%zu)", EVENT_ID_MAX, n);
		return -1;
	}
	return 0;
}

/* Printable-ASCII copy of an event id for an error line. */
static void
add_safe_id(struct buf *b, const char *s)
{
	size_t	 n;

	buf_adds(b, "event \"");
	for (n = 0; *s != '\0' && n < EVENT_ID_MAX; s++, n++) {
		if (*s >= 0x20 && *s < 0x7f && *s != '"' && *s != '\\')
			buf_addc(b, *s);
		else
			buf_addc(b, '?');
	}
	buf_adds(b, "\": ");
}

static void
fill_fields(struct hss_event *ev)
{
	const cJSON	*o = ev->json, *p;
	const char	*s;

	ev->event_class_id = get_str(o, "event_class_id");
	ev->event_name = get_str(o, "event_name");
	ev->severity = get_str(o, "severity");
	ev->host_name = get_str(o, "host_name");
	ev->host_id = get_str(o, "host_id");
	ev->private_ip = get_str(o, "private_ip");
	ev->public_ip = get_str(o, "public_ip");
	ev->os_type = get_str(o, "os_type");
	ev->attack_phase = get_str(o, "attack_phase");
	ev->attack_tag = get_str(o, "attack_tag");
	ev->handle_status = get_str(o, "handle_status");
	ev->handle_method = get_str(o, "handle_method");
	ev->container_name = get_str(o, "container_name");
	ev->image_name = get_str(o, "image_name");
	ev->has_event_type = get_int(o, "event_type", &ev->event_type);
	ev->has_event_count = get_int(o, "event_count", &ev->event_count);
	ev->has_handle_time = get_int(o, "handle_time", &ev->handle_time);

	if ((p = first_object(o, "process_info_list")) != NULL) {
		ev->proc_name = get_str(p, "process_name");
		ev->proc_path = get_str(p, "process_path");
		if ((ev->proc_hash = get_str(p, "process_hash")) == NULL)
			ev->proc_hash = get_str(p, "process_file_hash");
		ev->proc_username = get_str(p, "process_username");
		ev->proc_cmdline = get_str(p, "process_cmdline");
		ev->has_proc_pid = get_int(p, "process_pid", &ev->proc_pid);
		ev->has_proc_uid = get_int(p, "process_uid", &ev->proc_uid);
	}
	if ((p = first_object(o, "user_info_list")) != NULL) {
		ev->user_name = get_str(p, "user_name");
		ev->user_login_ip = get_str(p, "login_ip");
		ev->has_user_uid = get_int(p, "user_id", &ev->user_uid);
	}
	if ((p = first_object(o, "file_info_list")) != NULL) {
		ev->file_path = get_str(p, "file_path");
		if ((ev->file_hash = get_str(p, "file_hash")) == NULL &&
		    (ev->file_hash = get_str(p, "file_sha256")) == NULL)
			ev->file_hash = get_str(p, "file_md5");
		ev->has_file_size = get_int(p, "file_size", &ev->file_size);
		if (ev->file_path != NULL) {
			s = ev->file_path + strlen(ev->file_path);
			while (s > ev->file_path && s[-1] != '/' &&
			    s[-1] != '\\')
				s--;
			ev->file_name = *s != '\0' ? s : NULL;
		}
	}
	p = cJSON_GetObjectItemCaseSensitive(o, "resource_info");
	if (cJSON_IsObject(p)) {
		ev->res_project_id = get_str(p, "project_id");
		ev->res_region_name = get_str(p, "region_name");
		ev->res_vm_uuid = get_str(p, "vm_uuid");
		ev->res_container_id = get_str(p, "container_id");
	}
}

struct hss_event *
event_from_json(cJSON *obj, struct buf *err)
{
	struct hss_event	*ev = NULL;
	const cJSON		*id, *t;
	const char		*why;

	if (!cJSON_IsObject(obj)) {
		buf_printf(err, "event is not an object (%s)",
		    json_type_name(obj));
		goto fail;
	}
	id = cJSON_GetObjectItemCaseSensitive(obj, "event_id");
	if (id == NULL) {
		buf_adds(err, "event_id is missing");
		goto fail;
	}
	if (!cJSON_IsString(id)) {
		buf_printf(err, "event_id is not a string (%s)",
		    json_type_name(id));
		goto fail;
	}
	if (event_id_valid(id->valuestring, strlen(id->valuestring),
	    err) == -1)
		goto fail;
	ev = xcalloc(1, sizeof(*ev));
	t = cJSON_GetObjectItemCaseSensitive(obj, "occur_time");
	if (t == NULL) {
		add_safe_id(err, id->valuestring);
		buf_adds(err, "occur_time is missing");
		goto fail;
	}
	if (json_int64(t, 0, EVENT_TIME_MAX, &ev->occur_time, &why) == -1) {
		add_safe_id(err, id->valuestring);
		if (!cJSON_IsNumber(t) && !cJSON_IsString(t))
			buf_printf(err, "occur_time is not a number (%s)",
			    json_type_name(t));
		else
			buf_printf(err, "occur_time is %s", why);
		goto fail;
	}
	ev->json = obj;
	ev->event_id = id->valuestring;
	fill_fields(ev);
	return ev;
fail:
	free(ev);
	cJSON_Delete(obj);
	return NULL;
}

void
hss_event_free(struct hss_event *ev)
{
	if (ev == NULL)
		return;
	cJSON_Delete(ev->json);
	free(ev);
}

void
event_page_clear(struct event_page *pg)
{
	size_t	 i;

	for (i = 0; i < pg->nevents; i++)
		hss_event_free(pg->events[i]);
	for (i = 0; i < pg->nerrors; i++)
		free(pg->errors[i]);
	free(pg->events);
	free(pg->errors);
	memset(pg, 0, sizeof(*pg));
}

/* One line for an error body; the server's text is made printable ASCII. */
static void
api_error(const cJSON *root, struct buf *err)
{
	const char	*keys[] = { "error_code", "error_msg" };
	const cJSON	*j;
	const char	*s;
	size_t		 i, n;

	buf_adds(err, "API error body:");
	for (i = 0; i < HSS_ARRAY_LEN(keys); i++) {
		j = cJSON_GetObjectItemCaseSensitive(root, keys[i]);
		if (!cJSON_IsString(j))
			continue;
		buf_printf(err, " %s=\"", keys[i]);
		for (s = j->valuestring, n = 0; *s != '\0' && n < 200;
		    s++, n++)
			buf_addc(err, *s >= 0x20 && *s < 0x7f && *s != '"' ?
			    *s : '?');
		buf_addc(err, '"');
	}
}

int
event_page_parse(const char *body, size_t len, struct event_page *pg,
    struct buf *err)
{
	struct hss_event	*ev;
	struct buf		 why;
	cJSON			*root = NULL, *list, *item, *next;
	const cJSON		*tn;
	const char		*end = NULL, *reason;
	char			*copy = NULL;
	size_t			 i, n, off;

	event_page_clear(pg);
	buf_init(&why);
	if (strspn_len(body, len, " \t\r\n") == len) {
		buf_adds(err, "empty body");
		goto fail;
	}
	if ((copy = prepare_body(body, len, err)) == NULL)
		goto fail;
	root = cJSON_ParseWithLengthOpts(copy, len, &end, 0);
	off = end != NULL && end >= copy ? (size_t)(end - copy) : 0;
	if (root == NULL) {
		if (off >= len)
			buf_printf(err, "truncated JSON (%zu bytes)", len);
		else
			buf_printf(err, "invalid JSON at offset %zu", off);
		goto fail;
	}
	off += strspn(copy + off, " \t\r\n");
	if (off != len) {
		buf_printf(err, "invalid JSON: data after the value at offset "
		    "%zu", off);
		goto fail;
	}
	if (!cJSON_IsObject(root)) {
		buf_printf(err, "body is not a JSON object (%s)",
		    json_type_name(root));
		goto fail;
	}
	if (cJSON_GetObjectItemCaseSensitive(root, "error_code") != NULL) {
		api_error(root, err);
		goto fail;
	}
	tn = cJSON_GetObjectItemCaseSensitive(root, "total_num");
	if (tn == NULL) {
		buf_adds(err, "total_num is missing");
		goto fail;
	}
	if (json_int64(tn, 0, TOTAL_NUM_MAX, &pg->total_num, &reason) == -1) {
		buf_printf(err, "total_num is not a non-negative integer "
		    "(%s: %s)", json_type_name(tn), reason);
		goto fail;
	}
	list = cJSON_GetObjectItemCaseSensitive(root, "data_list");
	if (list == NULL) {
		buf_adds(err, "data_list is missing");
		goto fail;
	}
	if (!cJSON_IsArray(list)) {
		buf_printf(err, "data_list is not an array (%s)",
		    json_type_name(list));
		goto fail;
	}
	n = (size_t)cJSON_GetArraySize(list);
	pg->events = xreallocarray(NULL, n ? n : 1, sizeof(*pg->events));
	for (item = list->child, i = 0; item != NULL; item = next, i++) {
		next = item->next;
		cJSON_DetachItemViaPointer(list, item);
		buf_reset(&why);
		if ((ev = event_from_json(item, &why)) != NULL) {
			pg->events[pg->nevents++] = ev;
			continue;
		}
		pg->errors = xreallocarray(pg->errors, pg->nerrors + 1,
		    sizeof(*pg->errors));
		pg->errors[pg->nerrors++] = xasprintf("data_list[%zu]: %s", i,
		    why.data);
	}
	cJSON_Delete(root);
	free(copy);
	buf_free(&why);
	return 0;
fail:
	cJSON_Delete(root);
	free(copy);
	buf_free(&why);
	event_page_clear(pg);
	return -1;
}
