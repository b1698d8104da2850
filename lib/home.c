/*
 * home.c: the state directory, $PACKCODE_HOME or ".".
 */
#include "home.h"

#include <stdlib.h>

const char *packcode_home(void)
{
	const char *h = getenv("PACKCODE_HOME");
	return h && *h ? h : ".";
}
