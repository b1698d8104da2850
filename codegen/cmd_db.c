/* cmd_db.c: placeholder. */
#include "cli.h"
int cmd_db(int argc, char **argv) { (void)argc; (void)argv; return cli_error("db", "not implemented"); }
