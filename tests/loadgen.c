/*
 * loadgen.c: a small HTTP/1.1 load generator for the server's tests and
 * benchmarks: N keep-alive connections on one epoll loop, requests taken in
 * order from a file (each line used once unless --cycle), a bounded count or
 * duration, per-status counts and latency percentiles; optionally every
 * response (line index, status, body) for the tests to check. A request whose
 * connection broke is status 0: "connection error" once any of it was sent,
 * "not sent" otherwise; a connection refused (the server stopped listening)
 * is not opened again.
 *
 * Request file: one request a line, tab-separated: METHOD PATH [CONTENT-TYPE BODY
 * [HEADER...]] (header lines of that request: a member's session cookie).
 * --header (or $LOADGEN_HEADER) adds one header line to every request: the
 * test harness's claims token (tests/integration/server_lib.sh).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF 65536

struct req {
	char *wire; /* the whole request as sent */
	size_t len;
};

struct conn {
	int fd;
	int connected; /* the first EPOLLOUT came: writes may go straight out */
	int want_out;  /* EPOLLOUT armed: a request is partly sent */
	long idx;      /* request line in flight, -1 if none */
	size_t sent;
	char *rbuf;
	size_t rlen;
	long long start_ns;
};

static struct req *reqs;
static size_t nreqs;
static long next_req, total, done_count, errors, unsent;
static int cycle;
static long statuses[600];
static uint32_t *lat_us;
static size_t nlat, lat_cap;
static FILE *out;
static struct sockaddr_in addr;
static int epfd;
static const char *extra_header; /* "Name: value", or NULL */

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *msg)
{
	fprintf(stderr, "loadgen: %s: %s\n", msg, strerror(errno));
	exit(1);
}

static void load(const char *path, const char *host)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *line = NULL;
	size_t cap = 0, have = 0;
	ssize_t n;
	if (!f)
		die(path);
	while ((n = getline(&line, &cap, f)) > 0) {
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (!n)
			continue;
		char *method = line, *p = strchr(line, '\t'), *path_ = NULL, *ctype = NULL,
		     *body = NULL, *more = NULL;
		if (!p) {
			fprintf(stderr, "loadgen: bad request line: %s\n", line);
			exit(2);
		}
		*p++ = '\0';
		path_ = p;
		if ((p = strchr(p, '\t'))) {
			*p++ = '\0';
			ctype = p;
			if ((p = strchr(p, '\t'))) {
				*p++ = '\0';
				body = p;
				if ((p = strchr(
				         p,
				         '\t'))) { /* header lines of this request, tab-separated */
					*p++ = '\0';
					more = p;
					for (char *t = more; (t = strchr(t, '\t'));)
						*t = '\n'; /* made "\r\n" below */
				}
			}
		}
		if (nreqs == have) {
			have = have ? have * 2 : 1024;
			reqs = realloc(reqs, have * sizeof *reqs);
			if (!reqs)
				die("realloc");
		}
		size_t blen = body ? strlen(body) : 0;
		char hdrs[4096];
		size_t hl = 0;
		hdrs[0] = '\0';
		if (extra_header)
			hl += (size_t)snprintf(hdrs, sizeof hdrs, "%s\r\n", extra_header);
		for (char *h = more; h && *h && hl < sizeof hdrs;) {
			size_t k = strcspn(h, "\n");
			hl += (size_t)snprintf(hdrs + hl, sizeof hdrs - hl, "%.*s\r\n", (int)k, h);
			h += k + (h[k] == '\n');
		}
		if (hl >= sizeof hdrs) {
			fprintf(stderr, "loadgen: headers too long: %s\n", line);
			exit(2);
		}
		const char *xh = hdrs;
		size_t need = strlen(method) + strlen(path_) + strlen(host) + blen + 256 +
		              (ctype ? strlen(ctype) : 0) + strlen(xh);
		char *w = malloc(need);
		int len;
		if (!w)
			die("malloc");
		if (body)
			len = snprintf(
			    w, need,
			    "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: packcode-loadgen\r\n%s"
			    "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
			    method, path_, host, xh, ctype, blen, body);
		else
			len = snprintf(
			    w, need,
			    "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: packcode-loadgen\r\n%s\r\n",
			    method, path_, host, xh);
		reqs[nreqs].wire = w;
		reqs[nreqs].len = (size_t)len;
		nreqs++;
	}
	free(line);
	if (f != stdin)
		fclose(f);
}

static void record_latency(long long ns)
{
	if (nlat == lat_cap) {
		lat_cap = lat_cap ? lat_cap * 2 : 65536;
		lat_us = realloc(lat_us, lat_cap * sizeof *lat_us);
		if (!lat_us)
			die("realloc");
	}
	lat_us[nlat++] = (uint32_t)(ns / 1000);
}

static int conn_open(struct conn *c)
{
	int one = 1;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS)
		return -1;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
	epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
	c->rlen = 0;
	c->connected = 0;
	c->want_out = 1;
	return 0;
}

/* Send what is left of the request in flight; EPOLLOUT is armed only while
 * some is left, so a request normally costs no epoll_ctl. 0, or -1 if broken. */
static int send_some(struct conn *c)
{
	struct req *r = &reqs[c->idx % (long)nreqs];
	while (c->sent < r->len) {
		ssize_t n = send(c->fd, r->wire + c->sent, r->len - c->sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			return -1;
		c->sent += (size_t)n;
	}
	int want = c->sent < r->len;
	if (want != c->want_out) {
		struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
		epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
		c->want_out = want;
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

/* Take the next request and start sending it: 1, 0 if there is none left, -1 if broken. */
static int conn_next(struct conn *c)
{
	if (next_req >= total) {
		c->idx = -1;
		return 0;
	}
	if (!cycle && (size_t)next_req >= nreqs) {
		c->idx = -1;
		return 0;
	}
	c->idx = next_req++;
	c->sent = 0;
	c->start_ns = now_ns();
	if (c->connected && send_some(c) < 0)
		return -1;
	return 1;
}

static void finish(struct conn *c, int status, const char *body, size_t blen)
{
	if (status >= 0 && status < 600)
		statuses[status]++;
	else
		errors++;
	record_latency(now_ns() - c->start_ns);
	if (out) {
		fprintf(out, "%ld\t%d\t", c->idx % (long)nreqs, status);
		for (size_t i = 0; i < blen; i++)
			fputc(body[i] == '\n' || body[i] == '\t' ? ' ' : body[i], out);
		fputc('\n', out);
	}
	done_count++;
}

/* Parse a complete response in c->rbuf: bytes used, 0 if incomplete, -1 if bad. */
static long parse(struct conn *c, int *status, const char **body, size_t *blen, int *close_after)
{
	char *end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
	if (!end)
		return c->rlen > RBUF - 1 ? -1 : 0;
	size_t head = (size_t)(end - c->rbuf) + 4;
	if (c->rlen < 12 || strncmp(c->rbuf, "HTTP/1.", 7) != 0)
		return -1;
	*status = atoi(c->rbuf + 9);
	long clen = 0;
	*close_after = 0;
	for (char *p = c->rbuf; p < end;) {
		char *eol = memmem(p, (size_t)(end - p) + 2, "\r\n", 2);
		if (!eol)
			break;
		if (eol - p > 15 && strncasecmp(p, "Content-Length:", 15) == 0)
			clen = atol(p + 15);
		if (eol - p >= 17 && strncasecmp(p, "Connection: close", 17) == 0)
			*close_after = 1;
		p = eol + 2;
	}
	if (c->rlen < head + (size_t)clen)
		return 0;
	*body = c->rbuf + head;
	*blen = (size_t)clen;
	return (long)(head + (size_t)clen);
}

static void on_event(struct conn *c, uint32_t events)
{
	int refused = 0;
	if (!c->connected && (events & (EPOLLERR | EPOLLHUP))) {
		refused = 1; /* nobody listens: this connection stops */
		goto broken;
	}
	if (events & EPOLLOUT) {
		c->connected = 1;
		if (c->idx >= 0 ? send_some(c) < 0 : 0)
			goto broken;
		if (c->idx < 0 && c->want_out) {
			struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
			epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
			c->want_out = 0;
		}
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		for (;;) {
			ssize_t n = recv(c->fd, c->rbuf + c->rlen, RBUF - c->rlen, 0);
			if (n == 0)
				goto broken;
			if (n < 0) {
				if (errno == EAGAIN)
					break;
				goto broken;
			}
			c->rlen += (size_t)n;
			int status, close_after;
			const char *body;
			size_t blen;
			long used;
			while ((used = parse(c, &status, &body, &blen, &close_after)) > 0) {
				if (c->idx < 0)
					goto broken; /* a response nobody asked for */
				finish(c, status, body, blen);
				memmove(c->rbuf, c->rbuf + used, c->rlen - (size_t)used);
				c->rlen -= (size_t)used;
				if (close_after) {
					conn_close(c);
					if (conn_open(c) < 0)
						goto broken;
				}
				int next = conn_next(c);
				if (next < 0)
					goto broken;
				if (next == 0 || close_after)
					return;
			}
			if (used < 0)
				goto broken;
			if (c->rlen == RBUF)
				goto broken;
		}
	}
	return;
broken:
	if (c->idx >= 0) {
		/* a request not one byte of which went out (connection refused) is "not sent" */
		errors++;
		unsent += c->sent == 0;
		if (out)
			fprintf(out, "%ld\t0\t%s\n", c->idx % (long)nreqs,
			        c->sent ? "connection error" : "not sent");
		done_count++;
	}
	if (c->fd >= 0)
		conn_close(c);
	c->rlen = 0;
	if (!refused && next_req < total && (cycle || (size_t)next_req < nreqs)) {
		if (conn_open(c) < 0 || conn_next(c) < 0)
			c->idx = -1;
	} else {
		c->idx = -1;
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static double pct(double p)
{
	if (!nlat)
		return 0;
	size_t i = (size_t)(p / 100.0 * (double)(nlat - 1) + 0.5);
	return lat_us[i] / 1000.0;
}

static const char usage[] =
    "Usage: loadgen --port PORT [--host ADDR] [-c CONNECTIONS] [-n COUNT | -d SECONDS]\n"
    "               [--cycle] [--out FILE] [--header 'NAME: VALUE'] REQUESTS-FILE\n"
    "\n"
    "Send the requests of REQUESTS-FILE (one a line: METHOD<TAB>PATH[<TAB>CONTENT-TYPE\n"
    "<TAB>BODY[<TAB>HEADER...]]) over CONNECTIONS keep-alive connections, in order, each once (or\n"
    "round and round with --cycle), until COUNT requests or SECONDS have passed.\n"
    "Prints one line: requests, seconds, rate, statuses, latency percentiles.\n"
    "--out writes every response as LINE-INDEX<TAB>STATUS<TAB>BODY; a broken\n"
    "connection is STATUS 0 with BODY \"connection error\" (the request was sent)\n"
    "or \"not sent\". A connection the server refuses is not opened again.\n"
    "--header (default: $LOADGEN_HEADER) is added to every request.\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"host", required_argument, NULL, 'H'},
	    {"port", required_argument, NULL, 'p'},
	    {"connections", required_argument, NULL, 'c'},
	    {"count", required_argument, NULL, 'n'},
	    {"duration", required_argument, NULL, 'd'},
	    {"cycle", no_argument, NULL, 'C'},
	    {"out", required_argument, NULL, 'o'},
	    {"header", required_argument, NULL, 'X'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *host = "127.0.0.1";
	int port = 0, nconn = 64, ch;
	double duration = 0;
	total = -1;
	extra_header = getenv("LOADGEN_HEADER");
	if (extra_header && !*extra_header)
		extra_header = NULL;
	while ((ch = getopt_long(argc, argv, "c:n:d:p:o:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'H':
			host = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'c':
			nconn = atoi(optarg);
			break;
		case 'n':
			total = atol(optarg);
			break;
		case 'd':
			duration = atof(optarg);
			break;
		case 'C':
			cycle = 1;
			break;
		case 'o':
			out = fopen(optarg, "w");
			if (!out)
				die(optarg);
			break;
		case 'X':
			extra_header = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || port <= 0 || nconn < 1) {
		fputs(usage, stderr);
		return 2;
	}
	load(argv[optind], host);
	if (!nreqs) {
		fprintf(stderr, "loadgen: no requests\n");
		return 2;
	}
	if (total < 0)
		total = cycle ? (long)1 << 60 : (long)nreqs;
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
		fprintf(stderr, "loadgen: --host must be an IPv4 address\n");
		return 2;
	}
	epfd = epoll_create1(EPOLL_CLOEXEC);
	struct conn *conns = calloc((size_t)nconn, sizeof *conns);
	for (int i = 0; i < nconn; i++) {
		conns[i].rbuf = malloc(RBUF);
		conns[i].idx = -1;
		if (conn_open(&conns[i]) < 0 || conn_next(&conns[i]) < 0)
			die("connect");
	}
	long long start = now_ns(),
	          deadline = duration > 0 ? start + (long long)(duration * 1e9) : 0;
	struct epoll_event evs[256];
	for (;;) {
		int active = 0;
		for (int i = 0; i < nconn; i++)
			active += conns[i].idx >= 0;
		if (!active)
			break;
		if (deadline && now_ns() > deadline) {
			total = next_req; /* no new requests; let those in flight finish */
		}
		int n = epoll_wait(epfd, evs, 256, 100);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++)
			on_event(evs[i].data.ptr, evs[i].events);
		if (deadline && now_ns() > deadline + 30000000000LL)
			break; /* 30 s after the end: give up on what is still in flight */
	}
	double secs = (double)(now_ns() - start) / 1e9;
	qsort(lat_us, nlat, sizeof *lat_us, cmp_u32);
	printf("requests=%ld seconds=%.3f rate=%.1f", done_count, secs, (double)done_count / secs);
	for (int s = 0; s < 600; s++)
		if (statuses[s])
			printf(" status_%d=%ld", s, statuses[s]);
	printf(" errors=%ld unsent=%ld p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", errors,
	       unsent, pct(50), pct(90), pct(99), nlat ? lat_us[nlat - 1] / 1000.0 : 0.0);
	if (out)
		fclose(out);
	for (int i = 0; i < nconn; i++) {
		if (conns[i].fd >= 0)
			close(conns[i].fd);
		free(conns[i].rbuf);
	}
	free(conns);
	for (size_t i = 0; i < nreqs; i++)
		free(reqs[i].wire);
	free(reqs);
	free(lat_us);
	close(epfd);
	return errors ? 1 : 0;
}
