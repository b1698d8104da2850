/* mint.c: placeholder. */
#include "cli.h"
int cmd_mint(int argc, char **argv) { (void)argc; (void)argv; return cli_error("mint", "not implemented"); }
