/*
 * bench_qr.c: QR PNGs per second on one core, ours against a bare loop.
 *
 * The bare loop is what anyone would write: QRcode_encodeString, then libpng
 * with its defaults, one new file per image as mint does. Ours is qr_encode +
 * qr_write_png. A third loop, bare code with our zlib settings, writes the
 * same bytes as ours and so measures our wrapper alone. The loops take turns
 * in short slices so that other load on the machine falls on all of them;
 * rates are per CPU-second of this thread. Goal: ours >= 0.9 x bare.
 */
#include <dirent.h>
#include <errno.h>
#include <png.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qr.h"
#include "url.h"

#define GOAL               0.9
#define ROUNDS             8
#define SLICE_CPU_SECONDS  0.15
#define WALL_LIMIT_SECONDS 20.0
#define HOST               "qr.packcode-demo.com" /* 20 characters */

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define BENCH_SANITIZED 1
#endif

enum variant { BARE, BARE_TUNED, OURS, NVARIANTS };
static const char *variant_name[NVARIANTS] = {
    "bare loop (libqrencode + libpng defaults)",
    "bare loop with our zlib settings",
    "qr_encode + qr_write_png",
};

static char dir[256];
static const struct qr_style *style = &qr_style_default;

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The n-th mint URL: a 20-character code that changes with n, as a print run's do. */
static void mint_url(unsigned long n, char *url, size_t len)
{
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	char code[21];
	unsigned long long x = (n + 1) * 0x9E3779B97F4A7C15ULL;
	for (int i = 0; i < 20; i++) {
		code[i] = alphabet[x & 31];
		x = (x >> 5) | (x << 59);
		x ^= n * 0xD1B54A32D192ED03ULL;
	}
	code[20] = '\0';
	if (url_short(url, len, HOST, code) < 0) {
		fprintf(stderr, "bench_qr: cannot make a URL\n");
		exit(1);
	}
}

/* ---- the bare loop --------------------------------------------------------- */

static int bare_png(const QRcode *q, const char *path, int tuned)
{
	const unsigned px = style->module_px, quiet = style->quiet;
	const unsigned side = ((unsigned)q->width + 2 * quiet) * px;
	const size_t rowbytes = (side + 7) / 8;
	unsigned char row[1024], white[1024];
	png_structp png;
	png_infop info;
	FILE *f;
	if (rowbytes > sizeof row)
		return -1;
	f = fopen(path, "wb");
	if (!f)
		return -1;
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	info = png_create_info_struct(png);
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		fclose(f);
		return -1;
	}
	png_init_io(png, f);
	if (tuned) { /* as lib/qr.c does; the bench checks the bytes agree */
		png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
		png_set_compression_level(png, 6);
		png_set_compression_mem_level(png, 2);
		png_set_compression_window_bits(png, 9);
	}
	png_set_IHDR(png, info, side, side, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
	             PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_uint_32 ppm = (png_uint_32)(px * 1000.0 / style->module_mm + 0.5);
	png_set_pHYs(png, info, ppm, ppm, PNG_RESOLUTION_METER);
	png_write_info(png, info);
	memset(white, 0xff, rowbytes);
	for (unsigned i = 0; i < quiet * px; i++)
		png_write_row(png, white);
	for (int y = 0; y < q->width; y++) {
		memset(row, 0xff, rowbytes);
		for (int x = 0; x < q->width; x++)
			if (q->data[y * q->width + x] & 1)
				for (unsigned b = (quiet + (unsigned)x) * px;
				     b < (quiet + (unsigned)x + 1) * px; b++)
					row[b >> 3] &= (unsigned char)~(0x80u >> (b & 7));
		for (unsigned i = 0; i < px; i++)
			png_write_row(png, row);
	}
	for (unsigned i = 0; i < quiet * px; i++)
		png_write_row(png, white);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	return fclose(f) == 0 ? 0 : -1;
}

/* ---- one image, either way ----------------------------------------------------- */

static int one(enum variant v, const char *url, const char *path)
{
	char err[256];
	QRcode *q;
	int rc;
	if (v == OURS) {
		q = qr_encode(url, style->ecc);
		rc = q ? qr_write_png(q, style, path, err, sizeof err) : -1;
		if (rc < 0)
			fprintf(stderr, "bench_qr: %s\n", q ? err : strerror(errno));
	} else {
		q = QRcode_encodeString(url, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
		rc = q ? bare_png(q, path, v == BARE_TUNED) : -1;
		if (rc < 0)
			fprintf(stderr, "bench_qr: bare loop failed on %s\n", path);
	}
	QRcode_free(q);
	return rc;
}

static void empty_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char p[512];
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
}

static size_t slurp(const char *path, unsigned char *buf, size_t len)
{
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(buf, 1, len, f) : 0;
	if (f)
		fclose(f);
	return n;
}

static int gray_pixels(const char *path, unsigned char **pix, size_t *n)
{
	png_image img;
	memset(&img, 0, sizeof img);
	img.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_file(&img, path))
		return -1;
	img.format = PNG_FORMAT_GRAY;
	*n = PNG_IMAGE_SIZE(img);
	*pix = malloc(*n);
	if (!*pix || !png_image_finish_read(&img, NULL, *pix, 0, NULL))
		return -1;
	return 0;
}

/* Ours and the tuned bare loop write the same bytes; the default one the same pixels. */
static int same_output(const char *url, size_t sizes[NVARIANTS])
{
	static unsigned char a[65536], b[65536];
	char path[NVARIANTS][512];
	unsigned char *pa = NULL, *pb = NULL;
	size_t na, nb;
	int ok;
	for (int v = 0; v < NVARIANTS; v++) {
		snprintf(path[v], sizeof path[v], "%s/check-%d.png", dir, v);
		if (one((enum variant)v, url, path[v]) < 0)
			return -1;
	}
	sizes[BARE] = slurp(path[BARE], a, sizeof a);
	sizes[OURS] = slurp(path[OURS], a, sizeof a);
	sizes[BARE_TUNED] = slurp(path[BARE_TUNED], b, sizeof b);
	ok = sizes[OURS] == sizes[BARE_TUNED] && memcmp(a, b, sizes[OURS]) == 0;
	if (!ok)
		fprintf(stderr, "bench_qr: qr_write_png and the tuned bare loop differ: "
		                "update bare_png to lib/qr.c's settings\n");
	if (ok && (gray_pixels(path[BARE], &pa, &na) < 0 || gray_pixels(path[OURS], &pb, &nb) < 0 ||
	           na != nb || memcmp(pa, pb, na) != 0)) {
		fprintf(stderr, "bench_qr: qr_write_png draws other pixels than the bare loop\n");
		ok = 0;
	}
	free(pa);
	free(pb);
	empty_dir();
	return ok ? 0 : -1;
}

int main(void)
{
	const char *t = getenv("TMPDIR");
	unsigned long count[NVARIANTS] = {0}, seq = 1;
	double cpu[NVARIANTS] = {0}, wall[NVARIANTS] = {0}, rate[NVARIANTS], wall0;
	size_t sizes[NVARIANTS];
	char url[URL_MAX];
	int rc = 1, rounds = 0;
	QRcode *q;

	snprintf(dir, sizeof dir, "%s/bench-qr-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(dir)) {
		fprintf(stderr, "bench_qr: mkdtemp %s: %s\n", dir, strerror(errno));
		return 1;
	}
	mint_url(0, url, sizeof url);
	q = qr_encode(url, style->ecc);
	printf("bench_qr: %s (%zu characters): version %d, ECC %s, %u px per module, quiet %u, "
	       "%u px square\n",
	       url, strlen(url), q ? q->version : 0, qr_ecc_name(style->ecc), style->module_px,
	       style->quiet,
	       q ? (unsigned)(q->width + 2 * (int)style->quiet) * style->module_px : 0);
	QRcode_free(q);
#ifdef BENCH_SANITIZED
	printf("bench_qr: built with sanitizers: these numbers do not represent a release build\n");
#endif
	if (same_output(url, sizes) < 0)
		goto out;

	wall0 = clock_s(CLOCK_MONOTONIC);
	for (rounds = 0; rounds < ROUNDS; rounds++) {
		for (int v = 0; v < NVARIANTS; v++) {
			double c0 = clock_s(CLOCK_THREAD_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
			double c1 = c0;
			unsigned long n = 0;
			while (c1 - c0 < SLICE_CPU_SECONDS) {
				char path[512];
				mint_url(seq, url, sizeof url);
				snprintf(path, sizeof path, "%s/%d-%lu.png", dir, v, seq++);
				if (one((enum variant)v, url, path) < 0)
					goto out;
				if (++n % 8 == 0)
					c1 = clock_s(CLOCK_THREAD_CPUTIME_ID);
			}
			cpu[v] += c1 - c0;
			wall[v] += clock_s(CLOCK_MONOTONIC) - w0;
			count[v] += n;
			empty_dir(); /* untimed */
		}
		if (clock_s(CLOCK_MONOTONIC) - wall0 > WALL_LIMIT_SECONDS)
			break;
	}

	for (int v = 0; v < NVARIANTS; v++) {
		rate[v] = (double)count[v] / cpu[v];
		printf("  %-42s %7.0f images/s per core (%6.1f us each, %.0f/s by the wall clock), "
		       "%zu-byte PNG\n",
		       variant_name[v], rate[v], 1e6 / rate[v], (double)count[v] / wall[v],
		       sizes[v]);
	}
	double ratio = rate[OURS] / rate[BARE];
	printf("  ratio ours / bare loop: %.2f (goal >= %.2f): %s\n", ratio, GOAL,
	       ratio >= GOAL ? "met" : "NOT MET");
	printf("  ratio ours / bare loop with our zlib settings (the wrapper's own cost): %.2f\n",
	       rate[OURS] / rate[BARE_TUNED]);
	rc = ratio >= GOAL ? 0 : 1;
out:
	empty_dir();
	rmdir(dir);
	return rc;
}
