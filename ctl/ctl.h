#ifndef ENCLAVE_CTL_CTL_H
#define ENCLAVE_CTL_CTL_H

#include <stdio.h>

/* Exit statuses of enclavectl. */
#define CTL_EXIT_OK	0
#define CTL_EXIT_FAIL	1	/* the command ran and found a problem */
#define CTL_EXIT_USAGE	2	/* bad arguments, or it could not run */

/* The whole CLI, writing to out/err so tests can drive it in-process. */
int ctl_main(int argc, char **argv, FILE *out, FILE *err);

#endif
