/*
 * The Firecracker API calls that boot one Enclave guest, as data: which
 * method, path and JSON body, in which order. Pure (no I/O), so the
 * sequence is tested against the API's documented shapes (Firecracker's
 * swagger: BootSource, Drive, NetworkInterface, MachineConfiguration,
 * InstanceActionInfo) on machines where Firecracker cannot run.
 *
 *	PUT /boot-source                kernel, initrd, command line
 *	PUT /drives/rootfs              the runtime tree, read-only
 *	PUT /network-interfaces/eth0    the tap in the session netns
 *	PUT /machine-config             vCPUs, memory
 *	PUT /actions                    InstanceStart
 *
 * Paths on the host are as the VMM sees them: inside the jailer's chroot.
 */
#ifndef ENCLAVE_SESSIOND_FCAPI_H
#define ENCLAVE_SESSIOND_FCAPI_H

#include <stddef.h>

#define FC_REQUESTS_MAX	8

struct fc_config {
	const char *kernel;		/* ELF vmlinux */
	const char *initrd;
	const char *boot_args;
	const char *rootfs;		/* read-only drive "rootfs", or NULL */
	const char *tap;		/* host_dev_name */
	const char *mac;		/* guest_mac, or NULL */
	unsigned int vcpus;		/* 1..32 */
	unsigned int mem_mib;		/* >= 16 */
};

struct fc_request {
	const char *method;		/* static: "PUT" */
	char path[64];
	char *body;			/* compact JSON; owned */
};

/*
 * The calls for c into out[0..*n); 0, or -1 with err set (a field
 * missing or out of range, no memory). Free with fc_requests_free().
 */
int fc_requests(const struct fc_config *c, struct fc_request *out,
    size_t max, size_t *n, char *err, size_t errlen);
void fc_requests_free(struct fc_request *r, size_t n);

#endif
