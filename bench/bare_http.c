/*
 * bare_http.c: the reference for the server's forged-code lookups: a bare
 * libevent evhttp responder answering every request with the same 60-byte
 * JSON body, on N threads with SO_REUSEPORT like packcode-server. Prints
 * "port=PORT" once listening; runs until SIGTERM.
 */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* 60 bytes, as a forged-code verdict is about */
static const char body[] = "{\"code\":\"0ABCDEFGHJKMNPQRSTV\",\"verdict\":\"not_genuine\",\"x\":1}";

static void reply(struct evhttp_request *req, void *arg)
{
	(void)arg;
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	evbuffer_add(out, body, sizeof body - 1);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "application/json");
	evhttp_send_reply(req, 404, NULL, NULL);
}

static void *run(void *arg)
{
	event_base_dispatch(arg);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 1;
	struct sockaddr_in addr = {.sin_family = AF_INET};
	socklen_t len = sizeof addr;
	pthread_t tid[64];
	_Static_assert(sizeof body - 1 == 60, "the body is 60 bytes");
	if (threads < 1 || threads > 64)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < threads; i++) {
		int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
		if (bind(fd, (struct sockaddr *)&addr, len) < 0 || listen(fd, 1024) < 0) {
			perror("bare_http: listen");
			return 1;
		}
		getsockname(fd, (struct sockaddr *)&addr, &len);
		struct event_base *base = event_base_new();
		struct evhttp *http = evhttp_new(base);
		evhttp_set_gencb(http, reply, NULL);
		evhttp_accept_socket(http, fd);
		if (i == 0) {
			printf("port=%d\n", ntohs(addr.sin_port));
			fflush(stdout);
		}
		pthread_create(&tid[i], NULL, run, base);
	}
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	return 0;
}
