/*
 * frame.h: strict HTTP/1.1 framing, checked on the raw bytes of a request's
 * request line and headers before libevent parses them (conn.c feeds them
 * as they arrive). Pure, incremental, constant memory.
 *
 * libevent 2.1 is lenient where a proxy in front may not be: it takes
 * "Host : x" as a header named "Host ", a Content-Length of "+5" or "\v5"
 * as 5, a Transfer-Encoding other than "chunked" as none (and frames the
 * body by Content-Length), folds continuation lines, and reads
 * "HTTP/01.1", "HTTP/-1.1" or "HTTP/1.4294967297" as some version. When two
 * parsers disagree about where a request ends, a request can be smuggled
 * past the first inside the body of another: so all of these are refused.
 */
#ifndef PACKCODE_SERVER_FRAME_H
#define PACKCODE_SERVER_FRAME_H

#include <stddef.h>

enum frame_status {
	FRAME_MORE, /* the header block goes on: feed more */
	FRAME_DONE, /* the header block ended well: what follows is the body, or the next request */
	FRAME_BAD,  /* refuse the request: frame.problem says why */
};

enum frame_problem {
	FRAME_OK,
	FRAME_REQUEST_LINE,      /* not METHOD SP TARGET SP VERSION */
	FRAME_VERSION,           /* not HTTP/DIGIT.DIGIT */
	FRAME_HEADER_NAME,       /* empty, not a token, space before the colon, no colon */
	FRAME_FOLDED,            /* a continuation line (obsolete line folding) */
	FRAME_BARE_CR,           /* a CR not followed by LF */
	FRAME_CONTENT_LENGTH,    /* not plain digits */
	FRAME_TRANSFER_ENCODING, /* anything but "chunked" */
	FRAME_BOTH_LENGTHS,      /* Content-Length and Transfer-Encoding */
	FRAME_NO_HOST,           /* HTTP/1.1 without Host */
	FRAME_PROBLEM_COUNT
};

struct frame {
	enum frame_problem problem;
	unsigned char state, after_cr; /* where in the grammar; after_cr: a CR was the last byte */
	unsigned char header;          /* the header being read: Content-Length, Host, ... */
	unsigned char major, minor, vpos;
	unsigned short len;        /* bytes of the current element */
	unsigned char name[18];    /* the header name, lower case, cut */
	unsigned char value_state; /* of a framing header's value */
	unsigned seen_length : 1, seen_chunked : 1, seen_host : 1;
};

void frame_init(struct frame *f);

/*
 * Go on with the next n bytes of the connection. FRAME_DONE: the header block
 * ended, *used bytes of p belong to it (the rest is not looked at); FRAME_BAD:
 * refuse, at byte *used. Once DONE or BAD, frame_init before the next request.
 */
enum frame_status frame_feed(struct frame *f, const char *p, size_t n, size_t *used);

/* "version", "header_name", ...: for logs. */
const char *frame_problem_name(enum frame_problem p);

#endif
