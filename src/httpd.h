/*
 * httpd.c: a small HTTP/1.x server for the metrics endpoint: GET and HEAD
 * of a few fixed paths, one request per connection, strict limits on time,
 * size and connections (see the top of httpd.c).
 */
#ifndef HSS_HTTPD_H
#define HSS_HTTPD_H

#include "util.h"

struct event_base;
struct httpd;

/* Fills body and *content_type for a GET of its path; returns the status. */
typedef int	httpd_handler(void *, struct buf *, const char **);

/* Listens on host:port; NULL with the reason in err. name prefixes logs. */
struct httpd	*httpd_new(struct event_base *, const char *, const char *,
		    int, struct buf *);
/* Serves path (exact match, query ignored) with handler(arg, ...). */
void		 httpd_route(struct httpd *, const char *, httpd_handler *,
		    void *);
/* Closes the listener and every connection. */
void		 httpd_free(struct httpd *);

#endif
