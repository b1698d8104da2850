/* url.c: placeholder until the implementation lands (see lib/url.h). */
#include "url.h"
