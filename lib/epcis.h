/*
 * epcis.h: GS1 EPCIS 2.0 documents (docs/epcis.md) as both programs write
 * them: the document's head and tail around the events the database
 * writes (sql/020_epcis.sql), one a line, in which a pack's code stands as
 * the marker #{KEY.SERIAL} because only the keyring can compute it.
 */
#ifndef PACKCODE_EPCIS_H
#define PACKCODE_EPCIS_H

#include <stddef.h>
#include <time.h>

#include "keyring.h"

#define EPCIS_CONTEXT   "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
#define EPCIS_NAMESPACE "urn:packcode:epcis:" /* the packcode: prefix of our own fields */
#define EPCIS_MEDIA     "application/ld+json"
#define EPCIS_HEAD_MAX  512

/* The document up to its first event, created at now: its length (< len). */
size_t epcis_head(char *buf, size_t len, time_t now);
/* What ends the document after the last event. */
#define EPCIS_TAIL "\n]}}\n"
/* What goes between two events. */
#define EPCIS_SEP ",\n"

/* Where epcis_expand writes: 0, or -1 to stop. */
typedef int (*epcis_put_fn)(void *ctx, const char *s, size_t n);

/*
 * One event line of the database (its newline dropped) written through
 * put with each marker #{KEY.SERIAL} replaced by that code. -1 with err
 * when a key is not in kr, a marker is malformed or put stopped.
 */
int epcis_expand(struct keyring *kr, const char *line, size_t len, epcis_put_fn put, void *ctx,
                 char *err, size_t errlen);

#endif
