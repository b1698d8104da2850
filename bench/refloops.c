/*
 * refloops.c: the reference loops mint is measured against, on all cores.
 *
 *   refloops hmac SECONDS THREADS          HMAC-SHA256 of a 6-byte message with
 *                                          one reused context per thread: the
 *                                          crypto limit of signing codes
 *   refloops qrpng SECONDS THREADS DIR URL QRcode_encodeString + a 1-bit PNG
 *                                          written with libpng, one file per
 *                                          iteration in DIR: the image limit
 *
 * Prints one number: operations per second over all threads.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <png.h>
#include <pthread.h>
#include <qrencode.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double seconds;
static const char *dir, *url;
static atomic_llong total;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *hmac_loop(void *arg)
{
	unsigned char key[32] = {1, 2, 3}, msg[6] = {1}, out[32];
	size_t len;
	long long n = 0;
	(void)arg;
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *c = EVP_MAC_CTX_new(mac);
	OSSL_PARAM p[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
	    OSSL_PARAM_construct_end()};
	if (!c || !EVP_MAC_init(c, key, sizeof key, p))
		abort();
	double end = now() + seconds;
	while (now() < end) {
		for (int i = 0; i < 4096; i++, n++) {
			memcpy(msg + 1, &n, 5);
			EVP_MAC_init(c, NULL, 0, NULL);
			EVP_MAC_update(c, msg, sizeof msg);
			EVP_MAC_final(c, out, &len, sizeof out);
		}
	}
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(mac);
	atomic_fetch_add(&total, n);
	return NULL;
}

/* The plainest correct PNG of a symbol: 1-bit gray, 8 px modules, 4-module quiet zone. */
static void write_png(const QRcode *q, const char *path)
{
	const int px = 8, quiet = 4, size = (q->width + 2 * quiet) * px;
	FILE *f = fopen(path, "wb");
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	unsigned char *row = malloc((size_t)(size + 7) / 8);
	if (!f || !png || !info || !row || setjmp(png_jmpbuf(png)))
		abort();
	png_init_io(png, f);
	png_set_IHDR(png, info, (png_uint_32)size, (png_uint_32)size, 1, PNG_COLOR_TYPE_GRAY,
	             PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (int y = 0; y < size; y++) {
		int my = y / px - quiet;
		memset(row, 0xff, (size_t)(size + 7) / 8);
		for (int x = 0; x < size; x++) {
			int mx = x / px - quiet;
			if (my >= 0 && my < q->width && mx >= 0 && mx < q->width &&
			    (q->data[my * q->width + mx] & 1))
				row[x / 8] &= (unsigned char)~(0x80 >> (x % 8));
		}
		png_write_row(png, row);
	}
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	fclose(f);
	free(row);
}

static void *qrpng_loop(void *arg)
{
	char path[4096];
	long long n = 0, id = (long long)(size_t)arg;
	double end = now() + seconds;
	while (now() < end) {
		QRcode *q = QRcode_encodeString(url, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
		if (!q)
			abort();
		snprintf(path, sizeof path, "%s/ref-%lld-%lld.png", dir, id, n);
		write_png(q, path);
		QRcode_free(q);
		n++;
	}
	atomic_fetch_add(&total, n);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[256];
	int threads;
	void *(*loop)(void *);

	if (argc < 4 || (strcmp(argv[1], "hmac") && strcmp(argv[1], "qrpng")) ||
	    (strcmp(argv[1], "qrpng") == 0 && argc != 6)) {
		fprintf(stderr, "usage: refloops hmac SECONDS THREADS\n"
		                "       refloops qrpng SECONDS THREADS DIR URL\n");
		return 2;
	}
	seconds = atof(argv[2]);
	threads = atoi(argv[3]);
	if (threads < 1 || threads > 256 || seconds <= 0)
		return 2;
	loop = strcmp(argv[1], "hmac") == 0 ? hmac_loop : qrpng_loop;
	if (loop == qrpng_loop) {
		dir = argv[4];
		url = argv[5];
	}
	double t0 = now();
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, loop, (void *)(size_t)i);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	printf("%.0f\n", (double)atomic_load(&total) / (now() - t0));
	return 0;
}
