/* qr.c: placeholder until the implementation lands (see lib/qr.h). */
#include "qr.h"
