/*
 * Replays a fuzz target's committed corpus without libFuzzer, so every
 * corpus entry (and every crash turned regression input) runs under gcc in
 * `make check`. Prints TAP: one test point per file. A crash or abort in the
 * target fails the whole binary, which the TAP driver reports.
 *
 * replay_<name> replays $abs_top_srcdir/tests/fuzz/corpus/<name> (make check
 * exports abs_top_srcdir); a directory given as the argument overrides it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Bigger inputs than this are not corpus material; refuse rather than OOM. */
#define REPLAY_MAX_INPUT (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads the whole file into a malloc'd buffer; the target gets exactly its
 * bytes, in an allocation of exactly that size so ASan sees over-reads. */
static int
read_input(const char *path, uint8_t **out, size_t *outlen)
{
	FILE *f;
	struct stat st;
	uint8_t *buf;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	if (fstat(fileno(f), &st) == -1 || st.st_size < 0 ||
	    (size_t)st.st_size > REPLAY_MAX_INPUT) {
		fclose(f);
		errno = EFBIG;
		return -1;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (buf == NULL) {
		fclose(f);
		return -1;
	}
	if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		free(buf);
		fclose(f);
		errno = EIO;
		return -1;
	}
	fclose(f);
	*out = buf;
	*outlen = (size_t)st.st_size;
	return 0;
}

/* The corpus is named after the binary: replay_ip → corpus/ip. */
static int
corpus_dir(const char *argv0, char *buf, size_t len)
{
	const char *top = getenv("abs_top_srcdir");
	const char *base = strrchr(argv0, '/');
	int n;

	base = base ? base + 1 : argv0;
	if (strncmp(base, "replay_", 7) != 0 || base[7] == '\0') {
		printf("Bail out! cannot tell the corpus from the name %s\n", base);
		return -1;
	}
	if (top == NULL) {
		printf("Bail out! abs_top_srcdir is not set; pass the corpus directory\n");
		return -1;
	}
	n = snprintf(buf, len, "%s/tests/fuzz/corpus/%s", top, base + 7);
	if (n < 0 || (size_t)n >= len) {
		printf("Bail out! corpus path too long\n");
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	char dirbuf[4096];
	const char *dir = argv[1];
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int failed = 0;

	if (argc < 2) {
		if (corpus_dir(argv[0], dirbuf, sizeof(dirbuf)) == -1)
			return 1;
		dir = dirbuf;
	}
	if ((d = opendir(dir)) == NULL) {
		printf("Bail out! cannot open corpus %s: %s\n", dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nn;

			cap = cap ? cap * 2 : 64;
			if ((nn = realloc(names, cap * sizeof(*names))) == NULL)
				abort();
			names = nn;
		}
		if ((names[n++] = strdup(de->d_name)) == NULL)
			abort();
	}
	closedir(d);
	if (n == 0) {
		printf("Bail out! corpus %s is empty\n", dir);
		return 1;
	}
	qsort(names, n, sizeof(*names), name_cmp);

	printf("1..%zu\n", n);
	for (i = 0; i < n; i++) {
		char path[4096];
		uint8_t *buf;
		size_t len;
		int plen;

		plen = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (plen < 0 || (size_t)plen >= sizeof(path)) {
			printf("not ok %zu - %s # path too long\n", i + 1, names[i]);
			failed = 1;
		} else if (read_input(path, &buf, &len) == -1) {
			printf("not ok %zu - %s # %s\n", i + 1, names[i], strerror(errno));
			failed = 1;
		} else {
			LLVMFuzzerTestOneInput(buf, len);
			free(buf);
			printf("ok %zu - %s\n", i + 1, names[i]);
		}
		fflush(stdout);
		free(names[i]);
	}
	free(names);
	return failed;
}
