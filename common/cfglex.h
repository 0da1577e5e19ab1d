/*
 * The lexical rules both daemons' config files share: one directive per
 * line, words split by spaces or tabs, '#' to the end of the line, one CR
 * before a LF dropped, any other control byte an error. The parsers keep
 * their own directives and messages; the words come from here.
 */
#ifndef ENCLAVE_COMMON_CFGLEX_H
#define ENCLAVE_COMMON_CFGLEX_H

#include <stdbool.h>
#include <stddef.h>

/* Longest slice of a word quoted back in a message. */
#define CFG_QUOTE_MAX	128

struct cfg_word {
	const char	*s;
	size_t		 n;
};

/*
 * The next line of text[*pos..len): *line and *n (without its LF and a CR
 * right before it), *pos moved past it. false at the end.
 */
bool cfg_next_line(const char *text, size_t len, size_t *pos,
    const char **line, size_t *n);

/* NULL when the line holds no NUL or control byte (tab is fine), else
 * why, written to buf. */
const char *cfg_check_bytes(const char *s, size_t n, char *buf,
    size_t buflen);

/* The words of s[0..n) before any '#': the first max stored in w, the
 * count of all returned. */
size_t cfg_split(const char *s, size_t n, struct cfg_word *w, size_t max);

bool cfg_word_is(const struct cfg_word *w, const char *s);
/* For "%.*s": at most CFG_QUOTE_MAX bytes of w. */
int cfg_quote_len(const struct cfg_word *w);

#endif
