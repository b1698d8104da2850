/* cmd_product.c: placeholder. */
#include "cli.h"
int cmd_product(int argc, char **argv) { (void)argc; (void)argv; return cli_error("product", "not implemented"); }
int cmd_batches(int argc, char **argv) { (void)argc; (void)argv; return cli_error("batches", "not implemented"); }
