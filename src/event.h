/*
 * event.c: one ListSecurityEvents 200 body -> validated events with the typed
 * flat fields the formatters use (DESIGN.md sections 3 and 8,
 * reference/hss-api.md "Response").
 *
 * Each event keeps the object exactly as the API sent it (json), so the JSON
 * and RFC 5424 MSG outputs lose nothing. The typed fields are borrowed from
 * that tree. A field of an unexpected type (a number where a string is
 * expected, "" where an object is expected, ...) leaves its typed field
 * absent (NULL / has_* = 0); integers are also accepted as decimal strings.
 * An empty string is absent too. Only a bad event_id or occur_time rejects
 * an event, and then only that event.
 */
#ifndef HSS_EVENT_H
#define HSS_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct buf;
struct event_arena;

#define EVENT_ID_MAX		64		/* characters */
#define EVENT_ID_MAX_BYTES	(4 * EVENT_ID_MAX)	/* of UTF-8 */
#define EVENT_TIME_MAX		253402300799999LL /* 9999-12-31T23:59:59.999Z */

struct hss_event {
	cJSON		*json;		/* owned: the event object as sent */
	const char	*event_id;	/* event_id_valid() */
	int64_t		 occur_time;	/* epoch ms, 0..EVENT_TIME_MAX */

	/* Top level strings; NULL when absent, empty or not a string. */
	const char	*event_class_id;
	const char	*event_name;
	const char	*severity;
	const char	*host_name;
	const char	*host_id;
	const char	*private_ip;
	const char	*public_ip;
	const char	*os_type;
	const char	*attack_phase;
	const char	*attack_tag;
	const char	*handle_status;
	const char	*handle_method;
	const char	*container_name;
	const char	*image_name;

	/* Integers (JSON integral number or decimal string). */
	int64_t		 event_type;
	int64_t		 event_count;
	int64_t		 handle_time;
	unsigned int	 has_event_type:1;
	unsigned int	 has_event_count:1;
	unsigned int	 has_handle_time:1;
	unsigned int	 has_proc_pid:1;
	unsigned int	 has_proc_uid:1;
	unsigned int	 has_user_uid:1;
	unsigned int	 has_file_size:1;

	/* First element of process_info_list. */
	const char	*proc_name;
	const char	*proc_path;
	const char	*proc_hash;
	const char	*proc_username;
	const char	*proc_cmdline;
	int64_t		 proc_pid;
	int64_t		 proc_uid;

	/* First element of user_info_list. */
	const char	*user_name;
	const char	*user_login_ip;
	int64_t		 user_uid;

	/* First element of file_info_list; file_name is the last component. */
	const char	*file_name;
	const char	*file_path;
	const char	*file_hash;
	int64_t		 file_size;

	/* resource_info */
	const char	*res_project_id;
	const char	*res_region_name;
	const char	*res_vm_uuid;
	const char	*res_container_id;

	struct event_arena *arena;	/* json's, when from a page */
};

struct event_page {
	int64_t			  total_num;
	size_t			  nitems;	/* elements of data_list */
	/* event_page_parse(): every element, read */
	struct hss_event	**events;	/* the valid ones, page order */
	size_t			  nevents;
	size_t			  nerrors;	/* events rejected */
	char			**errors;	/* a line per rejected event */
	struct event_arena	 *arena;	/* the events' JSON trees */
	/* event_page_open(): the elements still to read */
	char			 *copy;		/* the text when it was fixed */
	const char		 *text;		/* NULL: read from the lists */
	const char		 *pos, *end;	/* the next element */
	size_t			  item;		/* its index */
	size_t			  taken;	/* of the lists, handed out */
};

/*
 * Parse one 200 body of len bytes (it may contain NUL bytes; it need not be
 * NUL-terminated). The page must be zero-initialised or cleared before the
 * first call; its previous contents are cleared. Returns 0, or -1 when the
 * page as a whole is unusable, with a one-line reason in *err.
 *
 * The events' JSON trees live in one arena (see event.c), freed with the
 * page and the last of its events (an event taken out of pg->events stays
 * valid until hss_event_free()). The first call sets cJSON's allocation
 * hooks for the whole process (cJSON_InitHooks()); every other cJSON tree
 * is allocated and freed with malloc() and free() as before.
 */
int		 event_page_parse(const char *, size_t, struct event_page *,
		    struct buf *);
/*
 * The same page read one event at a time, so that memory holds one event's
 * tree, not the page's (a page of 1000 events of 4 KB makes some 15 MB of
 * tree). event_page_open() checks what the page as a whole must be (the
 * body is one JSON object, total_num, data_list an array, no error body;
 * pg->total_num and pg->nitems are set) and returns 0, or -1 with the
 * same reason event_page_parse() gives. The body must stay unchanged and
 * in place until the page is cleared.
 *
 * event_page_next() then reads the elements of data_list in order: 1 with
 * *ev (the caller's, to hss_event_free(); the next call may reuse its
 * memory, so free it first), 2 for an element that is not a valid event
 * (the "data_list[N]: ..." line in *why), 0 after the last one, and -1
 * when the page turns out not to be valid JSON at that element (the
 * reason in *why; the elements read before were valid). The caller that
 * needs all-or-nothing uses event_page_parse().
 */
int		 event_page_open(const char *, size_t, struct event_page *,
		    struct buf *);
int		 event_page_next(struct event_page *, struct hss_event **,
		    struct buf *);
/*
 * event_page_parse() as one cJSON tree of the whole body, the reference the
 * event-at-a-time reading must agree with (tests and the fuzzer compare).
 */
int		 event_page_parse_whole(const char *, size_t,
		    struct event_page *, struct buf *);
/* Free the contents; the page is then empty and reusable. */
void		 event_page_clear(struct event_page *);

/*
 * A page read as its body arrives, so that memory holds about an event of
 * it, not the page (a page of 1000 events of 4.4 KB is 4.4 MB of JSON).
 * event_stream_next() is given the body from the first byte it has not
 * consumed (data, len; final once the body is complete) and reads on:
 *
 *   ES_MORE    it needs more of the body (*used bytes consumed);
 *   ES_HEAD    total_num is read (es->total_num) and data_list's elements
 *              come next: the caller may set es->count_only, to have the
 *              elements counted (es->nitems) and not read;
 *   ES_EVENT   *ev, the next event (the caller's, to hss_event_free()
 *              before the next call);
 *   ES_SKIP    an element that is not a valid event ("data_list[N]: ..."
 *              in *why);
 *   ES_DONE    the page is complete and valid;
 *   ES_WHOLE   before anything is consumed: the page is not one to read
 *              this way (an error body, total_num after data_list, a
 *              member name with an escape, text cJSON refuses): read the
 *              whole body with event_page_open() instead;
 *   ES_FAILED  the body is not valid JSON where it was read (*why); what
 *              was read before was valid (as event_page_next()'s -1).
 *
 * An element is read once it and the comma or bracket after it are in;
 * while they are not, no byte is looked at again before there are twice
 * as many (a hostile element of megabytes costs linear time).
 */
enum {
	ES_FAILED = -1, ES_MORE, ES_EVENT, ES_SKIP, ES_HEAD, ES_DONE,
	ES_WHOLE
};
struct event_stream {
	int			 state;
	int			 count_only;	/* the caller's, at ES_HEAD */
	int64_t			 total_num;	/* from ES_HEAD on */
	size_t			 nitems;	/* elements so far */
	/* inside */
	size_t			 base;		/* body offset of data[0] */
	size_t			 pos;		/* of the head read */
	size_t			 need;		/* bytes before a new look */
	size_t			 members;	/* of the head */
	int			 opened;
	int			 have_total;
	int			 comma;		/* the last element had one */
	struct event_arena	*arena;
	char			*fixed;		/* a piece's fixed copy */
};
void		 event_stream_init(struct event_stream *);
int		 event_stream_next(struct event_stream *, const char *, size_t,
		    int final, size_t *used, struct hss_event **,
		    struct buf *why);
/* Free what it holds; it is then as event_stream_init() leaves it. */
void		 event_stream_clear(struct event_stream *);
/*
 * Validate one event object and fill the typed fields. Takes ownership of
 * obj on success and on failure. NULL with a reason in *err.
 */
struct hss_event *event_from_json(cJSON *, struct buf *);
void		 hss_event_free(struct hss_event *);

/*
 * The one definition of a valid event_id, used by the parser, the dedupe
 * set and the state file: 1 to EVENT_ID_MAX characters (UTF-8; a byte that
 * does not start a character counts as one only when it is not a
 * continuation byte), at most EVENT_ID_MAX_BYTES bytes, no NUL byte. So
 * every id the parser accepts can be tracked, and never sent twice for want
 * of room. Returns 0, or -1 with the reason appended to *why (if not NULL).
 */
int		 event_id_valid(const char *, size_t, struct buf *why);

#endif
