#include <stdio.h>
#include <string.h>

#include "common/name.h"

/* Names become path components under /run/netns and interface names, so
 * only a conservative alphabet is accepted: no '/', no dot-only names, no
 * leading '-' that a tool could read as an option. */
static int
name_check(const char *name, size_t max, const char **why)
{
	size_t i, len;

	if (name == NULL || (len = strlen(name)) == 0) {
		*why = "empty name";
		return -1;
	}
	if (len > max) {
		*why = "name too long";
		return -1;
	}
	if (name[0] == '-' || name[0] == '.') {
		*why = "name must not start with '-' or '.'";
		return -1;
	}
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) {
			*why = "name may hold only letters, digits, '-', '_' and '.'";
			return -1;
		}
	}
	return 0;
}

int
netns_name_valid(const char *name, const char **why)
{
	return name_check(name, NETNS_NAME_MAX, why);
}

int
netns_ifname_valid(const char *name, const char **why)
{
	return name_check(name, NETNS_IFNAME_MAX, why);
}

int
netns_path(const char *name, char *buf, size_t len, const char **why)
{
	int n;

	if (netns_name_valid(name, why) == -1)
		return -1;
	n = snprintf(buf, len, "%s/%s", NETNS_RUN_DIR, name);
	if (n < 0 || (size_t)n >= len) {
		*why = "path buffer too small";
		return -1;
	}
	return 0;
}
