/*
 * The per-source state file: committed window end and dedupe set, loaded
 * strictly (anything unexpected is corruption, moved aside, never silently
 * reset) and saved atomically (DESIGN.md section 7).
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "cursor.h"
#include "idset.h"
#include "util.h"

#define CURSOR_MAX_INT		9007199254740992.0	/* 2^53 */
#define CURSOR_WRITE_CHUNK	65536
#define CURSOR_MAX_FILE		((off_t)1 << 32)

struct cursor {
	char		*name;
	char		*dir;
	char		*path;
	char		*tmppath;
	char		*project_id;
	char		*region;
	char		*category;
	char		*enterprise_project_id;
	char		 filters_hash[65];
	size_t		 max_ids;
	int64_t		 lookback_ms;	/* ids are kept this long before end */
	int64_t		 end;
	int64_t		 since;		/* begin of the first window, or 0 */
	int		 after_corruption;
	int		 readonly;	/* no commit (read-only open) */
	struct idset	*ids;
	size_t		 over_max;	/* dropped by max_ids at the last prune */
	int64_t		 oldest_kept;	/* ... the oldest key kept then */
};

/* Escape '%', '=' and '\n' so that "k=v\n" lines stay unambiguous. */
static void
hash_escaped(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '%')
			buf_adds(b, "%25");
		else if (*s == '=')
			buf_adds(b, "%3D");
		else if (*s == '\n')
			buf_adds(b, "%0A");
		else
			buf_addc(b, *s);
	}
}

static int
kv_cmp(const void *a, const void *b)
{
	const struct kv	*const *x = a, *const *y = b;
	int		 r;

	if ((r = strcmp((*x)->key, (*y)->key)) != 0)
		return r;
	return strcmp((*x)->value, (*y)->value);
}

void
cursor_filters_hash(const struct kv *filters, size_t n, char out[65])
{
	const struct kv	**sorted;
	struct buf	 b;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0, i;
	size_t		 j;

	buf_init(&b);
	buf_reserve(&b, 1);
	sorted = xreallocarray(NULL, n == 0 ? 1 : n, sizeof(*sorted));
	for (j = 0; j < n; j++)
		sorted[j] = &filters[j];
	qsort(sorted, n, sizeof(*sorted), kv_cmp);
	for (j = 0; j < n; j++) {
		hash_escaped(&b, sorted[j]->key);
		buf_addc(&b, '=');
		hash_escaped(&b, sorted[j]->value);
		buf_addc(&b, '\n');
	}
	if (EVP_Digest(b.data, b.len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		fatalx("cursor: SHA-256 failed");
	for (i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
	free(sorted);
	buf_free(&b);
}

/* A value from a state file or the config, quoted for a log line. */
static void
add_quoted(struct buf *b, const char *s)
{
	size_t	 i;

	buf_addc(b, '"');
	for (i = 0; s[i] != '\0'; i++) {
		if (i == 100) {
			buf_adds(b, "...");
			break;
		}
		if (s[i] == '"' || s[i] == '\\')
			buf_printf(b, "\\%c", s[i]);
		else if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			buf_printf(b, "\\x%02x", (unsigned char)s[i]);
		else
			buf_addc(b, s[i]);
	}
	buf_addc(b, '"');
}

/* JSON string (RFC 8259 section 7): bytes >= 0x80 pass through. */
static void
add_json_string(struct buf *b, const char *s)
{
	buf_addc(b, '"');
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '"':
			buf_adds(b, "\\\"");
			break;
		case '\\':
			buf_adds(b, "\\\\");
			break;
		case '\n':
			buf_adds(b, "\\n");
			break;
		case '\r':
			buf_adds(b, "\\r");
			break;
		case '\t':
			buf_adds(b, "\\t");
			break;
		default:
			if ((unsigned char)*s < 0x20)
				buf_printf(b, "\\u%04x", (unsigned char)*s);
			else
				buf_addc(b, *s);
		}
	}
	buf_addc(b, '"');
}

static struct cursor *
cursor_new(const char *statedir, const char *name,
    const struct cursor_identity *id, size_t max_ids, int64_t lookback_ms)
{
	struct cursor	*c;

	c = xcalloc(1, sizeof(*c));
	c->name = xstrdup(name);
	c->dir = xstrdup(statedir);
	c->path = xasprintf("%s/%s.json", statedir, name);
	c->tmppath = xasprintf("%s.tmp", c->path);
	c->project_id = xstrdup(id->project_id);
	c->region = xstrdup(id->region);
	c->category = xstrdup(id->category);
	c->enterprise_project_id = xstrdup(id->enterprise_project_id != NULL ?
	    id->enterprise_project_id : "0");
	memcpy(c->filters_hash, id->filters_hash, sizeof(c->filters_hash));
	c->filters_hash[64] = '\0';
	c->max_ids = max_ids;
	c->lookback_ms = lookback_ms;
	c->ids = idset_new();
	return c;
}

void
cursor_free(struct cursor *c)
{
	if (c == NULL)
		return;
	free(c->name);
	free(c->dir);
	free(c->path);
	free(c->tmppath);
	free(c->project_id);
	free(c->region);
	free(c->category);
	free(c->enterprise_project_id);
	idset_free(c->ids);
	free(c);
}

int64_t
cursor_end(const struct cursor *c)
{
	return c->end;
}

int
cursor_after_corruption(const struct cursor *c)
{
	return c->after_corruption;
}

const char *
cursor_path(const struct cursor *c)
{
	return c->path;
}

/*
 * Drop the ids whose prune key is older than end - lookback_ms, then the
 * oldest beyond max_ids, remembering how many went for want of room.
 */
static void
cursor_prune(struct cursor *c)
{
	size_t	 i, n;
	int64_t	 t;

	idset_prune(c->ids, c->end - c->lookback_ms, SIZE_MAX);
	c->over_max = idset_prune(c->ids, INT64_MIN, c->max_ids);
	if (c->over_max == 0)
		return;
	c->oldest_kept = INT64_MAX;
	n = idset_count(c->ids);
	for (i = 0; i < n; i++) {
		idset_get(c->ids, i, NULL, &t);
		if (t < c->oldest_kept)
			c->oldest_kept = t;
	}
}

size_t
cursor_over_max(const struct cursor *c, int64_t *oldest_kept)
{
	*oldest_kept = c->over_max > 0 ? c->oldest_kept : 0;
	return c->over_max;
}

int64_t
cursor_since(const struct cursor *c)
{
	return c->since;
}

void
cursor_set_since(struct cursor *c, int64_t since)
{
	c->since = since;
}

int
cursor_has(const struct cursor *c, const char *event_id)
{
	return idset_has(c->ids, event_id, strlen(event_id));
}

int
cursor_add(struct cursor *c, const char *event_id, int64_t occur_time)
{
	return idset_add(c->ids, event_id, strlen(event_id), occur_time) == -1 ?
	    -1 : 0;
}

size_t
cursor_count(const struct cursor *c)
{
	return idset_count(c->ids);
}

/* A JSON number that is an integer in [min, 2^53]. */
static int
json_int(const cJSON *j, int64_t min, int64_t *out)
{
	double	 d;

	if (!cJSON_IsNumber(j))
		return -1;
	d = j->valuedouble;
	if (!isfinite(d) || d != floor(d) || d < (double)min ||
	    d > CURSOR_MAX_INT)
		return -1;
	*out = (int64_t)d;
	return 0;
}

/*
 * Read the whole file into b: opened as every file is (file_open_regular():
 * never blocking, a regular file only). -1 with errno (ENOENT: no file) and
 * *why.
 */
static int
read_file(const char *path, struct buf *b, const char **why)
{
	struct stat	 st;
	char		 chunk[CURSOR_WRITE_CHUNK];
	ssize_t		 n;
	int		 fd, saved;

	if ((fd = file_open_regular(path, &st, why)) == -1)
		return -1;
	if (st.st_size > CURSOR_MAX_FILE) {
		errno = EFBIG;
		goto fail;
	}
	buf_reserve(b, (size_t)st.st_size + 1);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		buf_add(b, chunk, (size_t)n);
	}
	close(fd);
	return 0;
fail:
	saved = errno;
	*why = strerror(saved);
	close(fd);
	errno = saved;
	return -1;
}

enum pair_status {
	PAIR_OK,
	PAIR_SHAPE,	/* not a two-element array */
	PAIR_ID,	/* the event_id is not a string of 1-64 characters */
	PAIR_TIME,	/* the occur_time is not an integer >= 0 */
};

/* One "ids" element: an [event_id, occur_time] pair as the file holds it. */
static enum pair_status
pair_check(const cJSON *pair, int64_t *t, size_t *len)
{
	const cJSON	*id = cJSON_IsArray(pair) ? pair->child : NULL;
	const cJSON	*tj = id != NULL ? id->next : NULL;

	if (tj == NULL || tj->next != NULL)
		return PAIR_SHAPE;
	*len = cJSON_IsString(id) ? strlen(id->valuestring) : 0;
	if (!cJSON_IsString(id) || event_id_valid(id->valuestring, *len,
	    NULL) == -1)
		return PAIR_ID;
	if (json_int(tj, 0, t) == -1)
		return PAIR_TIME;
	return PAIR_OK;
}

/*
 * Check the parsed document. Returns 0, or -1 with the reason in *why.
 */
static int
check_document(const cJSON *root, struct buf *why, size_t *nids,
    size_t *idbytes)
{
	static const char *const strs[] = { "source", "project_id", "region",
	    "category", "enterprise_project_id", "filters_hash" };
	const cJSON	*j, *pair;
	int64_t		 v;
	size_t		 i, len;

	if (!cJSON_IsObject(root)) {
		buf_adds(why, "not a JSON object");
		return -1;
	}
	if ((j = cJSON_GetObjectItemCaseSensitive(root, "version")) == NULL) {
		buf_adds(why, "no \"version\"");
		return -1;
	}
	if (json_int(j, 0, &v) == -1 || v != CURSOR_VERSION) {
		buf_printf(why, "\"version\" is not %d", CURSOR_VERSION);
		return -1;
	}
	for (i = 0; i < HSS_ARRAY_LEN(strs); i++) {
		j = cJSON_GetObjectItemCaseSensitive(root, strs[i]);
		if (j == NULL) {
			buf_printf(why, "no \"%s\"", strs[i]);
			return -1;
		}
		if (!cJSON_IsString(j)) {
			buf_printf(why, "\"%s\" is not a string", strs[i]);
			return -1;
		}
	}
	if ((j = cJSON_GetObjectItemCaseSensitive(root, "end")) == NULL) {
		buf_adds(why, "no \"end\"");
		return -1;
	}
	if (json_int(j, 0, &v) == -1) {
		buf_adds(why, "\"end\" is not a non-negative integer");
		return -1;
	}
	if ((j = cJSON_GetObjectItemCaseSensitive(root, "updated")) == NULL) {
		buf_adds(why, "no \"updated\"");
		return -1;
	}
	if (json_int(j, 0, &v) == -1) {
		buf_adds(why, "\"updated\" is not an integer");
		return -1;
	}
	if ((j = cJSON_GetObjectItemCaseSensitive(root, "ids")) == NULL) {
		buf_adds(why, "no \"ids\"");
		return -1;
	}
	if (!cJSON_IsArray(j)) {
		buf_adds(why, "\"ids\" is not an array");
		return -1;
	}
	i = 0;
	cJSON_ArrayForEach(pair, j) {
		switch (pair_check(pair, &v, &len)) {
		case PAIR_SHAPE:
			buf_printf(why, "\"ids\"[%zu] is not an [event_id, "
			    "occur_time] pair", i);
			return -1;
		case PAIR_ID:
			buf_printf(why, "\"ids\"[%zu]: the event_id is not a "
			    "string of 1-%d characters", i, EVENT_ID_MAX);
			return -1;
		case PAIR_TIME:
			buf_printf(why, "\"ids\"[%zu]: the occur_time is not "
			    "an integer", i);
			return -1;
		case PAIR_OK:
			break;
		}
		*idbytes += len + 1;
		i++;
	}
	*nids = i;
	return 0;
}

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* One JSON value at p (never a byte order mark: only a file may have one). */
static cJSON *
parse_at(const char *p, const char *end, const char **next)
{
	if (p == end || (unsigned char)*p == 0xef)
		return NULL;
	return cJSON_ParseWithLengthOpts(p, (size_t)(end - p), next, 0);
}

/*
 * Load without a parse tree of the whole file (at 1,000,000 ids that tree
 * is about 280 MB on top of the file): the top-level object is read member
 * by member and "ids" element by element straight into c->ids. It accepts
 * only a well-formed file with well-formed ids; on anything else it returns
 * NULL and the caller parses the whole file with cJSON to say exactly what
 * is wrong. Returns the other members, with "ids" as an empty array.
 */
static cJSON *
load_streaming(struct cursor *c, const char *data, size_t len)
{
	const char	*p, *end = data + len, *next;
	cJSON		*hdr, *key = NULL, *v = NULL;
	int64_t		 t;
	size_t		 idlen;

	hdr = cJSON_CreateObject();
	p = skip_ws(data, end);
	if (p == end || *p != '{')
		goto fail;
	for (p++;; p++) {
		if ((key = parse_at(skip_ws(p, end), end, &next)) == NULL ||
		    !cJSON_IsString(key) || cJSON_GetObjectItemCaseSensitive(hdr,
		    key->valuestring) != NULL)
			goto fail;
		p = skip_ws(next, end);
		if (p == end || *p != ':')
			goto fail;
		p = skip_ws(p + 1, end);
		if (strcmp(key->valuestring, "ids") == 0) {
			if (p == end || *p != '[')
				goto fail;
			p = skip_ws(p + 1, end);
			if (p < end && *p == ']')
				p++;
			else for (;; p = skip_ws(p + 1, end)) {
				if ((v = parse_at(p, end, &next)) == NULL ||
				    pair_check(v, &t, &idlen) != PAIR_OK)
					goto fail;
				idset_add(c->ids, v->child->valuestring, idlen,
				    t);
				cJSON_Delete(v);
				v = NULL;
				p = skip_ws(next, end);
				if (p < end && *p == ']') {
					p++;
					break;
				}
				if (p == end || *p != ',')
					goto fail;
			}
			v = cJSON_CreateArray();
		} else {
			if ((v = parse_at(p, end, &next)) == NULL)
				goto fail;
			p = next;
		}
		cJSON_AddItemToObject(hdr, key->valuestring, v);
		v = NULL;
		cJSON_Delete(key);
		key = NULL;
		p = skip_ws(p, end);
		if (p < end && *p == '}')
			break;
		if (p == end || *p != ',')
			goto fail;
	}
	if (skip_ws(p + 1, end) != end)
		goto fail;
	return hdr;
fail:
	cJSON_Delete(key);
	cJSON_Delete(v);
	cJSON_Delete(hdr);
	return NULL;
}

/* Compare one identity field; append the difference to *diff. */
static void
compare_field(struct buf *diff, const char *field, const char *infile,
    const char *inconfig)
{
	if (strcmp(infile, inconfig) == 0)
		return;
	if (diff->len > 0)
		buf_adds(diff, "; ");
	buf_printf(diff, "%s is ", field);
	add_quoted(diff, infile);
	buf_adds(diff, " in the state file, ");
	add_quoted(diff, inconfig);
	buf_adds(diff, " in the config");
}

static const char *
json_str(const cJSON *root, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(root, key)->valuestring;
}

/* Move a corrupt file aside to PATH.corrupt.TIME (never over another). */
static int
move_aside(struct cursor *c, const char *why, struct buf *err)
{
	struct stat	 st;
	char		*to = NULL;
	long long	 now = (long long)time(NULL);
	int		 i;

	for (i = 0; i < 100; i++) {
		free(to);
		if (i == 0)
			to = xasprintf("%s.corrupt.%lld", c->path, now);
		else
			to = xasprintf("%s.corrupt.%lld.%d", c->path, now, i);
		if (lstat(to, &st) == -1 && errno == ENOENT)
			break;
	}
	if (i == 100 || rename(c->path, to) == -1) {
		buf_printf(err, "%s is corrupt (%s) and cannot be moved aside "
		    "to %s: %s", c->path, why, to, i == 100 ?
		    "too many corrupt files" : strerror(errno));
		free(to);
		return -1;
	}
	buf_printf(err, "%s is corrupt (%s); moved to %s", c->path, why, to);
	free(to);
	return 0;
}

static struct cursor *
open_state(const char *statedir, const char *name,
    const struct cursor_identity *ident, size_t max_ids, int64_t lookback_ms,
    int readonly, enum cursor_open_status *status, struct buf *err)
{
	struct cursor	*c;
	struct buf	 data, why, diff;
	cJSON		*root = NULL;
	const cJSON	*pair;
	const char	*parse_end = NULL, *rwhy;
	size_t		 nids = 0, idbytes = 0;
	int64_t		 t;
	int		 streamed = 0, filters_changed = 0;

	buf_init(&data);
	buf_init(&why);
	buf_init(&diff);
	c = cursor_new(statedir, name, ident, max_ids, lookback_ms);
	c->readonly = readonly;
	*status = CURSOR_ERROR;
	if (read_file(c->path, &data, &rwhy) == -1) {
		if (errno == ENOENT) {
			*status = CURSOR_NEW;
			goto done;
		}
		buf_printf(err, "cannot read %s: %s", c->path, rwhy);
		goto fail;
	}
	if (data.len == 0)
		buf_adds(&why, "the file is empty");
	else if (memchr(data.data, '\0', data.len) != NULL)
		buf_adds(&why, "the file holds a NUL byte");
	else if ((root = load_streaming(c, data.data, data.len)) != NULL &&
	    check_document(root, &why, &nids, &idbytes) == 0)
		streamed = 1;
	else {
		/* Not a file as we write them: the whole tree says why. */
		cJSON_Delete(root);
		buf_reset(&why);
		idset_free(c->ids);
		c->ids = idset_new();
		nids = idbytes = 0;
		if ((root = cJSON_ParseWithLengthOpts(data.data, data.len + 1,
		    &parse_end, 1)) == NULL)
			buf_printf(&why, "not valid JSON: error at byte %zu "
			    "of %zu", parse_end != NULL ?
			    (size_t)(parse_end - data.data) : 0, data.len);
		else
			check_document(root, &why, &nids, &idbytes);
	}
	buf_free(&data);
	if (why.len > 0 && readonly) {
		buf_printf(err, "%s is corrupt (%s)", c->path, why.data);
		c->after_corruption = 1;
		*status = CURSOR_RECOVERED;
		goto done;
	}
	if (why.len > 0) {
		if (move_aside(c, why.data, err) == -1)
			goto fail;
		c->after_corruption = 1;
		*status = CURSOR_RECOVERED;
		goto done;
	}

	compare_field(&diff, "source", json_str(root, "source"), c->name);
	compare_field(&diff, "project_id", json_str(root, "project_id"),
	    c->project_id);
	compare_field(&diff, "region", json_str(root, "region"), c->region);
	compare_field(&diff, "category", json_str(root, "category"),
	    c->category);
	compare_field(&diff, "enterprise_project_id",
	    json_str(root, "enterprise_project_id"), c->enterprise_project_id);
	filters_changed = diff.len == 0 && strcmp(json_str(root,
	    "filters_hash"), c->filters_hash) != 0;
	compare_field(&diff, "filters_hash", json_str(root, "filters_hash"),
	    c->filters_hash);
	if (diff.len > 0 && !filters_changed) {
		buf_printf(err, "%s: %s", c->path, diff.data);
		*status = CURSOR_MISMATCH;
		goto fail;
	}
	/* The cursor carries over; the next save writes the new hash. */
	if (filters_changed)
		buf_printf(err, "%s: %s", c->path, diff.data);

	json_int(cJSON_GetObjectItemCaseSensitive(root, "end"), 0, &c->end);
	if (json_int(cJSON_GetObjectItemCaseSensitive(root, "since"), 0,
	    &c->since) == -1)
		c->since = 0;
	if (!streamed) {
		idset_reserve(c->ids, nids, idbytes);
		cJSON_ArrayForEach(pair,
		    cJSON_GetObjectItemCaseSensitive(root, "ids")) {
			json_int(pair->child->next, 0, &t);
			idset_add(c->ids, pair->child->valuestring,
			    strlen(pair->child->valuestring), t);
		}
	}
	cursor_prune(c);
	*status = filters_changed ? CURSOR_FILTERS_CHANGED : CURSOR_OK;
done:
	cJSON_Delete(root);
	buf_free(&data);
	buf_free(&why);
	buf_free(&diff);
#ifdef __GLIBC__
	/* Give back the pages of the file (and of a parse tree, if any). */
	malloc_trim(0);
#endif
	return c;
fail:
	cJSON_Delete(root);
	buf_free(&data);
	buf_free(&why);
	buf_free(&diff);
	cursor_free(c);
	return NULL;
}

struct cursor *
cursor_open(const char *statedir, const char *name,
    const struct cursor_identity *ident, size_t max_ids, int64_t lookback_ms,
    enum cursor_open_status *status, struct buf *err)
{
	return open_state(statedir, name, ident, max_ids, lookback_ms, 0,
	    status, err);
}

struct cursor *
cursor_open_readonly(const char *statedir, const char *name,
    const struct cursor_identity *ident, size_t max_ids, int64_t lookback_ms,
    enum cursor_open_status *status, struct buf *err)
{
	return open_state(statedir, name, ident, max_ids, lookback_ms, 1,
	    status, err);
}

/* Write all of b to fd. -1 with errno. */
static int
write_all(int fd, const struct buf *b)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off < b->len) {
		n = write(fd, b->data + off, b->len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

/* Serialize the cursor to fd, flushing every CURSOR_WRITE_CHUNK bytes. */
static int
write_state(const struct cursor *c, int fd)
{
	struct buf	 b;
	const char	*id;
	int64_t		 t;
	size_t		 i, n;
	int		 saved;

	buf_init(&b);
	buf_reserve(&b, CURSOR_WRITE_CHUNK + 256);
	buf_printf(&b, "{\"version\":%d,\"source\":", CURSOR_VERSION);
	add_json_string(&b, c->name);
	buf_adds(&b, ",\"project_id\":");
	add_json_string(&b, c->project_id);
	buf_adds(&b, ",\"region\":");
	add_json_string(&b, c->region);
	buf_adds(&b, ",\"category\":");
	add_json_string(&b, c->category);
	buf_adds(&b, ",\"enterprise_project_id\":");
	add_json_string(&b, c->enterprise_project_id);
	buf_adds(&b, ",\"filters_hash\":");
	add_json_string(&b, c->filters_hash);
	buf_printf(&b, ",\"end\":%lld,", (long long)c->end);
	if (c->since > 0)
		buf_printf(&b, "\"since\":%lld,", (long long)c->since);
	buf_printf(&b, "\"updated\":%lld,\"ids\":[", (long long)time_now_ms());
	n = idset_count(c->ids);
	for (i = 0; i < n; i++) {
		id = idset_get(c->ids, i, NULL, &t);
		buf_adds(&b, i == 0 ? "\n[" : ",\n[");
		add_json_string(&b, id);
		buf_printf(&b, ",%lld]", (long long)t);
		if (b.len >= CURSOR_WRITE_CHUNK) {
			if (write_all(fd, &b) == -1)
				goto fail;
			buf_reset(&b);
		}
	}
	buf_adds(&b, "]}\n");
	if (write_all(fd, &b) == -1)
		goto fail;
	buf_free(&b);
	return 0;
fail:
	saved = errno;
	buf_free(&b);
	errno = saved;
	return -1;
}

int
cursor_commit(struct cursor *c, int64_t new_end, struct buf *err)
{
	struct stat	 tst;
	const char	*what = "write";
	int		 fd = -1, dfd = -1, saved;

	if (c->readonly) {
		buf_printf(err, "%s: opened read-only", c->path);
		return -1;
	}
	if (new_end < 0) {
		buf_printf(err, "%s: cannot commit end %lld", c->path,
		    (long long)new_end);
		return -1;
	}
	c->end = new_end;
	cursor_prune(c);

	/* Never blocking: a FIFO, a device or a socket put there is refused,
	 * not waited on (a directory or a link fails the open itself). */
	if (lstat(c->tmppath, &tst) == 0 && !S_ISREG(tst.st_mode) &&
	    !S_ISDIR(tst.st_mode) && !S_ISLNK(tst.st_mode)) {
		buf_printf(err, "cannot create %s: not a regular file",
		    c->tmppath);
		return -1;
	}
	fd = open(c->tmppath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0600);
	if (fd == -1) {
		buf_printf(err, "cannot create %s: %s", c->tmppath,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &tst) == -1 || !S_ISREG(tst.st_mode)) {
		buf_printf(err, "cannot create %s: not a regular file",
		    c->tmppath);
		close(fd);
		return -1;
	}
	if (write_state(c, fd) == -1)
		goto fail;
	what = "fsync";
	if (fsync(fd) == -1)
		goto fail;
	what = "close";
	saved = close(fd);
	fd = -1;
	if (saved == -1)
		goto fail;
	if (rename(c->tmppath, c->path) == -1) {
		saved = errno;
		buf_printf(err, "cannot rename %s to %s: %s", c->tmppath,
		    c->path, strerror(saved));
		unlink(c->tmppath);
		return -1;
	}
	/* The rename is durable once the directory is. */
	if ((dfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (fsync(dfd) == -1 && errno != EINVAL && errno != ENOTSUP)) {
		buf_printf(err, "%s written but the directory %s cannot be "
		    "synced: %s", c->path, c->dir, strerror(errno));
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	close(dfd);
	c->after_corruption = 0;
	return 0;
fail:
	saved = errno;
	buf_printf(err, "cannot %s %s: %s", what, c->tmppath, strerror(saved));
	if (fd != -1)
		close(fd);
	unlink(c->tmppath);
	return -1;
}

int
cursor_check_dir(const char *statedir, struct buf *err)
{
	struct stat	 st;
	char		*probe;
	int		 fd;

	if (stat(statedir, &st) == -1 && errno == ENOENT &&
	    mkdir(statedir, 0700) == -1) {
		buf_printf(err, "cannot create it: %s", strerror(errno));
		return -1;
	}
	if (stat(statedir, &st) == -1) {
		buf_printf(err, "cannot access it: %s", strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		buf_adds(err, "not a directory");
		return -1;
	}
	probe = xasprintf("%s/.probe.%ld", statedir, (long)getpid());
	if ((fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		buf_printf(err, "not writable: cannot create a file in it: %s",
		    strerror(errno));
		free(probe);
		return -1;
	}
	close(fd);
	unlink(probe);
	free(probe);
	return 0;
}
