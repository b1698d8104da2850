/*
 * geoip.c: addresses to regions through libmaxminddb (geoip.h).
 *
 * The database is opened with MMDB_MODE_MMAP: pages are shared by every
 * worker that opened the same file. A database with no subdivision (a
 * Country file) gives the country alone; every field is optional.
 */
#include "engine/geoip.h"

#include <maxminddb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct geoip {
	char *path;
	MMDB_s db;
	struct keyfile_stamp stamp;
};

struct geoip *geoip_open(const char *path, char *err, size_t errlen)
{
	struct geoip *g = calloc(1, sizeof *g);
	if (!g || !(g->path = strdup(path))) {
		snprintf(err, errlen, "out of memory");
		free(g);
		return NULL;
	}
	keyfile_stamp(path, &g->stamp);
	int rc = MMDB_open(path, MMDB_MODE_MMAP, &g->db);
	if (rc != MMDB_SUCCESS) {
		snprintf(err, errlen, "%s: %s", path, MMDB_strerror(rc));
		free(g->path);
		free(g);
		return NULL;
	}
	return g;
}

void geoip_free(struct geoip *g)
{
	if (!g)
		return;
	MMDB_close(&g->db);
	free(g->path);
	free(g);
}

/* The UTF-8 string at path in the entry into out (cut to fit, "" if absent). */
static void string_at(MMDB_entry_s *e, char *out, size_t len, const char *const *path)
{
	MMDB_entry_data_s d;
	out[0] = '\0';
	if (MMDB_aget_value(e, &d, path) != MMDB_SUCCESS || !d.has_data ||
	    d.type != MMDB_DATA_TYPE_UTF8_STRING)
		return;
	size_t n = d.data_size < len - 1 ? d.data_size : len - 1;
	memcpy(out, d.utf8_string, n);
	out[n] = '\0';
	/* a control character or a tab would not belong in a code or a COPY field */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
}

void geoip_lookup(const struct geoip *g, const char *address, struct geoip_region *out)
{
	memset(out, 0, sizeof *out);
	if (!g || !address || !address[0])
		return;
	int gai = 0, mmdb = 0;
	MMDB_lookup_result_s r = MMDB_lookup_string((MMDB_s *)&g->db, address, &gai, &mmdb);
	if (gai != 0 || mmdb != MMDB_SUCCESS || !r.found_entry)
		return;
	static const char *const country[] = {"country", "iso_code", NULL};
	static const char *const sub[] = {"subdivisions", "0", "iso_code", NULL};
	static const char *const city[] = {"city", "names", "en", NULL};
	char code[8];
	string_at(&r.entry, out->country, sizeof out->country, country);
	string_at(&r.entry, code, sizeof code, sub);
	if (out->country[0] && code[0])
		snprintf(out->subdivision, sizeof out->subdivision, "%s-%s", out->country, code);
	string_at(&r.entry, out->city, sizeof out->city, city);
}

enum geoip_refresh geoip_refresh(struct geoip *g, int force, char *err, size_t errlen)
{
	struct keyfile_stamp now;
	keyfile_stamp(g->path, &now);
	if (!force && keyfile_stamp_equal(&now, &g->stamp))
		return GEOIP_SAME;
	MMDB_s db;
	int rc = MMDB_open(g->path, MMDB_MODE_MMAP, &db);
	if (rc != MMDB_SUCCESS) {
		snprintf(err, errlen, "%s: %s", g->path, MMDB_strerror(rc));
		g->stamp = now; /* not again until it changes once more */
		return GEOIP_FAILED;
	}
	MMDB_close(&g->db);
	g->db = db;
	g->stamp = now;
	return GEOIP_RELOADED;
}
