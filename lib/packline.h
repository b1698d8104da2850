/*
 * packline.h: a line of a packing line's file (docs/supply-chain.md,
 * "Packing"), read before any code is judged: CSV "PARENT,CHILD", and an
 * SSCC in the forms a pallet is written. Pure, fuzzed (fuzz/fuzz_packline.c).
 */
#ifndef PACKCODE_PACKLINE_H
#define PACKCODE_PACKLINE_H

#include "url.h"

/*
 * Split a CSV line "PARENT,CHILD" in place (exactly one comma; blanks
 * around a field and one pair of double quotes around it are dropped;
 * neither field empty). 0 with *a and *b pointing into s, or -1.
 */
int packline_split(char *s, char **a, char **b);

/*
 * An SSCC as written: 18 digits, "(00)" + 18 digits, "00" + 18 digits, or
 * a URL holding "/00/" + 18 digits (then a '/', '?' or the end). 1 with out
 * filled (check digit right), 0 if s is no SSCC at all (a code, say), -1
 * if it is one written wrong (a bad check digit, a /00/ without 18 digits).
 */
int packline_sscc(const char *s, char out[SSCC_LEN + 1]);

#endif
