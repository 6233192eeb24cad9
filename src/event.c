/*
 * event.c: parse and validate ListSecurityEvents pages (see event.h).
 *
 * cJSON mishandles some valid JSON: it cuts a string at a \u0000 escape
 * (hiding what follows from the SIEM), reads a malformed \u escape as a NUL
 * and refuses a whole page for one unpaired surrogate escape. So before
 * cJSON sees a body:
 *  - NUL bytes (never valid JSON) are refused;
 *  - the escapes are checked: in valid JSON a backslash appears only inside
 *    strings and the first one starts an escape, so jumping from escape to
 *    escape (memchr) visits every one without a pass over each byte;
 *  - only when one of them is \u0000, an unpaired surrogate (\uD800-\uDFFF)
 *    or malformed, the body is copied and scanned byte by byte
 *    (prepare_body()): those escapes become \uFFFD (same length), and a
 *    malformed one refuses the page with its offset.
 * Otherwise cJSON parses the caller's buffer in place. When cJSON refuses a
 * page, the same byte scan names the reason (a NUL, nesting deeper than
 * CJSON_NESTING_LIMIT, a bad escape, a truncation), else cJSON's offset.
 *
 * The daemon reads a page as it arrives (event_stream_next()): the body's
 * structure is followed with the same scanners page_scan() uses (strings
 * skipped by memchr, brackets counted), and each element of data_list is
 * fixed, parsed and checked as above once it is complete, then dropped.
 * Anything of another shape in the head (before data_list) is left to the
 * readings of the whole body, which name what is wrong; after it, the page
 * fails where it stops being JSON, as event_page_next() does.
 *
 * An event's typed fields come from one pass over the members of its
 * object (and of the few nested objects read), the first member of a name
 * counting, as cJSON_GetObjectItemCaseSensitive() would find it.
 *
 * A page's tree lives in an arena: while a page is parsed, cJSON's
 * allocations (a node and a string or two per member: most of the CPU a
 * parse costs with malloc) are carved from large chunks, and clearing the
 * page drops them all at once, without a cJSON_Delete() walk or a free()
 * per node, and without leaving the heap fragmented. cJSON's hooks are
 * process-wide, so they are set once and act only while an arena is being
 * filled; their free() ignores what lies in a chunk in use and frees
 * everything else as free() would, so trees made before or outside a page
 * are unaffected. Chunks are mapped memory: the largest one released is
 * kept for the next page (faulting its pages in again costs more than the
 * parse on some virtual machines), what it used beyond its first 2 MB
 * given back to the system should it need it (MADV_FREE); the others are
 * unmapped. A page of 4.4 KB events takes about 3.5 bytes of tree per
 * byte of JSON.
 */
#include "autoconf.h"

#include <sys/mman.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "event.h"
#include "util.h"

#define EVENT_NESTING_MAX	CJSON_NESTING_LIMIT
#define TOTAL_NUM_MAX		9007199254740992LL	/* 2^53 */

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN	1
#endif
#endif
#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define ARENA_REDZONE	16	/* poisoned after each allocation */
#else
#define ARENA_REDZONE	0
#define ASAN_POISON_MEMORY_REGION(p, n)		((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n)	((void)(p), (void)(n))
#endif

#define ARENA_ALIGN	8		/* cJSON stores pointers and doubles */
#define ARENA_MIN	(2 * 1024 * 1024)	/* bytes of a chunk, at least */
#define ARENA_SMALL	(256 * 1024)	/* ... of a page read event by event */
#define ARENA_GRAIN	(64 * 1024)	/* a smaller chunk's rounding */
#define ARENA_PER_BYTE	8		/* first chunk: bytes per body byte */
#define ARENA_SPARE_MAX	(256 * 1024 * 1024)	/* larger is unmapped */

/* One mapping; the arena's chunks are a list, the newest first. */
struct arena_chunk {
	struct arena_chunk	*next;
	struct arena_chunk	*live_next;	/* chunks in use, any page */
	struct event_arena	*owner;
	size_t			 size;		/* of the mapping */
	size_t			 used;		/* header included; see cur */
};

/*
 * mixed: cJSON allocated outside the arena while it was in use, so one of
 * its trees may have been given a member that is not in it (a caller's
 * cJSON_ReplaceItemInObject()...): its events' trees are then deleted with
 * cJSON_Delete() as any other, which frees such members and skips the rest.
 */
struct event_arena {
	struct arena_chunk	*chunks;	/* the newest is being filled */
	char			*cur, *end;	/* its free room */
	size_t			 hint;		/* first chunk size wanted */
	size_t			 refs;		/* the page and its events */
	int			 mixed;
};

/*
 * The hooks' state: the arena being filled (only during a parse), every
 * chunk in use (what free() must ignore) and the spare chunk.
 */
static struct event_arena	*arena_filling;
static struct arena_chunk	*arena_live;
static struct arena_chunk	*arena_spare;

#define CHUNK_HDR	((sizeof(struct arena_chunk) + ARENA_ALIGN - 1) & \
			    ~(size_t)(ARENA_ALIGN - 1))

/* The spare chunk when it has min bytes, else a new one of size bytes. */
static struct arena_chunk *
chunk_map(size_t min, size_t size)
{
	struct arena_chunk	*c;
	void			*p;
	size_t			 grain;

	if (arena_spare != NULL && arena_spare->size >= min) {
		c = arena_spare;
		arena_spare = NULL;
	} else {
		/*
		 * A page's tree takes chunks of 2 MB and more, in huge pages
		 * (fewer page faults); one event's, a small one: a huge page
		 * would make 2 MB resident for some 15 KB of tree.
		 */
		grain = size < ARENA_MIN ? ARENA_GRAIN : ARENA_MIN;
		size = (size + grain - 1) & ~(grain - 1);
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			xoom(size);
#ifdef MADV_HUGEPAGE
		/* failing is harmless */
		if (size >= ARENA_MIN)
			(void)madvise(p, size, MADV_HUGEPAGE);
#endif
		c = p;
		c->size = size;
		ASAN_POISON_MEMORY_REGION((char *)c + CHUNK_HDR,
		    size - CHUNK_HDR);
	}
	c->used = CHUNK_HDR;
	c->owner = arena_filling;
	c->next = NULL;
	c->live_next = arena_live;
	arena_live = c;
	return c;
}

/* Keep the largest chunk for the next page, unmap the others. */
static void
chunk_release(struct arena_chunk *c)
{
	struct arena_chunk	**pp, *drop = c;

	for (pp = &arena_live; *pp != NULL; pp = &(*pp)->live_next)
		if (*pp == c) {
			*pp = c->live_next;
			break;
		}
	ASAN_POISON_MEMORY_REGION((char *)c + CHUNK_HDR, c->size - CHUNK_HDR);
	if (c->size <= ARENA_SPARE_MAX &&
	    (arena_spare == NULL || arena_spare->size < c->size)) {
		drop = arena_spare;
		arena_spare = c;
#ifdef MADV_FREE
		/*
		 * The system may take its pages back when it needs them;
		 * until then the next page reuses them without a fault.
		 */
		(void)madvise((char *)c + ARENA_MIN, c->used > ARENA_MIN ?
		    c->used - ARENA_MIN : 0, MADV_FREE);
#endif
	}
	if (drop != NULL) {
		ASAN_UNPOISON_MEMORY_REGION(drop, drop->size);
		munmap(drop, drop->size);
	}
}

/* A new chunk for an allocation of size (need with its padding). */
static void *
arena_grow(struct event_arena *a, size_t size, size_t need)
{
	struct arena_chunk	*c = a->chunks;
	size_t			 want, min;
	char			*p;

	if (size > SIZE_MAX / 4)
		return NULL;
	/* a first chunk of half the hint is enough for most pages */
	want = c == NULL ? a->hint : 2 * c->size;
	min = c == NULL ? a->hint / 2 : want;
	if (want < need + CHUNK_HDR)
		want = need + CHUNK_HDR;
	if (min < need + CHUNK_HDR)
		min = need + CHUNK_HDR;
	if (c != NULL)
		c->used = (size_t)(a->cur - (char *)c);
	c = chunk_map(min, want);
	c->next = a->chunks;
	a->chunks = c;
	p = (char *)c + c->used;
	a->cur = p + need;
	a->end = (char *)c + c->size;
	ASAN_UNPOISON_MEMORY_REGION(p, size);
	return p;
}

static void *
arena_malloc(size_t size)
{
	struct event_arena	*a = arena_filling;
	struct arena_chunk	*c;
	size_t			 need;
	char			*p;

	if (a == NULL) {
		for (c = arena_live; c != NULL; c = c->live_next)
			c->owner->mixed = 1;
		return malloc(size);
	}
	need = (size + ARENA_REDZONE + ARENA_ALIGN - 1) &
	    ~(size_t)(ARENA_ALIGN - 1);
	if (need < size || need > (size_t)(a->end - a->cur))
		return arena_grow(a, size, need);
	p = a->cur;
	a->cur += need;
	ASAN_UNPOISON_MEMORY_REGION(p, size);
	return p;
}

static void
arena_free(void *p)
{
	struct arena_chunk	*c;

	for (c = arena_live; c != NULL; c = c->live_next)
		if ((char *)p >= (char *)c && (char *)p < (char *)c + c->size)
			return;		/* dropped with its page */
	free(p);
}

static struct event_arena *
arena_new(size_t len)
{
	static int		 hooked;
	cJSON_Hooks		 hooks = { arena_malloc, arena_free };
	struct event_arena	*a;

	if (!hooked) {
		cJSON_InitHooks(&hooks);
		hooked = 1;
	}
	a = xcalloc(1, sizeof(*a));
	a->refs = 1;
	/* more chunks are added when a page needs them */
	a->hint = len < ARENA_SPARE_MAX / ARENA_PER_BYTE ?
	    len * ARENA_PER_BYTE : ARENA_SPARE_MAX;
	return a;
}

static void
arena_unref(struct event_arena *a)
{
	struct arena_chunk	*c, *next;

	if (a == NULL || --a->refs > 0)
		return;
	if (arena_filling == a)
		arena_filling = NULL;
	if (a->chunks != NULL)
		a->chunks->used = (size_t)(a->cur - (char *)a->chunks);
	for (c = a->chunks; c != NULL; c = next) {
		next = c->next;
		chunk_release(c);
	}
	free(a);
}

/*
 * Reuse an arena for the next event of a page read one at a time, when no
 * event of it is held any more (the page's is the only reference): its
 * newest chunk, the largest, is kept, the others released.
 */
static void
arena_rewind(struct event_arena *a)
{
	struct arena_chunk	*keep = a->chunks, *c, *next;

	if (keep == NULL || a->refs != 1)
		return;
	for (c = keep->next; c != NULL; c = next) {
		next = c->next;
		chunk_release(c);
	}
	keep->next = NULL;
	keep->used = CHUNK_HDR;
	a->cur = (char *)keep + CHUNK_HDR;
	a->end = (char *)keep + keep->size;
	ASAN_POISON_MEMORY_REGION(a->cur, (size_t)(a->end - a->cur));
}

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
prepare_body(const char *body, size_t len, size_t base, struct buf *err)
{
	const char	*end = body + len;
	char		*copy, *q;
	const char	*p;
	int		 instr = 0;
	long		 depth = 0, v, w;

	if ((p = memchr(body, '\0', len)) != NULL) {
		buf_printf(err, "invalid JSON: NUL byte at offset %zu",
		    base + (size_t)(p - body));
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
			    "offset %zu", base + (size_t)(p - body));
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

/*
 * 0 when cJSON may parse body as it is: no NUL byte, and every \u escape
 * well formed, not \u0000 and not an unpaired surrogate. Escapes are found
 * by jumping from one backslash to the next (see the top of the file); in
 * a body that is not valid JSON this may misjudge, which is harmless:
 * cJSON refuses it, and the byte scan of prepare_body() then decides.
 */
static int
needs_fixing(const char *body, size_t len)
{
	const char	*p = body, *end = body + len;
	long		 v, w;

	if (memchr(body, '\0', len) != NULL)
		return 1;
	while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
		if (end - p < 2)
			return 1;
		if (p[1] != 'u') {
			p += 2;
			continue;
		}
		if ((v = uescape(p, end)) == -1)
			return 1;
		if (v >= 0xD800 && v <= 0xDBFF &&
		    (w = uescape(p + 6, end)) >= 0xDC00 && w <= 0xDFFF) {
			p += 12;
			continue;
		}
		if (v == 0 || (v >= 0xD800 && v <= 0xDFFF))
			return 1;
		p += 6;
	}
	return 0;
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

/*
 * The members an event is read from: the first member of each name, found
 * in one pass over an object (collect()). One enum per object read.
 */
enum top_member {
	T_EVENT_ID, T_OCCUR_TIME, T_EVENT_CLASS_ID, T_EVENT_NAME, T_SEVERITY,
	T_HOST_NAME, T_HOST_ID, T_PRIVATE_IP, T_PUBLIC_IP, T_OS_TYPE,
	T_ATTACK_PHASE, T_ATTACK_TAG, T_HANDLE_STATUS, T_HANDLE_METHOD,
	T_CONTAINER_NAME, T_IMAGE_NAME, T_EVENT_TYPE, T_EVENT_COUNT,
	T_HANDLE_TIME, T_PROCESS_INFO_LIST, T_USER_INFO_LIST,
	T_FILE_INFO_LIST, T_RESOURCE_INFO, T_COUNT
};
enum proc_member {
	P_NAME, P_PATH, P_HASH, P_FILE_HASH, P_USERNAME, P_CMDLINE, P_PID,
	P_UID, P_COUNT
};
enum user_member {
	U_USER_NAME, U_LOGIN_IP, U_USER_ID, U_COUNT
};
enum file_member {
	F_PATH, F_HASH, F_SHA256, F_MD5, F_SIZE, F_COUNT
};
enum res_member {
	R_PROJECT_ID, R_REGION_NAME, R_VM_UUID, R_CONTAINER_ID, R_COUNT
};

/*
 * A member name (and its length) -> its index in one of the enums above,
 * or -1. The length is compared first, so most names cost no memcmp().
 */
typedef int (*member_fn)(const char *, size_t);

#define IS(k, n, name)	((n) == sizeof(name) - 1 && \
			    memcmp((k), (name), sizeof(name) - 1) == 0)

static int
top_member(const char *k, size_t n)
{
	switch (k[0]) {
	case 'a':
		if (IS(k, n, "attack_phase"))
			return T_ATTACK_PHASE;
		if (IS(k, n, "attack_tag"))
			return T_ATTACK_TAG;
		break;
	case 'c':
		if (IS(k, n, "container_name"))
			return T_CONTAINER_NAME;
		break;
	case 'e':
		if (IS(k, n, "event_id"))
			return T_EVENT_ID;
		if (IS(k, n, "event_class_id"))
			return T_EVENT_CLASS_ID;
		if (IS(k, n, "event_name"))
			return T_EVENT_NAME;
		if (IS(k, n, "event_type"))
			return T_EVENT_TYPE;
		if (IS(k, n, "event_count"))
			return T_EVENT_COUNT;
		break;
	case 'f':
		if (IS(k, n, "file_info_list"))
			return T_FILE_INFO_LIST;
		break;
	case 'h':
		if (IS(k, n, "host_name"))
			return T_HOST_NAME;
		if (IS(k, n, "host_id"))
			return T_HOST_ID;
		if (IS(k, n, "handle_status"))
			return T_HANDLE_STATUS;
		if (IS(k, n, "handle_method"))
			return T_HANDLE_METHOD;
		if (IS(k, n, "handle_time"))
			return T_HANDLE_TIME;
		break;
	case 'i':
		if (IS(k, n, "image_name"))
			return T_IMAGE_NAME;
		break;
	case 'o':
		if (IS(k, n, "occur_time"))
			return T_OCCUR_TIME;
		if (IS(k, n, "os_type"))
			return T_OS_TYPE;
		break;
	case 'p':
		if (IS(k, n, "private_ip"))
			return T_PRIVATE_IP;
		if (IS(k, n, "public_ip"))
			return T_PUBLIC_IP;
		if (IS(k, n, "process_info_list"))
			return T_PROCESS_INFO_LIST;
		break;
	case 'r':
		if (IS(k, n, "resource_info"))
			return T_RESOURCE_INFO;
		break;
	case 's':
		if (IS(k, n, "severity"))
			return T_SEVERITY;
		break;
	case 'u':
		if (IS(k, n, "user_info_list"))
			return T_USER_INFO_LIST;
		break;
	}
	return -1;
}

static int
proc_member(const char *k, size_t n)
{
	if (n < 8 || memcmp(k, "process_", 8) != 0)
		return -1;
	k += 8;
	n -= 8;
	if (IS(k, n, "name"))
		return P_NAME;
	if (IS(k, n, "path"))
		return P_PATH;
	if (IS(k, n, "hash"))
		return P_HASH;
	if (IS(k, n, "file_hash"))
		return P_FILE_HASH;
	if (IS(k, n, "username"))
		return P_USERNAME;
	if (IS(k, n, "cmdline"))
		return P_CMDLINE;
	if (IS(k, n, "pid"))
		return P_PID;
	if (IS(k, n, "uid"))
		return P_UID;
	return -1;
}

static int
user_member(const char *k, size_t n)
{
	if (IS(k, n, "user_name"))
		return U_USER_NAME;
	if (IS(k, n, "login_ip"))
		return U_LOGIN_IP;
	if (IS(k, n, "user_id"))
		return U_USER_ID;
	return -1;
}

static int
file_member(const char *k, size_t n)
{
	if (n < 5 || memcmp(k, "file_", 5) != 0)
		return -1;
	k += 5;
	n -= 5;
	if (IS(k, n, "path"))
		return F_PATH;
	if (IS(k, n, "hash"))
		return F_HASH;
	if (IS(k, n, "sha256"))
		return F_SHA256;
	if (IS(k, n, "md5"))
		return F_MD5;
	if (IS(k, n, "size"))
		return F_SIZE;
	return -1;
}

static int
res_member(const char *k, size_t n)
{
	if (IS(k, n, "project_id"))
		return R_PROJECT_ID;
	if (IS(k, n, "region_name"))
		return R_REGION_NAME;
	if (IS(k, n, "vm_uuid"))
		return R_VM_UUID;
	if (IS(k, n, "container_id"))
		return R_CONTAINER_ID;
	return -1;
}

#undef IS

/*
 * slot[i] = the first member of obj whose name maps to i, else NULL: what
 * cJSON_GetObjectItemCaseSensitive() returns for that name (it too stops
 * at a member without a name, which a parsed object never has).
 */
static void
collect(const cJSON *obj, member_fn fn, const cJSON **slot, size_t n)
{
	const cJSON	*j;
	int		 i;

	memset(slot, 0, n * sizeof(*slot));
	for (j = obj->child; j != NULL && j->string != NULL; j = j->next)
		if ((i = fn(j->string, strlen(j->string))) >= 0 &&
		    slot[i] == NULL)
			slot[i] = j;
}

/* A non-empty string member, else NULL. */
static const char *
str_of(const cJSON *j)
{
	if (!cJSON_IsString(j) || j->valuestring[0] == '\0')
		return NULL;
	return j->valuestring;
}

/* 1 and *out for an integer member (number or decimal string), else 0. */
static unsigned int
int_of(const cJSON *j, int64_t *out)
{
	const char	*why;

	if (json_int64(j, INT64_MIN, INT64_MAX, out, &why) == -1) {
		*out = 0;
		return 0;
	}
	return 1;
}

/* The first element of an array member when it is an object, else NULL. */
static const cJSON *
first_object(const cJSON *a)
{
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
fill_fields(struct hss_event *ev, const cJSON *const *t)
{
	const cJSON	*p, *m[P_COUNT];
	const char	*s;

	ev->event_class_id = str_of(t[T_EVENT_CLASS_ID]);
	ev->event_name = str_of(t[T_EVENT_NAME]);
	ev->severity = str_of(t[T_SEVERITY]);
	ev->host_name = str_of(t[T_HOST_NAME]);
	ev->host_id = str_of(t[T_HOST_ID]);
	ev->private_ip = str_of(t[T_PRIVATE_IP]);
	ev->public_ip = str_of(t[T_PUBLIC_IP]);
	ev->os_type = str_of(t[T_OS_TYPE]);
	ev->attack_phase = str_of(t[T_ATTACK_PHASE]);
	ev->attack_tag = str_of(t[T_ATTACK_TAG]);
	ev->handle_status = str_of(t[T_HANDLE_STATUS]);
	ev->handle_method = str_of(t[T_HANDLE_METHOD]);
	ev->container_name = str_of(t[T_CONTAINER_NAME]);
	ev->image_name = str_of(t[T_IMAGE_NAME]);
	ev->has_event_type = int_of(t[T_EVENT_TYPE], &ev->event_type);
	ev->has_event_count = int_of(t[T_EVENT_COUNT], &ev->event_count);
	ev->has_handle_time = int_of(t[T_HANDLE_TIME], &ev->handle_time);

	if ((p = first_object(t[T_PROCESS_INFO_LIST])) != NULL) {
		collect(p, proc_member, m, P_COUNT);
		ev->proc_name = str_of(m[P_NAME]);
		ev->proc_path = str_of(m[P_PATH]);
		if ((ev->proc_hash = str_of(m[P_HASH])) == NULL)
			ev->proc_hash = str_of(m[P_FILE_HASH]);
		ev->proc_username = str_of(m[P_USERNAME]);
		ev->proc_cmdline = str_of(m[P_CMDLINE]);
		ev->has_proc_pid = int_of(m[P_PID], &ev->proc_pid);
		ev->has_proc_uid = int_of(m[P_UID], &ev->proc_uid);
	}
	if ((p = first_object(t[T_USER_INFO_LIST])) != NULL) {
		collect(p, user_member, m, U_COUNT);
		ev->user_name = str_of(m[U_USER_NAME]);
		ev->user_login_ip = str_of(m[U_LOGIN_IP]);
		ev->has_user_uid = int_of(m[U_USER_ID], &ev->user_uid);
	}
	if ((p = first_object(t[T_FILE_INFO_LIST])) != NULL) {
		collect(p, file_member, m, F_COUNT);
		ev->file_path = str_of(m[F_PATH]);
		if ((ev->file_hash = str_of(m[F_HASH])) == NULL &&
		    (ev->file_hash = str_of(m[F_SHA256])) == NULL)
			ev->file_hash = str_of(m[F_MD5]);
		ev->has_file_size = int_of(m[F_SIZE], &ev->file_size);
		if (ev->file_path != NULL) {
			s = ev->file_path + strlen(ev->file_path);
			while (s > ev->file_path && s[-1] != '/' &&
			    s[-1] != '\\')
				s--;
			ev->file_name = *s != '\0' ? s : NULL;
		}
	}
	if (cJSON_IsObject(p = t[T_RESOURCE_INFO])) {
		collect(p, res_member, m, R_COUNT);
		ev->res_project_id = str_of(m[R_PROJECT_ID]);
		ev->res_region_name = str_of(m[R_REGION_NAME]);
		ev->res_vm_uuid = str_of(m[R_VM_UUID]);
		ev->res_container_id = str_of(m[R_CONTAINER_ID]);
	}
}

struct hss_event *
event_from_json(cJSON *obj, struct buf *err)
{
	struct hss_event	*ev = NULL;
	const cJSON		*t[T_COUNT], *id, *ot;
	const char		*why;

	if (!cJSON_IsObject(obj)) {
		buf_printf(err, "event is not an object (%s)",
		    json_type_name(obj));
		goto fail;
	}
	collect(obj, top_member, t, T_COUNT);
	if ((id = t[T_EVENT_ID]) == NULL) {
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
	if ((ot = t[T_OCCUR_TIME]) == NULL) {
		add_safe_id(err, id->valuestring);
		buf_adds(err, "occur_time is missing");
		goto fail;
	}
	if (json_int64(ot, 0, EVENT_TIME_MAX, &ev->occur_time, &why) == -1) {
		add_safe_id(err, id->valuestring);
		if (!cJSON_IsNumber(ot) && !cJSON_IsString(ot))
			buf_printf(err, "occur_time is not a number (%s)",
			    json_type_name(ot));
		else
			buf_printf(err, "occur_time is %s", why);
		goto fail;
	}
	ev->json = obj;
	ev->event_id = id->valuestring;
	fill_fields(ev, t);
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
	if (ev->arena == NULL || ev->arena->mixed)
		cJSON_Delete(ev->json);
	arena_unref(ev->arena);		/* the tree goes with the last one */
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
	free(pg->copy);
	arena_unref(pg->arena);
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

/*
 * The one JSON value of text[0..len) (whitespace around it allowed), or
 * NULL with the reason in *err (if not NULL).
 */
static cJSON *
parse_text(const char *text, size_t len, struct buf *err)
{
	cJSON		*root;
	const char	*end = NULL;
	size_t		 off;

	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	off = end != NULL && end >= text ? (size_t)(end - text) : 0;
	if (root == NULL) {
		if (err == NULL)
			return NULL;
		if (off >= len)
			buf_printf(err, "truncated JSON (%zu bytes)", len);
		else
			buf_printf(err, "invalid JSON at offset %zu", off);
		return NULL;
	}
	if (off > len)
		off = len;
	off += strspn_len(text + off, len - off, " \t\r\n");
	if (off != len) {
		if (err != NULL)
			buf_printf(err, "invalid JSON: data after the value at "
			    "offset %zu", off);
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

int
event_page_parse_whole(const char *body, size_t len, struct event_page *pg,
    struct buf *err)
{
	struct hss_event	*ev;
	struct buf		 why;
	cJSON			*root = NULL, *list, *item, *next;
	const cJSON		*tn;
	const char		*reason;
	char			*copy = NULL;
	size_t			 i, n;

	event_page_clear(pg);
	buf_init(&why);
	if (strspn_len(body, len, " \t\r\n") == len) {
		buf_adds(err, "empty body");
		goto fail;
	}
	/*
	 * In place when nothing needs fixing; else (or when cJSON refuses
	 * it, to name the reason) through the fixed copy.
	 */
	pg->arena = arena_new(len);
	arena_filling = pg->arena;
	if (needs_fixing(body, len) ||
	    (root = parse_text(body, len, NULL)) == NULL) {
		if ((copy = prepare_body(body, len, 0, err)) == NULL)
			goto fail;
		root = parse_text(copy, len, err);
	}
	arena_filling = NULL;
	if (root == NULL)
		goto fail;
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
	pg->nitems = n;
	pg->events = xreallocarray(NULL, n ? n : 1, sizeof(*pg->events));
	for (item = list->child, i = 0; item != NULL; item = next, i++) {
		next = item->next;
		cJSON_DetachItemViaPointer(list, item);
		buf_reset(&why);
		if ((ev = event_from_json(item, &why)) != NULL) {
			ev->arena = pg->arena;
			pg->arena->refs++;
			pg->events[pg->nevents++] = ev;
			continue;
		}
		pg->errors = xreallocarray(pg->errors, pg->nerrors + 1,
		    sizeof(*pg->errors));
		pg->errors[pg->nerrors++] = xasprintf("data_list[%zu]: %s", i,
		    why.data);
	}
	/* root and what is left of it go with the arena */
	free(copy);
	buf_free(&why);
	return 0;
fail:
	arena_filling = NULL;
	free(copy);
	buf_free(&why);
	event_page_clear(pg);
	return -1;
}

/* -- a page read one event at a time ------------------------------------ */

/* cJSON's whitespace: every byte up to the space (a NUL is refused first). */
static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (unsigned char)*p <= ' ')
		p++;
	return p;
}

/*
 * Past the string whose opening quote is at p, as cJSON ends it (the
 * first quote not escaped by a backslash), or NULL when the text ends
 * first. Each byte is looked at by memchr() once at most: the quote found
 * is kept until a backslash before it moves past it.
 */
static const char *
skip_string(const char *p, const char *end)
{
	const char	*q = NULL, *b;

	for (p++;;) {
		if (p >= end)
			return NULL;
		if ((q == NULL || q < p) &&
		    (q = memchr(p, '"', (size_t)(end - p))) == NULL)
			return NULL;
		if ((b = memchr(p, '\\', (size_t)(q - p))) == NULL)
			return q + 1;
		p = b + 2;
	}
}

/*
 * Past the JSON value at p, opened at nesting depth: a string to its
 * closing quote, an array or object to its closing bracket, anything else
 * to the next comma, bracket or whitespace. NULL when the text ends first
 * or nests deeper than EVENT_NESTING_MAX (as prepare_body() counts). It
 * checks nothing else: cJSON parses every value later. *commas: the commas
 * directly inside an array at p.
 */
static const char *
skip_value(const char *p, const char *end, long depth, size_t *commas,
    int *deep)
{
	long	 d = 0;

	*commas = 0;
	*deep = 0;
	while (p < end) {
		switch (*p) {
		case '"':
			if ((p = skip_string(p, end)) == NULL)
				return NULL;
			break;
		case '[':
		case '{':
			if (depth + ++d > EVENT_NESTING_MAX) {
				*deep = 1;
				return NULL;
			}
			p++;
			break;
		case ']':
		case '}':
			if (d == 0)
				return p;
			d--;
			p++;
			break;
		case ',':
			if (d == 0)
				return p;
			if (d == 1)
				(*commas)++;
			p++;
			break;
		default:
			if (d == 0 && (unsigned char)*p <= ' ')
				return p;
			p++;
			break;
		}
		if (d == 0 && (p[-1] == '"' || p[-1] == ']' || p[-1] == '}'))
			return p;
	}
	return d == 0 ? p : NULL;
}

/*
 * cJSON parses [v, ve) as one value, all of it. Not a value starting with
 * a byte order mark: cJSON skips one where its text begins, and [v, ve)
 * is inside the page.
 */
static cJSON *
parse_exact(const char *v, const char *ve)
{
	cJSON		*j;
	const char	*e = NULL;

	if (ve - v >= 3 && memcmp(v, "\xef\xbb\xbf", 3) == 0)
		return NULL;
	if ((j = cJSON_ParseWithLengthOpts(v, (size_t)(ve - v), &e, 0)) ==
	    NULL)
		return NULL;
	if (e != ve) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

static int
key_is(const char *k, size_t kl, const char *name)
{
	return kl == strlen(name) && memcmp(k, name, kl) == 0;
}

/*
 * Set pg up to read text[0..len) an event at a time: one JSON object whose
 * members cJSON accepts (data_list's elements are parsed as they are
 * read), with total_num a valid count and data_list an array. 0 when the
 * text is anything else, or anything cJSON might read differently (a
 * member name with an escape, a byte order mark, an error body): the
 * caller then parses it whole, which names what is wrong.
 */
static int
page_scan(struct event_page *pg, const char *text, size_t len)
{
	const char	*p, *end = text + len, *k, *v, *ve;
	const char	*list = NULL, *list_end = NULL, *why;
	cJSON		*j, *tn = NULL;
	size_t		 kl, commas, items = 0;
	int		 rc = 0, deep;

	arena_filling = pg->arena;
	p = skip_ws(text, end);
	if (p == end || *p != '{')
		goto done;
	p = skip_ws(p + 1, end);
	for (;;) {
		if (p == end || *p != '"')
			goto done;
		k = p + 1;
		if ((p = skip_string(p, end)) == NULL)
			goto done;
		kl = (size_t)(p - 1 - k);
		if (memchr(k, '\\', kl) != NULL || key_is(k, kl, "error_code"))
			goto done;
		p = skip_ws(p, end);
		if (p == end || *p != ':')
			goto done;
		v = skip_ws(p + 1, end);
		if (v == end ||
		    (ve = skip_value(v, end, 1, &commas, &deep)) == NULL ||
		    ve == v)
			goto done;
		if (key_is(k, kl, "data_list") && list == NULL) {
			/* brackets are counted, not matched: "[}" ends too */
			if (*v != '[' || ve[-1] != ']')
				goto done;
			list = v;
			list_end = ve;
			items = skip_ws(v + 1, ve) == ve - 1 ? 0 : commas + 1;
		} else {
			if ((j = parse_exact(v, ve)) == NULL)
				goto done;
			if (key_is(k, kl, "total_num") && tn == NULL)
				tn = j;
			else
				cJSON_Delete(j);
		}
		p = skip_ws(ve, end);
		if (p == end)
			goto done;
		if (*p == '}')
			break;
		if (*p != ',')
			goto done;
		p = skip_ws(p + 1, end);
	}
	p++;
	if (strspn_len(p, (size_t)(end - p), " \t\r\n") != (size_t)(end - p) ||
	    tn == NULL || list == NULL ||
	    json_int64(tn, 0, TOTAL_NUM_MAX, &pg->total_num, &why) == -1)
		goto done;
	pg->text = text;
	pg->pos = skip_ws(list + 1, list_end);
	pg->end = list_end;
	pg->nitems = items;
	rc = 1;
done:
	cJSON_Delete(tn);
	arena_filling = NULL;
	return rc;
}

int
event_page_open(const char *body, size_t len, struct event_page *pg,
    struct buf *err)
{
	const char	*text = body;

	event_page_clear(pg);
	if (strspn_len(body, len, " \t\r\n") == len) {
		buf_adds(err, "empty body");
		return -1;
	}
	if (needs_fixing(body, len)) {
		if ((pg->copy = prepare_body(body, len, 0, err)) == NULL)
			return -1;
		text = pg->copy;
	}
	/* one event at a time: a small chunk, grown if an event needs it */
	pg->arena = arena_new(ARENA_SMALL / ARENA_PER_BYTE);
	if (page_scan(pg, text, len))
		return 0;
	return event_page_parse_whole(body, len, pg, err);
}

/* event_page_next() of a page parsed whole: the errors, then the events. */
static int
page_next_listed(struct event_page *pg, struct hss_event **evp,
    struct buf *why)
{
	size_t	 k = pg->taken;

	if (k < pg->nerrors) {
		pg->taken++;
		buf_adds(why, pg->errors[k]);
		return 2;
	}
	k -= pg->nerrors;
	if (k < pg->nevents) {
		pg->taken++;
		*evp = pg->events[k];
		pg->events[k] = NULL;
		return 1;
	}
	return 0;
}

int
event_page_next(struct event_page *pg, struct hss_event **evp,
    struct buf *why)
{
	struct hss_event	*ev;
	struct buf		 reason;
	cJSON			*item;
	const char		*after = NULL, *p;
	size_t			 i = pg->item;

	*evp = NULL;
	if (pg->text == NULL)
		return page_next_listed(pg, evp, why);
	if (i >= pg->nitems)
		return 0;
	/* cJSON skips a byte order mark where its text begins: not here */
	if (pg->end - pg->pos >= 3 && memcmp(pg->pos, "\xef\xbb\xbf", 3) == 0) {
		p = pg->pos;
		goto invalid;
	}
	arena_rewind(pg->arena);
	arena_filling = pg->arena;
	item = cJSON_ParseWithLengthOpts(pg->pos, (size_t)(pg->end - pg->pos),
	    &after, 0);
	arena_filling = NULL;
	if (item == NULL) {
		p = after != NULL && after >= pg->pos && after <= pg->end ?
		    after : pg->pos;
		goto invalid;
	}
	/* then a comma, or the closing bracket after the last one */
	p = skip_ws(after, pg->end);
	if (p == pg->end || (i + 1 < pg->nitems ? *p != ',' :
	    *p != ']' || p + 1 != pg->end)) {
		cJSON_Delete(item);
		goto invalid;
	}
	pg->pos = skip_ws(p + 1, pg->end);
	pg->item++;
	buf_init(&reason);
	if ((ev = event_from_json(item, &reason)) == NULL) {
		buf_printf(why, "data_list[%zu]: %s", i, reason.data);
		buf_free(&reason);
		return 2;
	}
	buf_free(&reason);
	ev->arena = pg->arena;
	pg->arena->refs++;
	*evp = ev;
	return 1;
invalid:
	pg->item = pg->nitems;
	buf_printf(why, "invalid JSON at offset %zu", (size_t)(p - pg->text));
	return -1;
}

int
event_page_parse(const char *body, size_t len, struct event_page *pg,
    struct buf *err)
{
	struct hss_event	*ev;
	struct buf		 why;
	size_t			 room = 0;
	int			 rc;

	if (event_page_open(body, len, pg, err) == -1)
		return -1;
	if (pg->text == NULL)
		return 0;		/* parsed whole */
	buf_init(&why);
	while ((rc = event_page_next(pg, &ev, &why)) != 0) {
		if (rc == -1) {
			/* the whole tree names what is wrong, as it would */
			buf_free(&why);
			return event_page_parse_whole(body, len, pg, err);
		}
		if (rc == 1) {
			/* nitems counts commas: a hostile page may lie */
			if (pg->nevents == room) {
				room = room ? 2 * room : 64;
				pg->events = xreallocarray(pg->events, room,
				    sizeof(*pg->events));
			}
			pg->events[pg->nevents++] = ev;
		} else {
			pg->errors = xreallocarray(pg->errors, pg->nerrors + 1,
			    sizeof(*pg->errors));
			pg->errors[pg->nerrors++] = xstrdup(why.data);
		}
		buf_reset(&why);
	}
	buf_free(&why);
	pg->text = NULL;
	pg->pos = pg->end = NULL;
	return 0;
}

/* -- a page read as it arrives ------------------------------------------ */

enum { S_HEAD, S_ITEM, S_TAIL, S_END, S_DONE, S_FAILED };

/*
 * skip_ws() that stops at a NUL byte: cJSON would take one for whitespace
 * inside a length-bound text, which the whole body's reading refuses first
 * (needs_fixing()); here it is then where the JSON is invalid.
 */
static const char *
skip_ws_nul(const char *p, const char *end)
{
	while (p < end && *p != '\0' && (unsigned char)*p <= ' ')
		p++;
	return p;
}

void
event_stream_init(struct event_stream *es)
{
	memset(es, 0, sizeof(*es));
}

void
event_stream_clear(struct event_stream *es)
{
	arena_unref(es->arena);
	free(es->fixed);
	event_stream_init(es);
}

/*
 * cJSON's value of the complete piece p[0..n) (body offset off), fixed
 * first when it needs it, its tree in es->arena: NULL with the reason in *why, the offset in the
 * body where it is not JSON.
 */
static cJSON *
stream_parse(struct event_stream *es, const char *p, size_t n, size_t off,
    struct buf *why)
{
	cJSON		*j;
	const char	*text = p, *after = NULL;

	if (needs_fixing(p, n)) {
		free(es->fixed);
		if ((es->fixed = prepare_body(p, n, off, why)) == NULL)
			return NULL;
		text = es->fixed;
	}
	if (n >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		/* cJSON skips a byte order mark where its text begins */
		buf_printf(why, "invalid JSON at offset %zu", off);
		return NULL;
	}
	arena_filling = es->arena;
	j = cJSON_ParseWithLengthOpts(text, n, &after, 0);
	arena_filling = NULL;
	if (j != NULL && after == text + n)
		return j;
	cJSON_Delete(j);
	if (after == NULL || after < text || after > text + n)
		after = text;
	buf_printf(why, "invalid JSON at offset %zu", off +
	    (size_t)(after - text));
	return NULL;
}

/*
 * The head: '{', then members up to "data_list": '[' with total_num read
 * before it. Nothing is consumed before that; es->pos is where the next
 * member starts. ES_WHOLE for anything else (the whole body then names
 * what is wrong, or reads it as it can): an error body, a member name with
 * an escape, total_num after data_list or not a count, data_list not an
 * array, text cJSON refuses.
 */
static int
stream_head(struct event_stream *es, const char *data, size_t len, int final,
    size_t *used)
{
	const char	*end = data + len, *p = data + es->pos, *k, *v, *ve;
	const char	*why;
	cJSON		*j;
	size_t		 kl, commas;
	int		 deep, ok;

	if (!es->opened) {
		p = skip_ws(p, end);
		if (p == end)
			goto more;
		if (*p != '{')
			return ES_WHOLE;
		es->opened = 1;
		es->pos = (size_t)(p + 1 - data);
		p++;
	}
	for (;;) {
		p = skip_ws(p, end);
		if (p == end)
			goto more;
		if (es->members > 0) {
			if (*p != ',')
				return ES_WHOLE;
			if ((p = skip_ws(p + 1, end)) == end)
				goto more;
		}
		if (*p != '"')
			return ES_WHOLE;
		k = p + 1;
		if ((p = skip_string(p, end)) == NULL)
			goto more;
		kl = (size_t)(p - 1 - k);
		if (memchr(k, '\\', kl) != NULL || key_is(k, kl, "error_code"))
			return ES_WHOLE;
		if ((p = skip_ws(p, end)) == end)
			goto more;
		if (*p != ':')
			return ES_WHOLE;
		if ((v = skip_ws(p + 1, end)) == end)
			goto more;
		if (key_is(k, kl, "data_list")) {
			if (*v != '[' || !es->have_total ||
			    memchr(data, '\0', (size_t)(v - data)) != NULL)
				return ES_WHOLE;
			*used = (size_t)(v + 1 - data);
			es->base = *used;
			es->state = S_ITEM;
			es->need = 0;
			return ES_HEAD;
		}
		if ((ve = skip_value(v, end, 1, &commas, &deep)) == NULL) {
			if (deep)
				return ES_WHOLE;
			goto more;
		}
		if (ve == v)
			return ES_WHOLE;
		/* a number or a literal may go on in the next bytes */
		if (ve == end && *v != '"' && *v != '[' && *v != '{')
			goto more;
		arena_filling = es->arena;
		j = needs_fixing(v, (size_t)(ve - v)) ? NULL :
		    parse_exact(v, ve);
		arena_filling = NULL;
		if (j == NULL)
			return ES_WHOLE;
		ok = 1;
		if (key_is(k, kl, "total_num") && !es->have_total) {
			ok = json_int64(j, 0, TOTAL_NUM_MAX, &es->total_num,
			    &why) == 0;
			es->have_total = 1;
		}
		cJSON_Delete(j);
		if (!ok)
			return ES_WHOLE;
		es->members++;
		p = ve;
		es->pos = (size_t)(p - data);
	}
more:
	if (final)
		return ES_WHOLE;
	*used = 0;
	es->need = len < SIZE_MAX / 2 ? 2 * len : SIZE_MAX;
	return ES_MORE;
}

int
event_stream_next(struct event_stream *es, const char *data, size_t len,
    int final, size_t *used, struct hss_event **evp, struct buf *why)
{
	const char		*end = data + len, *p = data, *k, *v, *ve, *q;
	struct hss_event	*ev;
	struct buf		 reason;
	cJSON			*j;
	size_t			 i, kl, commas, off;
	int			 deep;

	*used = 0;
	*evp = NULL;
	if (es->state == S_FAILED || es->state == S_DONE)
		return es->state == S_DONE ? ES_DONE : ES_FAILED;
	/* nothing ends before the data doubles (see event.h) */
	if (!final && len < es->need)
		return ES_MORE;
	if (es->arena == NULL)
		es->arena = arena_new(ARENA_SMALL / ARENA_PER_BYTE);
	if (es->state == S_HEAD)
		return stream_head(es, data, len, final, used);

	for (;;) {
		off = es->base + (size_t)(p - data);
		switch (es->state) {
		case S_ITEM:
			if ((p = skip_ws_nul(p, end)) == end)
				goto more;
			off = es->base + (size_t)(p - data);
			if (*p == ']' && es->nitems == 0 && !es->comma) {
				p++;
				es->state = S_TAIL;
				break;
			}
			if ((ve = skip_value(p, end, 2, &commas, &deep)) ==
			    NULL) {
				if (!deep)
					goto more;
				buf_printf(why, "invalid JSON: nested deeper "
				    "than %d levels at offset %zu",
				    EVENT_NESTING_MAX, off);
				goto failed;
			}
			if ((q = skip_ws_nul(ve, end)) == end)
				goto more;
			if (ve == p || (*q != ',' && *q != ']')) {
				buf_printf(why, "invalid JSON at offset %zu",
				    es->base + (size_t)(ve == p ? p - data :
				    q - data));
				goto failed;
			}
			i = es->nitems++;
			es->comma = *q == ',';
			es->state = *q == ',' ? S_ITEM : S_TAIL;
			if (es->count_only) {
				p = q + 1;
				break;
			}
			arena_rewind(es->arena);
			j = stream_parse(es, p, (size_t)(ve - p), off, why);
			if (j == NULL)
				goto failed;
			*used = (size_t)(q + 1 - data);
			es->base += *used;
			es->need = 0;
			buf_init(&reason);
			if ((ev = event_from_json(j, &reason)) == NULL) {
				buf_printf(why, "data_list[%zu]: %s", i,
				    reason.data);
				buf_free(&reason);
				return ES_SKIP;
			}
			buf_free(&reason);
			ev->arena = es->arena;
			es->arena->refs++;
			*evp = ev;
			return ES_EVENT;
		case S_TAIL:
			/* the members after data_list: checked, not kept */
			if ((p = skip_ws_nul(p, end)) == end)
				goto more;
			off = es->base + (size_t)(p - data);
			if (*p == '}') {
				p++;
				es->state = S_END;
				break;
			}
			if (*p != ',') {
				buf_printf(why, "invalid JSON at offset %zu",
				    off);
				goto failed;
			}
			if ((q = skip_ws_nul(p + 1, end)) == end)
				goto more;
			if (*q != '"') {
				buf_printf(why, "invalid JSON at offset %zu",
				    es->base + (size_t)(q - data));
				goto failed;
			}
			k = q + 1;
			if ((q = skip_string(q, end)) == NULL)
				goto more;
			kl = (size_t)(q - 1 - k);
			j = stream_parse(es, k - 1, kl + 2, es->base +
			    (size_t)(k - 1 - data), why);
			if (j == NULL)
				goto failed;
			cJSON_Delete(j);
			if ((q = skip_ws_nul(q, end)) == end)
				goto more;
			if (*q != ':') {
				buf_printf(why, "invalid JSON at offset %zu",
				    es->base + (size_t)(q - data));
				goto failed;
			}
			if ((v = skip_ws_nul(q + 1, end)) == end)
				goto more;
			if ((ve = skip_value(v, end, 1, &commas, &deep)) ==
			    NULL) {
				if (!deep)
					goto more;
				buf_printf(why, "invalid JSON: nested deeper "
				    "than %d levels at offset %zu",
				    EVENT_NESTING_MAX,
				    es->base + (size_t)(v - data));
				goto failed;
			}
			if (ve == end && *v != '"' && *v != '[' && *v != '{' &&
			    !final)
				goto more;
			if (key_is(k, kl, "error_code")) {
				buf_adds(why, "API error body: error_code "
				    "after data_list");
				goto failed;
			}
			j = ve == v ? NULL : stream_parse(es, v,
			    (size_t)(ve - v), es->base + (size_t)(v - data),
			    why);
			if (j == NULL) {
				if (ve == v)
					buf_printf(why, "invalid JSON at "
					    "offset %zu", es->base +
					    (size_t)(v - data));
				goto failed;
			}
			cJSON_Delete(j);
			p = ve;
			break;
		case S_END:
			/* after the object, as parse_text(): these four */
			p += strspn_len(p, (size_t)(end - p), " \t\r\n");
			if (p != end) {
				buf_printf(why, "invalid JSON: data after the "
				    "value at offset %zu", es->base +
				    (size_t)(p - data));
				goto failed;
			}
			if (!final)
				goto more;
			*used = len;
			es->base += len;
			es->state = S_DONE;
			return ES_DONE;
		default:
			return ES_FAILED;	/* S_HEAD was handled above */
		}
		/* what was read is consumed */
		*used = (size_t)(p - data);
	}
more:
	if (final) {
		buf_printf(why, "truncated JSON (%zu bytes)", es->base +
		    len);
		goto failed;
	}
	es->base += *used;
	len -= *used;
	es->need = len < SIZE_MAX / 2 ? 2 * len : SIZE_MAX;
	return ES_MORE;
failed:
	es->state = S_FAILED;
	return ES_FAILED;
}
