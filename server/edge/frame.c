/*
 * frame.c: the strict framing check (frame.h), a byte-at-a-time state
 * machine over RFC 9112's request line and header fields:
 *
 *   request-line = method SP request-target SP HTTP-version CRLF
 *   HTTP-version = "HTTP/" DIGIT "." DIGIT
 *   field-line   = field-name ":" OWS field-value OWS CRLF   (name: 1*tchar)
 *
 * A bare LF ends a line too (as libevent reads it); a CR must be followed
 * by LF. Content-Length is 1*DIGIT and Transfer-Encoding "chunked" (case
 * does not matter), each between optional spaces and tabs (OWS); other
 * values are libevent's to judge.
 */
#include "edge/frame.h"

#include <string.h>

enum state { ST_METHOD, ST_TARGET, ST_VERSION, ST_LINE, ST_NAME, ST_VALUE };
enum header { H_OTHER, H_LENGTH, H_CHUNKED, H_HOST };

static const char chunked[] = "chunked";

static const char *const problem_names[FRAME_PROBLEM_COUNT] = {
    [FRAME_OK] = "ok",
    [FRAME_REQUEST_LINE] = "request_line",
    [FRAME_VERSION] = "version",
    [FRAME_HEADER_NAME] = "header_name",
    [FRAME_FOLDED] = "folded_header",
    [FRAME_BARE_CR] = "bare_cr",
    [FRAME_CONTENT_LENGTH] = "content_length",
    [FRAME_TRANSFER_ENCODING] = "transfer_encoding",
    [FRAME_BOTH_LENGTHS] = "content_length_and_transfer_encoding",
    [FRAME_NO_HOST] = "no_host",
};

const char *frame_problem_name(enum frame_problem p)
{
	return p < FRAME_PROBLEM_COUNT ? problem_names[p] : "unknown";
}

void frame_init(struct frame *f)
{
	memset(f, 0, sizeof *f);
	f->state = ST_METHOD;
}

/* RFC 9110 tchar: what a method and a header name are made of. */
static int tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static enum header classify(const struct frame *f)
{
	if (f->len == 14 && memcmp(f->name, "content-length", 14) == 0)
		return H_LENGTH;
	if (f->len == 17 && memcmp(f->name, "transfer-encoding", 17) == 0)
		return H_CHUNKED;
	if (f->len == 4 && memcmp(f->name, "host", 4) == 0)
		return H_HOST;
	return H_OTHER;
}

/*
 * One byte of a framing header's value. Content-Length: 0 leading OWS, 1
 * digits, 2 trailing OWS. Transfer-Encoding: 0 leading OWS, 1 to 7 that many
 * letters of "chunked", 8 trailing OWS. 0, or -1.
 */
static int value_byte(struct frame *f, unsigned char c)
{
	unsigned char *s = &f->value_state;
	if (f->header == H_LENGTH) {
		if (ows(c)) {
			if (*s == 1)
				*s = 2;
			return 0;
		}
		if (c < '0' || c > '9' || *s == 2)
			return -1;
		*s = 1;
		return 0;
	}
	if (ows(c)) {
		if (*s == 0 || *s == 8)
			return 0;
		if (*s == 7) {
			*s = 8;
			return 0;
		}
		return -1;
	}
	if (*s >= 7 || lower(c) != (unsigned char)chunked[*s])
		return -1;
	(*s)++;
	return 0;
}

static enum frame_status bad(struct frame *f, enum frame_problem p)
{
	f->problem = p;
	return FRAME_BAD;
}

/* A line ended (its CR, if any, already checked). */
static enum frame_status line_end(struct frame *f)
{
	switch (f->state) {
	case ST_VERSION:
		if (f->vpos != 8)
			return bad(f, FRAME_VERSION);
		f->state = ST_LINE;
		return FRAME_MORE;
	case ST_VALUE:
		if (f->header == H_LENGTH && f->value_state == 0)
			return bad(f, FRAME_CONTENT_LENGTH);
		if (f->header == H_CHUNKED && f->value_state < 7)
			return bad(f, FRAME_TRANSFER_ENCODING);
		f->state = ST_LINE;
		return FRAME_MORE;
	case ST_LINE:
		/* the empty line: the header block is whole */
		if (f->seen_length && f->seen_chunked)
			return bad(f, FRAME_BOTH_LENGTHS);
		if (f->major == 1 && f->minor >= 1 && !f->seen_host)
			return bad(f, FRAME_NO_HOST);
		return FRAME_DONE;
	case ST_METHOD:
	case ST_TARGET:
		return bad(f, FRAME_REQUEST_LINE);
	default:
		return bad(f, FRAME_HEADER_NAME); /* a name without a colon */
	}
}

static enum frame_status step(struct frame *f, unsigned char c)
{
	if (f->after_cr) {
		f->after_cr = 0;
		return c == '\n' ? line_end(f) : bad(f, FRAME_BARE_CR);
	}
	if (c == '\r' || c == '\n') {
		if (f->state != ST_VERSION && f->state != ST_VALUE && f->state != ST_LINE)
			return line_end(f); /* a line that may not end here: refused there */
		if (c == '\r') {
			f->after_cr = 1;
			return FRAME_MORE;
		}
		return line_end(f);
	}
	switch (f->state) {
	case ST_METHOD:
		if (c == ' ' && f->len) {
			f->state = ST_TARGET;
			f->len = 0;
			return FRAME_MORE;
		}
		if (!tchar(c))
			return bad(f, FRAME_REQUEST_LINE);
		break;
	case ST_TARGET:
		if (c == ' ' && f->len) {
			f->state = ST_VERSION;
			return FRAME_MORE;
		}
		if (c <= ' ' || c == 0x7f)
			return bad(f, FRAME_REQUEST_LINE);
		break;
	case ST_VERSION:
		if (f->vpos < 5) {
			if (c != (unsigned char)"HTTP/"[f->vpos])
				return bad(f, FRAME_VERSION);
		} else if (f->vpos == 5 || f->vpos == 7) {
			if (c < '0' || c > '9')
				return bad(f, FRAME_VERSION);
			if (f->vpos == 5)
				f->major = (unsigned char)(c - '0');
			else
				f->minor = (unsigned char)(c - '0');
		} else if (f->vpos != 6 || c != '.') {
			return bad(f, FRAME_VERSION); /* also anything after the minor digit */
		}
		f->vpos++;
		return FRAME_MORE;
	case ST_LINE:
		if (ows(c))
			return bad(f, FRAME_FOLDED);
		if (!tchar(c))
			return bad(f, FRAME_HEADER_NAME);
		f->state = ST_NAME;
		f->name[0] = lower(c);
		f->len = 1;
		return FRAME_MORE;
	case ST_NAME:
		if (c == ':' && f->len) {
			f->header = (unsigned char)classify(f);
			f->seen_length |= f->header == H_LENGTH;
			f->seen_chunked |= f->header == H_CHUNKED;
			f->seen_host |= f->header == H_HOST;
			f->value_state = 0;
			f->state = ST_VALUE;
			return FRAME_MORE;
		}
		if (!tchar(c))
			return bad(f, FRAME_HEADER_NAME);
		if (f->len < sizeof f->name)
			f->name[f->len] = lower(c);
		break;
	case ST_VALUE:
		if (f->header == H_LENGTH && value_byte(f, c) < 0)
			return bad(f, FRAME_CONTENT_LENGTH);
		if (f->header == H_CHUNKED && value_byte(f, c) < 0)
			return bad(f, FRAME_TRANSFER_ENCODING);
		return FRAME_MORE;
	}
	if (f->len < 0xffff)
		f->len++;
	return FRAME_MORE;
}

enum frame_status frame_feed(struct frame *f, const char *p, size_t n, size_t *used)
{
	for (size_t i = 0; i < n; i++) {
		enum frame_status s = step(f, (unsigned char)p[i]);
		if (s != FRAME_MORE) {
			*used = i + 1;
			return s;
		}
	}
	*used = n;
	return FRAME_MORE;
}
