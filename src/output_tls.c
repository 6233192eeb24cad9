/*
 * output_tls.c: TLS for tcp outputs (RFC 5425). OpenSSL writes records
 * into a memory BIO and output.c writes the socket itself, so that the
 * byte offsets of messages count TLS record bytes (the acknowledgement by
 * SIOCOUTQ needs them); it reads from the socket directly. Context set-up
 * (versions, verification, client certificate), handshake, SNI and host
 * checks, and the session's close.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "log.h"
#include "output.h"
#include "output_int.h"
#include "util.h"

_Static_assert(CONFIG_TLS1_2 == TLS1_2_VERSION &&
    CONFIG_TLS1_3 == TLS1_3_VERSION, "tls.min_version is OpenSSL's");

void
tls_errors(char *out, size_t len)
{
	unsigned long	 e;
	size_t		 used = 0;
	char		 one[256];

	out[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, one, sizeof(one));
		if (used + strlen(one) + 3 >= len)
			continue;
		used += (size_t)snprintf(out + used, len - used, "%s%s",
		    used ? "; " : "", one);
	}
	if (out[0] == '\0')
		snprintf(out, len, "unknown TLS error");
}

/* Move TLS records produced by OpenSSL to the wire buffer. */
void
tls_drain(struct output *o)
{
	char	*p;
	long	 n;

	if (o->wbio == NULL)
		return;
	n = BIO_get_mem_data(o->wbio, &p);
	if (n > 0) {
		buf_add(&o->wire, p, (size_t)n);
		o->wire_total += (uint64_t)n;
		(void)BIO_reset(o->wbio);
	}
}

static void
tls_verify_failure(struct output *o, char *out, size_t len)
{
	long	 vr;
	char	 e[512];

	vr = SSL_get_verify_result(o->ssl);
	tls_errors(e, sizeof(e));
	if (vr != X509_V_OK)
		snprintf(out, len, "TLS handshake: certificate of %s not "
		    "accepted: %s (%s)", o->server_name,
		    X509_verify_cert_error_string(vr), e);
	else
		snprintf(out, len, "TLS handshake: %s", e);
}

void
tls_handshake(struct output *o)
{
	int	 r, err, serr;
	char	 why[1024];

	ERR_clear_error();
	errno = 0;
	r = SSL_connect(o->ssl);
	serr = errno;
	tls_drain(o);
	if (output_flush_wire(o) == -1) {
		conn_attempt_failed(o, "TLS handshake: write: %s",
		    strerror(errno));
		return;
	}
	if (r == 1) {
		o->tls13 = SSL_version(o->ssl) >= TLS1_3_VERSION;
		o->confirmed = !o->tls13;
		o->read_at_handshake = BIO_number_read(SSL_get_rbio(o->ssl));
		o->handshake_ms = time_mono_ms();
		if (!o->cfg->tls.verify)
			log_warnx("output \"%s\": TLS certificate of %s NOT "
			    "verified (tls.verify is false): the connection "
			    "is open to interception", o->name, o->peer);
		conn_ready(o);
		return;
	}
	err = SSL_get_error(o->ssl, r);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
		return;
	if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
		snprintf(why, sizeof(why), "TLS handshake: %s",
		    serr ? strerror(serr) : "connection closed by the peer");
	else
		tls_verify_failure(o, why, sizeof(why));
	conn_attempt_failed(o, "%s", why);
}

void
tls_start(struct output *o)
{
	BIO			*rbio;
	X509_VERIFY_PARAM	*vp;
	char			 e[512];

	ERR_clear_error();
	if ((o->ssl = SSL_new(o->ctx)) == NULL)
		goto fail;
	rbio = BIO_new_socket(o->fd, BIO_NOCLOSE);
	o->wbio = BIO_new(BIO_s_mem());
	if (rbio == NULL || o->wbio == NULL) {
		BIO_free(rbio);
		BIO_free(o->wbio);
		o->wbio = NULL;
		goto fail;
	}
	SSL_set_bio(o->ssl, rbio, o->wbio);
	if (conn_is_ip_literal(o->server_name)) {
		/* RFC 6066 3: no IP literal in SNI */
		vp = SSL_get0_param(o->ssl);
		if (o->cfg->tls.verify &&
		    X509_VERIFY_PARAM_set1_ip_asc(vp, o->server_name) != 1)
			goto fail;
	} else {
		if (SSL_set_tlsext_host_name(o->ssl, o->server_name) != 1)
			goto fail;
		SSL_set_hostflags(o->ssl,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (o->cfg->tls.verify &&
		    SSL_set1_host(o->ssl, o->server_name) != 1)
			goto fail;
	}
	o->state = OS_HANDSHAKE;
	tls_handshake(o);
	return;
fail:
	tls_errors(e, sizeof(e));
	conn_attempt_failed(o, "TLS setup: %s", e);
}

/* CA bundles, certificates and keys: a few MB at most. */
#define TLS_FILE_MAX	(16 * 1024 * 1024)

/*
 * A PEM file in a memory BIO, read as every file is (file_read_regular():
 * never blocking, a regular file only: OpenSSL's *_file() functions would
 * block in open() on a FIFO). *data is wiped and freed by the caller
 * (file_data_free()): a key file holds a secret. NULL with *why.
 */
static BIO *
tls_read_pem(const char *path, char **data, size_t *len, const char **why)
{
	BIO	*bio;

	if (file_read_regular(path, TLS_FILE_MAX, NULL, data, len, why) == -1)
		return NULL;
	if ((bio = BIO_new_mem_buf(*data, (int)*len)) == NULL)
		*why = "out of memory";
	return bio;
}

/* Every certificate (and CRL) of the CA file into the context's store. */
static int
tls_load_ca(SSL_CTX *ctx, const char *path, const char **why)
{
	STACK_OF(X509_INFO)	*infos = NULL;
	X509_INFO		*xi;
	X509_STORE		*store = SSL_CTX_get_cert_store(ctx);
	BIO			*bio;
	char			*data = NULL;
	size_t			 len = 0;
	int			 i, n = 0, rv = -1;

	if ((bio = tls_read_pem(path, &data, &len, why)) == NULL)
		goto done;
	*why = NULL;
	if ((infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL)) == NULL)
		goto done;
	for (i = 0; i < sk_X509_INFO_num(infos); i++) {
		xi = sk_X509_INFO_value(infos, i);
		if (xi->x509 != NULL) {
			if (X509_STORE_add_cert(store, xi->x509) != 1)
				goto done;
			n++;
		}
		if (xi->crl != NULL && X509_STORE_add_crl(store, xi->crl) != 1)
			goto done;
	}
	if (n == 0) {
		*why = "no certificate found";
		goto done;
	}
	ERR_clear_error();
	rv = 0;
done:
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	BIO_free(bio);
	file_data_free(data, len);
	return rv;
}

/* The client certificate chain and its key (key NULL: in cert). */
static int
tls_load_cert(SSL_CTX *ctx, const char *cert, const char *key,
    const char **why)
{
	BIO		*bio = NULL;
	X509		*x = NULL;
	EVP_PKEY	*pk = NULL;
	char		*data = NULL;
	size_t		 len = 0;
	int		 rv = -1;

	if ((bio = tls_read_pem(cert, &data, &len, why)) == NULL)
		goto done;
	*why = NULL;
	if ((x = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL)) == NULL ||
	    SSL_CTX_use_certificate(ctx, x) != 1)
		goto done;
	SSL_CTX_clear_chain_certs(ctx);
	X509_free(x);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1)
			goto done;
		x = NULL;
	}
	/* the end of the file: not an error */
	ERR_clear_error();
	if (key != NULL) {
		BIO_free(bio);
		file_data_free(data, len);
		data = NULL;
		len = 0;
		if ((bio = tls_read_pem(key, &data, &len, why)) == NULL)
			goto done;
		*why = NULL;
	} else
		(void)BIO_reset(bio);
	if ((pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL ||
	    SSL_CTX_use_PrivateKey(ctx, pk) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto done;
	rv = 0;
done:
	X509_free(x);
	EVP_PKEY_free(pk);
	BIO_free(bio);
	file_data_free(data, len);
	return rv;
}

int
tls_setup(struct output *o)
{
	const struct output_tls	*t = &o->cfg->tls;
	const char		*why = NULL;
	char			 e[512];
	int			 minv;

	ERR_clear_error();
	if ((o->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		goto fail;
	minv = t->min_version ? t->min_version : TLS1_2_VERSION;
	if (SSL_CTX_set_min_proto_version(o->ctx, minv) != 1)
		goto fail;
	/* no 0-RTT (RFC 9662): early data is never written */
	SSL_CTX_set_max_early_data(o->ctx, 0);
	SSL_CTX_set_mode(o->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (t->verify) {
		SSL_CTX_set_verify(o->ctx, SSL_VERIFY_PEER, NULL);
		if (t->ca_file != NULL) {
			if (tls_load_ca(o->ctx, t->ca_file, &why) == -1) {
				if (why == NULL)
					tls_errors(e, sizeof(e));
				log_warnx("output \"%s\": tls.ca_file %s: %s",
				    o->name, t->ca_file, why != NULL ? why : e);
				return -1;
			}
		} else if (SSL_CTX_set_default_verify_paths(o->ctx) != 1)
			goto fail;
	} else {
		SSL_CTX_set_verify(o->ctx, SSL_VERIFY_NONE, NULL);
		log_warnx("output \"%s\": tls.verify is false: the server "
		    "certificate is not checked", o->name);
	}
	if (t->cert_file != NULL) {
		if (tls_load_cert(o->ctx, t->cert_file, t->key_file,
		    &why) == -1) {
			if (why == NULL)
				tls_errors(e, sizeof(e));
			log_warnx("output \"%s\": client certificate %s: %s",
			    o->name, t->cert_file, why != NULL ? why : e);
			return -1;
		}
	}
	return 0;
fail:
	tls_errors(e, sizeof(e));
	log_warnx("output \"%s\": TLS setup: %s", o->name, e);
	return -1;
}

/* Queue one message's bytes as TLS records; -1: the connection is lost. */
int
tls_write(struct output *o, const char *data, size_t len)
{
	char	 e[512];

	ERR_clear_error();
	if (SSL_write(o->ssl, data, (int)len) <= 0) {
		tls_errors(e, sizeof(e));
		conn_lost(o, "TLS write: %s", e);
		return -1;
	}
	tls_drain(o);
	return 0;
}

/*
 * Read what the peer sent: records such as session tickets, alerts,
 * close_notify, and the data a RELP server answers (to the transport's
 * input hook; syslog receivers do not talk). Returns 0, or -1 when the
 * connection was lost (reported).
 */
int
tls_read(struct output *o)
{
	char	 tmp[4096];
	char	 e[512];
	int	 r, err;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_read(o->ssl, tmp, sizeof(tmp));
		if (r > 0) {
			if (o->tp->input != NULL &&
			    o->tp->input(o, tmp, (size_t)r) == -1)
				return -1;
			continue;
		}
		err = SSL_get_error(o->ssl, r);
		tls_drain(o);
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
			break;
		if (err == SSL_ERROR_ZERO_RETURN)
			conn_lost(o, "closed by the peer (close_notify)");
		else if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
			conn_lost(o, "%s", errno ? strerror(errno) :
			    "closed by the peer");
		else {
			tls_errors(e, sizeof(e));
			conn_lost(o, "TLS: %s", e);
		}
		return -1;
	}
	/* a post-handshake record (session ticket): the server accepted us */
	if (!o->confirmed &&
	    BIO_number_read(SSL_get_rbio(o->ssl)) > o->read_at_handshake)
		o->confirmed = 1;
	return 0;
}

/*
 * A write failed: a TLS peer usually said why in an alert before the
 * reset (TLS 1.3 client certificate rejected). Returns 1 with the alert's
 * text in e when it is there.
 */
int
tls_alert(struct output *o, char *e, size_t len)
{
	char	 tmp[512];

	ERR_clear_error();
	if (SSL_read(o->ssl, tmp, sizeof(tmp)) <= 0 &&
	    ERR_peek_error() != 0) {
		tls_errors(e, len);
		return 1;
	}
	return 0;
}

/* End the TLS session (graceful: close_notify, best effort). */
void
tls_close(struct output *o, int graceful)
{
	char	 tmp[4096];
	int	 n;

	if (o->ssl == NULL)
		return;
	if (graceful) {
		/* RFC 5425 4.4: close_notify, best effort */
		ERR_clear_error();
		(void)SSL_shutdown(o->ssl);
		while ((n = BIO_read(o->wbio, tmp, sizeof(tmp))) > 0)
			(void)send(o->fd, tmp, (size_t)n, MSG_NOSIGNAL);
	}
	SSL_free(o->ssl);
	o->ssl = NULL;
	o->wbio = NULL;
}

void
tls_free(struct output *o)
{
	SSL_CTX_free(o->ctx);
	o->ctx = NULL;
}

const char *
tls_version(const struct output *o)
{
	return SSL_get_version(o->ssl);
}

const char *
tls_cipher(const struct output *o)
{
	return SSL_get_cipher_name(o->ssl);
}
