/* db.c: placeholder until the implementation lands (see lib/db.h). */
#include "db.h"
#include <stdio.h>
#include <stdlib.h>
int db_is_embedded(void) { const char *e = getenv("PACKCODE_DB"); return !e || !*e; }
PGconn *db_connect(char *err, size_t errlen) { snprintf(err, errlen, "not implemented"); return NULL; }
enum db_embedded_state db_embedded_status(char *d, size_t l) { (void)d; (void)l; return DB_EMBEDDED_ABSENT; }
