#include <config.h>

#include <stdio.h>
#include <string.h>

#include "common/cfglex.h"

bool
cfg_next_line(const char *text, size_t len, size_t *pos, const char **line,
    size_t *n)
{
	const char *s, *nl;

	if (*pos >= len)
		return false;
	s = text + *pos;
	nl = memchr(s, '\n', len - *pos);
	*n = (size_t)((nl ? nl : text + len) - s);
	*line = s;
	*pos = nl ? (size_t)(nl - text) + 1 : len;
	if (*n > 0 && s[*n - 1] == '\r')
		(*n)--;
	return true;
}

/* CR, NUL and other controls in a config file are a sign of the wrong file
 * or an editor accident; they are named instead of failing on a mangled
 * word. */
const char *
cfg_check_bytes(const char *s, size_t n, char *buf, size_t buflen)
{
	unsigned char c;
	size_t i;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '\0') {
			snprintf(buf, buflen, "NUL byte in line");
			return buf;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			snprintf(buf, buflen, "control character 0x%02x in line",
			    c);
			return buf;
		}
	}
	return NULL;
}

size_t
cfg_split(const char *s, size_t n, struct cfg_word *w, size_t max)
{
	const char *hash;
	size_t i = 0, nw = 0, start;

	if ((hash = memchr(s, '#', n)) != NULL)
		n = (size_t)(hash - s);
	for (;;) {
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == n)
			return nw;
		start = i;
		while (i < n && s[i] != ' ' && s[i] != '\t')
			i++;
		if (nw < max) {
			w[nw].s = s + start;
			w[nw].n = i - start;
		}
		nw++;
	}
}

bool
cfg_word_is(const struct cfg_word *w, const char *s)
{
	return w->n == strlen(s) && memcmp(w->s, s, w->n) == 0;
}

int
cfg_quote_len(const struct cfg_word *w)
{
	return (int)(w->n > CFG_QUOTE_MAX ? CFG_QUOTE_MAX : w->n);
}
