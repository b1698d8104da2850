/*
 * packline.c: a packing line's file, one line at a time (packline.h).
 */
#include "packline.h"

#include <ctype.h>
#include <string.h>

int packline_split(char *s, char **a, char **b)
{
	char *comma = strchr(s, ',');
	if (!comma || strchr(comma + 1, ','))
		return -1;
	*comma = 0;
	*a = s;
	*b = comma + 1;
	char **fields[2] = {a, b};
	for (int i = 0; i < 2; i++) {
		char *x = *fields[i];
		while (*x == ' ')
			x++;
		size_t l = strlen(x);
		while (l && x[l - 1] == ' ')
			x[--l] = 0;
		if (l >= 2 && x[0] == '"' && x[l - 1] == '"') {
			x[l - 1] = 0;
			x++;
		}
		*fields[i] = x;
	}
	return **a && **b ? 0 : -1;
}

int packline_sscc(const char *s, char out[SSCC_LEN + 1])
{
	const char *p = strstr(s, "/00/");
	if (p)
		s = p + 4;
	else if (strncmp(s, "(00)", 4) == 0)
		s += 4;
	else if (strlen(s) == SSCC_LEN + 2 && strncmp(s, "00", 2) == 0)
		s += 2;
	size_t n = 0;
	while (isdigit((unsigned char)s[n]))
		n++;
	if (s[n] && !(p && (s[n] == '/' || s[n] == '?')))
		return 0;
	if (n != SSCC_LEN)
		return p ? -1 : 0;
	memcpy(out, s, SSCC_LEN);
	out[SSCC_LEN] = 0;
	return sscc_valid(out, NULL, 0) == 0 ? 1 : -1;
}
