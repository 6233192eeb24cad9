/*
 * confparse.c: the YAML config file read with positions, for the schema in
 * config.c: diagnostics as "FILE:LINE:COL: message" and typed values.
 *
 * Use: confparse_new(), confparse_load(), walk from confparse_root() with
 * the getters, confparse_free() (which hands over the diagnostics, sorted
 * by position). The getters never show a value that may be a secret.
 */
#ifndef HSS_CONFPARSE_H
#define HSS_CONFPARSE_H

#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "secret.h"

/* The longest path accepted in the file. */
#define CONFPARSE_PATH_MAX	4096
/*
 * Limits on the YAML itself, checked on libyaml's event stream before a
 * document is built, so that any file is refused quickly. A real config is
 * at most 5 deep (top, sources, a source, filters, a filter's list) and
 * holds about 30 values per source: 32 levels and 100,000 values leave
 * room for thousands of sources.
 */
#define CONFPARSE_DEPTH_MAX	32
#define CONFPARSE_NODES_MAX	100000

struct confparse;

/* The file and its diagnostics. */
struct confparse *confparse_new(const char *path);
/* Read and parse the file: 0 when the document is ready, else -1. */
int		 confparse_load(struct confparse *);
/* The top node; NULL when the file is empty. */
yaml_node_t	*confparse_root(struct confparse *);
size_t		 confparse_nerrors(const struct confparse *);
/*
 * Free, wiping every copy of the file, and move the errors and warnings
 * to *errors and *warnings (allocated; NULL drops them).
 */
void		 confparse_free(struct confparse *, char ***errors,
		    size_t *nerrors, char ***warnings, size_t *nwarnings);

/* Diagnostics: at a line and column (1-based; line 0: the whole file). */
void		 confparse_err_at(struct confparse *, int line, int col,
		    const char *, ...)
		    __attribute__((format(printf, 4, 5)));
void		 confparse_err(struct confparse *, const yaml_node_t *,
		    const char *, ...)
		    __attribute__((format(printf, 3, 4)));
void		 confparse_warn(struct confparse *, const yaml_node_t *,
		    const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Names: the nearest within two edits (or NULL), the index (or -1), and
 * all of them joined by ", " (allocated). */
const char	*confparse_suggest(const char *, const char *const *, size_t);
int		 confparse_find(const char *, const char *const *, size_t);
char		*confparse_join(const char *const *, size_t);

/* Nodes. */
yaml_node_t	*confparse_node(struct confparse *, int id);
int		 confparse_is_null(const yaml_node_t *);
/* "a mapping", "a sequence", "an empty value" or "a string". */
const char	*confparse_kind(const yaml_node_t *);
const char	*confparse_str(const yaml_node_t *);
int		 confparse_line(const yaml_node_t *);
/* The text of a scalar, or NULL after an error saying `what` was wanted. */
const char	*confparse_scalar(struct confparse *, const char *key,
		    const yaml_node_t *, const char *what);
int		 confparse_mapping(struct confparse *, const char *key,
		    const yaml_node_t *);
/* A sequence of at least one item: its length, or 0 after an error. */
size_t		 confparse_list(struct confparse *, const char *key,
		    const yaml_node_t *);
yaml_node_pair_t *confparse_pair(struct confparse *, const yaml_node_t *map,
		    const char *key);
/* The value, and the key node, of key in map; NULL when absent. */
yaml_node_t	*confparse_get(struct confparse *, const yaml_node_t *map,
		    const char *key);
yaml_node_t	*confparse_key(struct confparse *, const yaml_node_t *map,
		    const char *key);
/*
 * Unknown keys (with the nearest known one), keys that are not strings,
 * duplicate keys. hide: the map may hold secrets, so an unknown key that
 * does not look like a key name is not shown.
 */
void		 confparse_check_keys(struct confparse *, const yaml_node_t *map,
		    const char *const *keys, size_t nkeys, int hide);
void		 confparse_require(struct confparse *, const yaml_node_t *map,
		    const char *key);

/*
 * Typed values. confparse_check_<type> checks one node: 0, or -1 after an
 * error. confparse_<type> reads key of map: 1 if set (*out written), 0 if
 * absent, -1 after an error.
 */
int		 confparse_check_int(struct confparse *, const char *key,
		    const yaml_node_t *, int64_t min, int64_t max, int64_t *);
int		 confparse_int(struct confparse *, const yaml_node_t *map,
		    const char *key, int64_t min, int64_t max, int64_t *);
/* min and max as text ("10s", "24h"), as the messages show them. */
int		 confparse_duration(struct confparse *, const yaml_node_t *map,
		    const char *key, const char *min, const char *max,
		    int64_t *);
int		 confparse_bool(struct confparse *, const yaml_node_t *map,
		    const char *key, int *);
/* *out: the index in names. */
int		 confparse_check_enum(struct confparse *, const char *key,
		    const yaml_node_t *, const char *const *names,
		    size_t nnames, int *);
int		 confparse_enum(struct confparse *, const yaml_node_t *map,
		    const char *key, const char *const *names, size_t nnames,
		    int *);
/*
 * 1..max bytes; okchar (if set) limits it to the characters charset
 * describes. *out is replaced (freed first).
 */
int		 confparse_check_string(struct confparse *, const char *key,
		    const yaml_node_t *, size_t max, int (*okchar)(int),
		    const char *charset, char **);
int		 confparse_string(struct confparse *, const yaml_node_t *map,
		    const char *key, size_t max, int (*okchar)(int),
		    const char *charset, char **);
/* A path to a regular file readable now (CA bundles, certificates). */
int		 confparse_readable(struct confparse *, const yaml_node_t *map,
		    const char *key, char **);
/*
 * scheme://host[:port][/path] with one of schemes, trailing slashes cut;
 * loopback_http: plain http:// only to a loopback address (warned about),
 * an error elsewhere.
 */
int		 confparse_url(struct confparse *, const yaml_node_t *map,
		    const char *key, const char *const *schemes,
		    size_t nschemes, int loopback_http, char **);
/* HOST:PORT as written in *addr, and parsed. */
int		 confparse_hostport(struct confparse *, const yaml_node_t *map,
		    const char *key, char **addr, char **host, int *port);
/*
 * The secret base of the credentials mapping cred: one of <base>_file,
 * <base>_env or inline <base>, else the systemd credential
 * <srcname>.<base> or <base>; an error if none and required.
 */
void		 confparse_secret(struct confparse *, const yaml_node_t *cred,
		    const char *srcname, const char *base, int required,
		    struct secret *);

#endif
