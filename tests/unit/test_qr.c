/*
 * test_qr.c: QR symbols drawn as PNG and SVG, read back by a real decoder.
 *
 * PNGs are decoded with `zbarimg`, SVGs rasterised with `rsvg-convert` first;
 * the text must come back exactly. Since error correction hides a few wrong
 * modules from a decoder, the pixels are also compared module by module.
 * Without zbarimg or rsvg-convert these tests fail: CI installs zbar-tools
 * and librsvg2-bin.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <png.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qr.h"
#include "url.h"

#define TOOL_SECONDS 30 /* a decoder that takes longer is killed */

static char tmpdir[256];

static const char *short_url = "HTTPS://QR.PACKCODE-DEMO.COM/C/7K3F9ABCDEFGHJKMNPQ4";
static const char *dl_url = "https://qr.packcode-demo.com/01/04006381333931/10/B2026%2F07"
                            "/21/7K3F9ABCDEFGHJKMNPQ4?17=271130";

/* ---- helpers ------------------------------------------------------------- */

static int setup(void **state)
{
	const char *t = getenv("TMPDIR");
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "%s/packcode-test-qr-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir)) {
		fprintf(stderr, "mkdtemp %s: %s\n", tmpdir, strerror(errno));
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	(void)state;
	while (d && (e = readdir(d))) {
		char p[512];
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
	return 0;
}

static void tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static int in_path(const char *tool)
{
	const char *path = getenv("PATH");
	char dir[4096], file[4200];
	while (path && *path) {
		size_t n = strcspn(path, ":");
		if (n > 0 && n < sizeof dir) {
			memcpy(dir, path, n);
			dir[n] = '\0';
			snprintf(file, sizeof file, "%s/%s", dir, tool);
			if (access(file, X_OK) == 0)
				return 1;
		}
		path += n + (path[n] == ':');
	}
	return 0;
}

static void require_tool(const char *tool, const char *package)
{
	if (!in_path(tool))
		fail_msg("%s not found in PATH: install the Debian package %s "
		         "(these tests need a real decoder and will not pass without it)",
		         tool, package);
}

/*
 * Run argv with stdout captured into out (NUL-terminated, one trailing
 * newline removed); killed after TOOL_SECONDS. Returns the exit status, or -1.
 */
static int run(char *const argv[], char *out, size_t outlen)
{
	int fd[2], status;
	size_t n = 0;
	pid_t pid;
	if (pipe(fd) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		alarm(TOOL_SECONDS); /* survives exec: a hung tool dies of SIGALRM */
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fd[1]);
	for (;;) {
		ssize_t r = read(fd[0], out + n, outlen - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == outlen - 1)
			break;
	}
	close(fd[0]);
	out[n] = '\0';
	if (n > 0 && out[n - 1] == '\n')
		out[n - 1] = '\0';
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* zbarimg 0.23.90+ talks to D-Bus unless told not to; older ones lack the flag. */
static int zbar_has_nodbus(void)
{
	static int known = -1;
	static char help[8192];
	char *argv[] = {"zbarimg", "--help", NULL};
	if (known < 0) {
		run(argv, help, sizeof help);
		known = strstr(help, "--nodbus") != NULL;
	}
	return known;
}

static void assert_zbar_reads(const char *png, const char *want)
{
	char text[2048];
	char *argv[] = {"zbarimg", "--raw", "-q", (char *)png, NULL, NULL};
	require_tool("zbarimg", "zbar-tools");
	if (zbar_has_nodbus()) {
		argv[4] = argv[3];
		argv[3] = "--nodbus";
	}
	int rc = run(argv, text, sizeof text);
	if (rc != 0)
		fail_msg("zbarimg found no QR code in %s (exit %d)", png, rc);
	assert_string_equal(text, want);
}

static void rasterise_svg(const char *svg, const char *png, unsigned px)
{
	char size[32], text[256];
	char *argv[] = {"rsvg-convert", "-w",        size,        "-h", size,
	                "-o",           (char *)png, (char *)svg, NULL};
	require_tool("rsvg-convert", "librsvg2-bin");
	snprintf(size, sizeof size, "%u", px);
	int rc = run(argv, text, sizeof text);
	if (rc != 0)
		fail_msg("rsvg-convert could not render %s (exit %d)", svg, rc);
}

/* Read any PNG as 8-bit gray; the caller frees *pixels. */
static void read_gray(const char *path, unsigned char **pixels, unsigned *w, unsigned *h)
{
	png_image img;
	memset(&img, 0, sizeof img);
	img.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_file(&img, path))
		fail_msg("cannot read %s: %s", path, img.message);
	img.format = PNG_FORMAT_GRAY;
	*pixels = malloc(PNG_IMAGE_SIZE(img));
	assert_non_null(*pixels);
	if (!png_image_finish_read(&img, NULL, *pixels, 0, NULL))
		fail_msg("cannot decode %s: %s", path, img.message);
	*w = img.width;
	*h = img.height;
}

/* Every pixel of the image is the colour of the module (or quiet zone) it lies in. */
static void assert_pixels_match(const QRcode *q, const unsigned char *pix, unsigned side_px,
                                unsigned quiet, unsigned px, int sample_centres)
{
	unsigned side = (unsigned)q->width + 2 * quiet;
	for (unsigned my = 0; my < side; my++)
		for (unsigned mx = 0; mx < side; mx++) {
			int dark = mx >= quiet && my >= quiet && mx < quiet + (unsigned)q->width &&
			           my < quiet + (unsigned)q->width &&
			           (q->data[(my - quiet) * (unsigned)q->width + (mx - quiet)] & 1);
			for (unsigned dy = 0; dy < px; dy++)
				for (unsigned dx = 0; dx < px; dx++) {
					if (sample_centres && (dx != px / 2 || dy != px / 2))
						continue;
					unsigned v =
					    pix[(size_t)(my * px + dy) * side_px + mx * px + dx];
					if (dark ? v > 64 : v < 192)
						fail_msg(
						    "module (%u,%u) pixel (%u,%u) is %u, want %s",
						    mx, my, dx, dy, v, dark ? "black" : "white");
				}
		}
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "rb");
	size_t n;
	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n;
}

static const enum qr_ecc levels[] = {QR_ECC_L, QR_ECC_M, QR_ECC_Q, QR_ECC_H};

/* ---- encoding ------------------------------------------------------------ */

static void test_upper_case_short_url_with_20_char_host_is_version_3_at_m(void **state)
{
	char url[URL_MAX], lower[URL_MAX];
	QRcode *q, *ql;
	(void)state;
	assert_int_equal(strlen("qr.packcode-demo.com"), 20);
	assert_int_equal(url_short(url, sizeof url, "qr.packcode-demo.com", "7K3F9ABCDEFGHJKMNPQ4"),
	                 51);
	assert_string_equal(url, short_url);
	q = qr_encode(url, QR_ECC_M);
	assert_non_null(q);
	assert_int_equal(q->version, 3);
	assert_int_equal(q->width, 29);
	/* The same URL in lower case needs 8-bit mode and one version more. */
	for (size_t i = 0; i <= strlen(url); i++)
		lower[i] = (char)(url[i] >= 'A' && url[i] <= 'Z' ? url[i] - 'A' + 'a' : url[i]);
	ql = qr_encode(lower, QR_ECC_M);
	assert_non_null(ql);
	assert_int_equal(ql->version, 4);
	QRcode_free(q);
	QRcode_free(ql);
}

/* pack.example.com (16 characters): 47 alphanumerics, exactly version 3's capacity at Q. */
static void test_short_url_with_16_char_host_takes_q_in_version_3(void **state)
{
	char url[URL_MAX];
	(void)state;
	assert_int_equal(url_short(url, sizeof url, "pack.example.com", "7K3F9ABCDEFGHJKMNPQ4"),
	                 47);
	assert_int_equal(qr_ecc_same_version(url, QR_ECC_M, QR_ECC_Q), QR_ECC_Q);
	QRcode *q = qr_encode(url, QR_ECC_Q);
	assert_non_null(q);
	assert_int_equal(q->width, 29);
	QRcode_free(q);
	/* H needs version 4: M stays */
	assert_int_equal(qr_ecc_same_version(url, QR_ECC_M, QR_ECC_H), QR_ECC_M);
}

static void test_short_url_with_20_char_host_keeps_m_as_q_needs_version_4(void **state)
{
	(void)state;
	assert_int_equal(qr_ecc_same_version(short_url, QR_ECC_M, QR_ECC_Q), QR_ECC_M);
	assert_int_equal(qr_ecc_same_version(NULL, QR_ECC_M, QR_ECC_Q), QR_ECC_M);
}

/* What a printer that does not split modes draws: 51 bytes need version 4 at M. */
static void test_8bit_encoding_takes_the_whole_text_as_bytes(void **state)
{
	(void)state;
	QRcode *q = qr_encode_8bit(short_url, QR_ECC_M);
	assert_non_null(q);
	assert_int_equal(q->version, 4);
	QRcode_free(q);
	errno = 0;
	assert_null(qr_encode_8bit(NULL, QR_ECC_M));
	assert_int_equal(errno, EINVAL);
}

static void test_encode_rejects_text_too_long_for_any_version(void **state)
{
	char *big = malloc(8000);
	(void)state;
	assert_non_null(big);
	memset(big, 'a', 7999);
	big[7999] = '\0';
	errno = 0;
	assert_null(qr_encode(big, QR_ECC_L));
	assert_int_equal(errno, ERANGE);
	assert_null(qr_encode(NULL, QR_ECC_M));
	free(big);
}

static void test_ecc_names_parse_in_either_case(void **state)
{
	enum qr_ecc e;
	(void)state;
	assert_int_equal(qr_ecc_parse("L", &e), 0);
	assert_int_equal(e, QR_ECC_L);
	assert_int_equal(qr_ecc_parse("m", &e), 0);
	assert_int_equal(e, QR_ECC_M);
	assert_int_equal(qr_ecc_parse("Q", &e), 0);
	assert_int_equal(e, QR_ECC_Q);
	assert_int_equal(qr_ecc_parse("h", &e), 0);
	assert_int_equal(e, QR_ECC_H);
	assert_string_equal(qr_ecc_name(QR_ECC_Q), "Q");
	assert_int_equal(qr_ecc_parse("", &e), -1);
	assert_int_equal(qr_ecc_parse("MM", &e), -1);
	assert_int_equal(qr_ecc_parse("X", &e), -1);
	assert_int_equal(qr_ecc_parse(NULL, &e), -1);
}

static void test_default_style_is_m_8px_half_mm_quiet_4(void **state)
{
	(void)state;
	assert_int_equal(qr_style_default.ecc, QR_ECC_M);
	assert_int_equal(qr_style_default.module_px, 8);
	assert_true(qr_style_default.module_mm == 0.5);
	assert_int_equal(qr_style_default.quiet, 4);
}

/* ---- PNG ----------------------------------------------------------------- */

static void test_png_decodes_to_the_input_at_every_level_and_module_size(void **state)
{
	static const unsigned sizes[] = {2, 3, 8};
	const char *urls[] = {short_url, dl_url};
	(void)state;
	for (size_t u = 0; u < 2; u++)
		for (size_t l = 0; l < 4; l++)
			for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
				struct qr_style st = qr_style_default;
				char path[512], err[256] = "";
				QRcode *q = qr_encode(urls[u], levels[l]);
				assert_non_null(q);
				st.ecc = levels[l];
				st.module_px = sizes[s];
				tmp_path(path, sizeof path, "decode.png");
				if (qr_write_png(q, &st, path, err, sizeof err) != 0)
					fail_msg("qr_write_png: %s", err);
				assert_zbar_reads(path, urls[u]);
				QRcode_free(q);
			}
}

static void test_png_pixels_match_the_modules_exactly(void **state)
{
	static const unsigned sizes[] = {1, 3, 7, 8, 13};
	static const unsigned quiets[] = {0, 1, 4, 5};
	(void)state;
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
		for (size_t z = 0; z < sizeof quiets / sizeof quiets[0]; z++) {
			struct qr_style st = qr_style_default;
			char path[512], err[256] = "";
			unsigned char *pix;
			unsigned w, h;
			QRcode *q = qr_encode(dl_url, QR_ECC_Q);
			assert_non_null(q);
			st.module_px = sizes[s];
			st.quiet = quiets[z];
			tmp_path(path, sizeof path, "pixels.png");
			if (qr_write_png(q, &st, path, err, sizeof err) != 0)
				fail_msg("qr_write_png: %s", err);
			read_gray(path, &pix, &w, &h);
			assert_int_equal(w, (q->width + 2 * quiets[z]) * sizes[s]);
			assert_int_equal(h, w);
			assert_pixels_match(q, pix, w, quiets[z], sizes[s], 0);
			free(pix);
			QRcode_free(q);
		}
}

static void test_png_is_1_bit_gray_of_modules_plus_quiet_zone_times_module_px(void **state)
{
	struct qr_style st = qr_style_default;
	unsigned char buf[4096];
	char path[512], err[256] = "";
	size_t n;
	QRcode *q = qr_encode(short_url, QR_ECC_M);
	(void)state;
	assert_non_null(q);
	st.module_px = 5;
	st.quiet = 3;
	st.module_mm = 0.25;
	tmp_path(path, sizeof path, "ihdr.png");
	assert_int_equal(qr_write_png(q, &st, path, err, sizeof err), 0);
	n = read_file(path, (char *)buf, sizeof buf);
	assert_true(n > 33);
	assert_memory_equal(buf, "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16);
	assert_int_equal(be32(buf + 16), (29 + 2 * 3) * 5); /* width: 175 */
	assert_int_equal(be32(buf + 20), (29 + 2 * 3) * 5); /* height */
	assert_int_equal(buf[24], 1);                       /* bit depth */
	assert_int_equal(buf[25], 0);                       /* colour type: gray */
	/* pHYs: 5 px per 0.25 mm = 20000 px per metre */
	unsigned char *phys = memmem(buf, n, "pHYs", 4);
	assert_non_null(phys);
	assert_int_equal(be32(phys + 4), 20000);
	assert_int_equal(be32(phys + 8), 20000);
	assert_int_equal(phys[12], 1);
	QRcode_free(q);
}

/* ---- SVG ----------------------------------------------------------------- */

static void test_svg_decodes_to_the_input_after_rsvg_convert(void **state)
{
	static const double mms[] = {0.33, 0.5, 1.2};
	const char *urls[] = {short_url, dl_url};
	(void)state;
	for (size_t u = 0; u < 2; u++)
		for (size_t l = 0; l < 4; l++)
			for (size_t m = 0; m < sizeof mms / sizeof mms[0]; m++) {
				struct qr_style st = qr_style_default;
				char svg[512], png[512], err[256] = "";
				QRcode *q = qr_encode(urls[u], levels[l]);
				assert_non_null(q);
				st.module_mm = mms[m];
				tmp_path(svg, sizeof svg, "decode.svg");
				tmp_path(png, sizeof png, "decode-svg.png");
				if (qr_write_svg(q, &st, svg, err, sizeof err) != 0)
					fail_msg("qr_write_svg: %s", err);
				rasterise_svg(svg, png,
				              (unsigned)(q->width + 8) * (2 + (unsigned)m));
				assert_zbar_reads(png, urls[u]);
				QRcode_free(q);
			}
}

static void test_svg_modules_match_after_rasterising(void **state)
{
	static const unsigned quiets[] = {0, 2, 4};
	(void)state;
	for (size_t z = 0; z < sizeof quiets / sizeof quiets[0]; z++) {
		struct qr_style st = qr_style_default;
		char svg[512], png[512], err[256] = "";
		unsigned char *pix;
		unsigned w, h, px = 6;
		QRcode *q = qr_encode(dl_url, QR_ECC_H);
		assert_non_null(q);
		st.quiet = quiets[z];
		tmp_path(svg, sizeof svg, "modules.svg");
		tmp_path(png, sizeof png, "modules-svg.png");
		assert_int_equal(qr_write_svg(q, &st, svg, err, sizeof err), 0);
		rasterise_svg(svg, png, (q->width + 2 * quiets[z]) * px);
		read_gray(png, &pix, &w, &h);
		assert_int_equal(w, (q->width + 2 * quiets[z]) * px);
		assert_pixels_match(q, pix, w, quiets[z], px, 1);
		free(pix);
		QRcode_free(q);
	}
}

static void test_svg_is_one_path_sized_in_mm_with_a_viewbox_in_modules(void **state)
{
	struct qr_style st = qr_style_default;
	char path[512], err[256] = "", text[65536];
	QRcode *q = qr_encode(short_url, QR_ECC_M);
	(void)state;
	assert_non_null(q);
	tmp_path(path, sizeof path, "shape.svg");
	assert_int_equal(qr_write_svg(q, &st, path, err, sizeof err), 0);
	read_file(path, text, sizeof text);
	assert_true(strncmp(text, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg ", 44) == 0);
	/* 29 modules + 2 * 4 quiet = 37, at 0.5 mm: 18.5 mm */
	assert_non_null(strstr(text, " width=\"18.5mm\" height=\"18.5mm\" viewBox=\"0 0 37 37\""));
	assert_non_null(strstr(text, "<rect width=\"37\" height=\"37\" fill=\"#fff\"/>"));
	assert_non_null(strstr(text, "xmlns=\"http://www.w3.org/2000/svg\""));
	char *p = strstr(text, "<path ");
	assert_non_null(p);
	assert_null(strstr(p + 1, "<path "));
	/* the top-left finder pattern starts a run of 7 at the quiet zone's edge */
	assert_non_null(strstr(p, "d=\"M4 4h7v1h-7z"));
	assert_true(strlen(text) > 10 && strcmp(text + strlen(text) - 7, "</svg>\n") == 0);

	st.module_mm = 0.254;
	assert_int_equal(qr_write_svg(q, &st, path, err, sizeof err), 0);
	read_file(path, text, sizeof text);
	assert_non_null(strstr(text, " width=\"9.398mm\" height=\"9.398mm\""));
	QRcode_free(q);
}

/* ---- failures ------------------------------------------------------------ */

static void test_write_into_a_missing_directory_fails_with_the_reason(void **state)
{
	char path[512], err[256] = "";
	QRcode *q = qr_encode(short_url, QR_ECC_M);
	(void)state;
	assert_non_null(q);
	tmp_path(path, sizeof path, "no-such-dir/x.png");
	assert_int_equal(qr_write_png(q, NULL, path, err, sizeof err), -1);
	assert_non_null(strstr(err, "no-such-dir/x.png: No such file or directory"));
	err[0] = '\0';
	assert_int_equal(qr_write_svg(q, NULL, path, err, sizeof err), -1);
	assert_non_null(strstr(err, "No such file or directory"));
	QRcode_free(q);
}

/* In a child limited to 100-byte files: the write fails midway, nothing is left. */
static void check_partial_file_removed(int svg)
{
	char path[512];
	int status;
	pid_t pid;
	tmp_path(path, sizeof path, svg ? "partial.svg" : "partial.png");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = {100, 100};
		char err[256] = "";
		QRcode *q = qr_encode(dl_url, QR_ECC_H);
		signal(SIGXFSZ, SIG_IGN);
		if (!q || setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(10);
		if ((svg ? qr_write_svg : qr_write_png)(q, NULL, path, err, sizeof err) != -1)
			_exit(11);
		if (!strstr(err, "File too large"))
			_exit(12);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_write_failing_midway_removes_the_partial_png(void **state)
{
	(void)state;
	check_partial_file_removed(0);
}

static void test_write_failing_midway_removes_the_partial_svg(void **state)
{
	(void)state;
	check_partial_file_removed(1);
}

static void test_out_of_range_styles_are_rejected_before_any_file_exists(void **state)
{
	struct qr_style bad[6];
	char path[512], err[256];
	QRcode *q = qr_encode(short_url, QR_ECC_M);
	(void)state;
	assert_non_null(q);
	for (size_t i = 0; i < 6; i++)
		bad[i] = qr_style_default;
	bad[0].module_px = 0;
	bad[1].module_px = QR_MODULE_PX_MAX + 1;
	bad[2].quiet = QR_QUIET_MAX + 1;
	bad[3].module_mm = -1;
	bad[4].module_mm = QR_MODULE_MM_MAX * 2;
	bad[5].module_mm = NAN;
	tmp_path(path, sizeof path, "style.png");
	for (size_t i = 0; i < 6; i++) {
		err[0] = '\0';
		assert_int_equal(qr_write_png(q, &bad[i], path, err, sizeof err), -1);
		assert_true(err[0] != '\0');
		assert_int_equal(qr_write_svg(q, &bad[i], path, err, sizeof err), -1);
		assert_int_equal(access(path, F_OK), -1);
	}
	/* 0 mm: a PNG without pHYs is fine, an SVG has no size */
	bad[0] = qr_style_default;
	bad[0].module_mm = 0;
	assert_int_equal(qr_write_svg(q, &bad[0], path, err, sizeof err), -1);
	assert_int_equal(qr_write_png(q, &bad[0], path, err, sizeof err), 0);
	assert_int_equal(qr_write_png(NULL, NULL, path, err, sizeof err), -1);
	QRcode_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_upper_case_short_url_with_20_char_host_is_version_3_at_m),
	    cmocka_unit_test(test_short_url_with_16_char_host_takes_q_in_version_3),
	    cmocka_unit_test(test_short_url_with_20_char_host_keeps_m_as_q_needs_version_4),
	    cmocka_unit_test(test_8bit_encoding_takes_the_whole_text_as_bytes),
	    cmocka_unit_test(test_encode_rejects_text_too_long_for_any_version),
	    cmocka_unit_test(test_ecc_names_parse_in_either_case),
	    cmocka_unit_test(test_default_style_is_m_8px_half_mm_quiet_4),
	    cmocka_unit_test(test_png_decodes_to_the_input_at_every_level_and_module_size),
	    cmocka_unit_test(test_png_pixels_match_the_modules_exactly),
	    cmocka_unit_test(test_png_is_1_bit_gray_of_modules_plus_quiet_zone_times_module_px),
	    cmocka_unit_test(test_svg_decodes_to_the_input_after_rsvg_convert),
	    cmocka_unit_test(test_svg_modules_match_after_rasterising),
	    cmocka_unit_test(test_svg_is_one_path_sized_in_mm_with_a_viewbox_in_modules),
	    cmocka_unit_test(test_write_into_a_missing_directory_fails_with_the_reason),
	    cmocka_unit_test(test_write_failing_midway_removes_the_partial_png),
	    cmocka_unit_test(test_write_failing_midway_removes_the_partial_svg),
	    cmocka_unit_test(test_out_of_range_styles_are_rejected_before_any_file_exists),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
