/*
 * The Firecracker API calls that boot one guest. See fcapi.h.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/err.h"
#include "sessiond/fcapi.h"

/* Appends one PUT; takes the reference to body. */
static int
fc_put(struct fc_request *out, size_t max, size_t *n, const char *path,
    json_t *body, char *err, size_t errlen)
{
	char *text;

	if (body == NULL)
		return err_set(err, errlen, "firecracker %s: out of memory",
		    path);
	/* Sorted keys: the same config always gives the same bytes. */
	text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(body);
	if (text == NULL)
		return err_set(err, errlen, "firecracker %s: out of memory",
		    path);
	if (*n >= max) {
		free(text);
		return err_set(err, errlen, "firecracker: too many requests");
	}
	out[*n].method = "PUT";
	snprintf(out[*n].path, sizeof(out[*n].path), "%s", path);
	out[*n].body = text;
	(*n)++;
	return 0;
}

void
fc_requests_free(struct fc_request *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(r[i].body);
		r[i].body = NULL;
	}
}

int
fc_requests(const struct fc_config *c, struct fc_request *out, size_t max,
    size_t *n, char *err, size_t errlen)
{
	json_t *j;

	*n = 0;
	if (c->kernel == NULL || c->initrd == NULL || c->boot_args == NULL ||
	    c->tap == NULL || c->kernel[0] == '\0' || c->tap[0] == '\0')
		return err_set(err, errlen, "firecracker: kernel, initrd, "
		    "boot_args and tap are required");
	if (c->vcpus < 1 || c->vcpus > 32 || (c->vcpus > 1 && c->vcpus % 2))
		return err_set(err, errlen, "firecracker: vcpu_count must be 1 "
		    "or an even number up to 32");
	if (c->mem_mib < 16)
		return err_set(err, errlen, "firecracker: mem_size_mib too "
		    "small");
	if (fc_put(out, max, n, "/boot-source", json_pack("{s:s, s:s, s:s}",
	    "kernel_image_path", c->kernel, "initrd_path", c->initrd,
	    "boot_args", c->boot_args), err, errlen) == -1)
		goto fail;
	/* Not the root: the initramfs is. The drive only holds /usr. */
	if (c->rootfs != NULL && fc_put(out, max, n, "/drives/rootfs",
	    json_pack("{s:s, s:s, s:b, s:b}", "drive_id", "rootfs",
	    "path_on_host", c->rootfs, "is_root_device", 0,
	    "is_read_only", 1), err, errlen) == -1)
		goto fail;
	j = json_pack("{s:s, s:s}", "iface_id", "eth0", "host_dev_name",
	    c->tap);
	if (j != NULL && c->mac != NULL &&
	    json_object_set_new(j, "guest_mac", json_string(c->mac)) == -1) {
		json_decref(j);
		j = NULL;
	}
	if (fc_put(out, max, n, "/network-interfaces/eth0", j, err,
	    errlen) == -1)
		goto fail;
	if (fc_put(out, max, n, "/machine-config", json_pack("{s:i, s:i, s:b}",
	    "vcpu_count", (int)c->vcpus, "mem_size_mib", (int)c->mem_mib,
	    "smt", 0), err, errlen) == -1)
		goto fail;
	if (fc_put(out, max, n, "/actions", json_pack("{s:s}", "action_type",
	    "InstanceStart"), err, errlen) == -1)
		goto fail;
	return 0;
fail:
	fc_requests_free(out, *n);
	*n = 0;
	return -1;
}
