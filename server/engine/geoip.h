/*
 * geoip.h: the region of an address, from a MaxMind-format database
 * (GeoLite2/GeoIP2 City or Country, DB-IP, a converted ip2region) read with
 * libmaxminddb, memory-mapped: a lookup is a walk of the file's search tree,
 * a few microseconds, no allocation. One per scan writer (a worker); the
 * file is opened again when it changes (geoip_refresh) or on SIGHUP.
 */
#ifndef PACKCODE_SERVER_GEOIP_H
#define PACKCODE_SERVER_GEOIP_H

#include <stddef.h>

#include "engine/keyfile.h"

/* Codes, "" when unknown: ISO 3166-1 alpha-2, ISO 3166-2 ("CN-ZJ"), the city's English name. */
struct geoip_region {
	char country[4];
	char subdivision[16];
	char city[100];
};

struct geoip;

/* Open path: a geoip, or NULL with err set. */
struct geoip *geoip_open(const char *path, char *err, size_t errlen);
void geoip_free(struct geoip *g);

/* The region of a printable address ("203.0.113.7", "2001:db8::1"); all "" if unknown. */
void geoip_lookup(const struct geoip *g, const char *address, struct geoip_region *out);

enum geoip_refresh { GEOIP_SAME, GEOIP_RELOADED, GEOIP_FAILED };

/*
 * Open the file again if its stamp changed (force: always), keeping the old
 * database when the new one does not open (err says why).
 */
enum geoip_refresh geoip_refresh(struct geoip *g, int force, char *err, size_t errlen);

#endif
