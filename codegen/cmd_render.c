/*
 * cmd_render.c: packcode-gen render, the QR of one code: on the terminal
 * (two modules per character cell, light modules drawn, so it scans on a dark
 * background), or as a PNG or SVG file. For reprints and demos; print runs
 * get their images from mint.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "qr.h"
#include "url.h"

static const char help[] =
    "Usage: packcode-gen render [options] CODE\n"
    "\n"
    "Draw the QR of CODE's landing URL: on the terminal by default, or into a\n"
    "PNG or SVG file. The URL is HTTPS://HOST/C/CODE, or with --gtin the GS1\n"
    "Digital Link https://HOST/01/GTIN/21/CODE, as mint would print it. CODE is\n"
    "checked for typos (its check character) but not against the keyring.\n"
    "\n"
    "Options:\n"
    "  --host HOST         host of the landing URL (default: $PACKCODE_HOST)\n"
    "  --gtin GTIN         use the GS1 Digital Link form for this GTIN\n"
    "  --format FMT        text (default), png or svg\n"
    "  -o, --out FILE      where to write the png or svg\n"
    "  --ecc L|M|Q|H       error correction (default M; for the short URL Q where Q\n"
    "                      fits the same version, as mint chooses)\n"
    "  --module-px N       PNG pixels per module (default 8)\n"
    "  --module-mm X       SVG millimetres per module (default 0.5)\n"
    "  --quiet-zone N      quiet zone in modules (default 4)\n"
    "\n"
    "Prints the URL on the first line of standard output, then (text) the QR.\n";

static void draw_text(const QRcode *q, unsigned quiet)
{
	int w = q->width, total = w + 2 * (int)quiet;
	/* dark(x, y): inside the symbol and the module's low bit set */
#define DARK(x, y)                                                                                 \
	((x) >= (int)quiet && (y) >= (int)quiet && (x) < (int)quiet + w && (y) < (int)quiet + w && \
	 (q->data[((y) - (int)quiet) * w + ((x) - (int)quiet)] & 1))
	for (int y = 0; y < total; y += 2) {
		for (int x = 0; x < total; x++) {
			int top = !DARK(x, y), bottom = y + 1 < total ? !DARK(x, y + 1) : 0;
			fputs(top && bottom ? "\u2588"
			      : top         ? "\u2580"
			      : bottom      ? "\u2584"
			                    : " ",
			      stdout);
		}
		fputc('\n', stdout);
	}
#undef DARK
}

int cmd_render(int argc, char **argv)
{
	enum { O_HOST = 256, O_GTIN, O_FORMAT, O_ECC, O_MODULE_PX, O_MODULE_MM, O_QUIET_ZONE };
	static const struct option opts[] = {
	    {"host", required_argument, NULL, O_HOST},
	    {"gtin", required_argument, NULL, O_GTIN},
	    {"format", required_argument, NULL, O_FORMAT},
	    {"out", required_argument, NULL, 'o'},
	    {"ecc", required_argument, NULL, O_ECC},
	    {"module-px", required_argument, NULL, O_MODULE_PX},
	    {"module-mm", required_argument, NULL, O_MODULE_MM},
	    {"quiet-zone", required_argument, NULL, O_QUIET_ZONE},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct qr_style st = qr_style_default;
	const char *host = getenv("PACKCODE_HOST"), *format = "text", *out = NULL;
	char gtin[GTIN_LEN + 1] = "", err[256], url[URL_MAX];
	uint64_t v;
	int c, ecc_given = 0;
	char *end;

	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case O_HOST:
			host = optarg;
			break;
		case O_GTIN:
			if (gtin_normalize(optarg, gtin, err, sizeof err) < 0)
				return cli_usage("render", "--gtin: %s", err);
			break;
		case O_FORMAT:
			if (strcmp(optarg, "text") && strcmp(optarg, "png") &&
			    strcmp(optarg, "svg"))
				return cli_usage("render", "--format must be text, png or svg");
			format = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case O_ECC:
			if (qr_ecc_parse(optarg, &st.ecc) < 0)
				return cli_usage("render", "--ecc must be L, M, Q or H");
			ecc_given = 1;
			break;
		case O_MODULE_PX:
			if (cli_parse_u64(optarg, 1, 100, &v) < 0)
				return cli_usage("render", "--module-px must be 1 to 100");
			st.module_px = (unsigned)v;
			break;
		case O_MODULE_MM:
			st.module_mm = strtod(optarg, &end);
			if (*end || end == optarg || !(st.module_mm >= 0.1) || st.module_mm > 10)
				return cli_usage("render", "--module-mm must be 0.1 to 10");
			break;
		case O_QUIET_ZONE:
			if (cli_parse_u64(optarg, 0, 40, &v) < 0)
				return cli_usage("render", "--quiet-zone must be 0 to 40 modules");
			st.quiet = (unsigned)v;
			break;
		case 'h':
			fputs(help, stdout);
			return 0;
		default:
			return cli_usage("render", "unknown option");
		}
	}
	if (argc - optind != 1)
		return cli_usage("render", "expected one CODE");
	if (!host || !*host)
		return cli_usage("render", "no host: give --host or set PACKCODE_HOST");
	if (host_valid(host) < 0)
		return cli_usage("render", "--host \"%s\" is not a host name", host);
	if (strcmp(format, "text") != 0 && !out)
		return cli_usage("render", "--format %s needs --out FILE", format);

	struct code_fields f;
	const char *code = argv[optind];
	if (code_parse(code, strlen(code), &f) != CODE_SHAPE_OK)
		return cli_error("render", "\"%s\" is not a code: check the characters", code);
	int n = gtin[0] ? url_digital_link(url, sizeof url, host, gtin, f.text, NULL, NULL)
	                : url_short(url, sizeof url, host, f.text);
	if (n < 0)
		return cli_error("render", "the URL is too long");
	if (!gtin[0] && !ecc_given)
		st.ecc = qr_ecc_same_version(url, QR_ECC_M, QR_ECC_Q);
	QRcode *q = qr_encode(url, st.ecc);
	if (!q)
		return cli_error("render", "cannot encode a QR for %s", url);
	int rc = 0;
	puts(url);
	if (strcmp(format, "text") == 0)
		draw_text(q, st.quiet);
	else if ((strcmp(format, "png") == 0 ? qr_write_png : qr_write_svg)(q, &st, out, err,
	                                                                    sizeof err) < 0)
		rc = cli_error("render", "%s", err);
	QRcode_free(q);
	return rc;
}
