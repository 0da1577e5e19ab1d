/*
 * The Firecracker request sequence against the shapes its API documents
 * (src/firecracker/swagger/firecracker.yaml): required fields present,
 * types right, no field the schema does not have, ids in the path equal
 * to the ids in the body, InstanceStart last.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "sessiond/fcapi.h"

static void
example(struct fc_config *c)
{
	memset(c, 0, sizeof(*c));
	c->kernel = "/vmlinux";
	c->initrd = "/initrd";
	c->boot_args = "console=ttyS0 reboot=k panic=-1 pci=off enclave.usr=vda";
	c->rootfs = "/usr.ext4";
	c->tap = "tap0";
	c->mac = "52:54:c6:13:00:03";
	c->vcpus = 1;
	c->mem_mib = 384;
}

static json_t *
body(const struct fc_request *r)
{
	json_error_t e;
	json_t *j = json_loads(r->body, JSON_REJECT_DUPLICATES, &e);

	assert_non_null(j);
	assert_true(json_is_object(j));
	/* One compact line: the client sends it as it is. */
	assert_null(strchr(r->body, '\n'));
	return j;
}

/* Every key is in the schema's properties; every required one is there. */
static void
shape(json_t *j, const char *const props[], const char *const required[])
{
	const char *key;
	json_t *v;
	size_t i;
	int found;

	json_object_foreach(j, key, v) {
		found = 0;
		for (i = 0; props[i] != NULL; i++)
			found |= strcmp(props[i], key) == 0;
		if (!found)
			fail_msg("field %s is not in the schema", key);
	}
	for (i = 0; required[i] != NULL; i++)
		if (json_object_get(j, required[i]) == NULL)
			fail_msg("required field %s missing", required[i]);
}

static const char *
str(json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

static void
test_sequence(void **state)
{
	static const char *const boot_props[] = { "boot_args", "initrd_path",
	    "kernel_image_path", NULL };
	static const char *const boot_req[] = { "kernel_image_path", NULL };
	static const char *const drive_props[] = { "drive_id", "partuuid",
	    "is_root_device", "cache_type", "is_read_only", "path_on_host",
	    "rate_limiter", "io_engine", "socket", NULL };
	/* virtio-block needs path_on_host and is_read_only too. */
	static const char *const drive_req[] = { "drive_id", "is_root_device",
	    "is_read_only", "path_on_host", NULL };
	static const char *const net_props[] = { "guest_mac", "host_dev_name",
	    "iface_id", "mtu", "rx_rate_limiter", "tx_rate_limiter", NULL };
	static const char *const net_req[] = { "host_dev_name", "iface_id",
	    NULL };
	static const char *const mc_props[] = { "cpu_template", "smt",
	    "mem_size_mib", "track_dirty_pages", "vcpu_count", "huge_pages",
	    NULL };
	static const char *const mc_req[] = { "mem_size_mib", "vcpu_count",
	    NULL };
	static const char *const act_props[] = { "action_type", NULL };
	struct fc_request r[FC_REQUESTS_MAX];
	struct fc_config c;
	char err[256];
	unsigned int mac[6];
	size_t n = 0, i;
	json_t *j;

	(void)state;
	example(&c);
	assert_int_equal(fc_requests(&c, r, FC_REQUESTS_MAX, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 5);
	for (i = 0; i < n; i++)
		assert_string_equal(r[i].method, "PUT");

	assert_string_equal(r[0].path, "/boot-source");
	j = body(&r[0]);
	shape(j, boot_props, boot_req);
	assert_string_equal(str(j, "kernel_image_path"), "/vmlinux");
	assert_string_equal(str(j, "initrd_path"), "/initrd");
	assert_string_equal(str(j, "boot_args"), c.boot_args);
	json_decref(j);

	/* The drive's id is the path's last segment. */
	assert_string_equal(r[1].path, "/drives/rootfs");
	j = body(&r[1]);
	shape(j, drive_props, drive_req);
	assert_string_equal(str(j, "drive_id"), "rootfs");
	assert_string_equal(str(j, "path_on_host"), "/usr.ext4");
	assert_true(json_is_false(json_object_get(j, "is_root_device")));
	assert_true(json_is_true(json_object_get(j, "is_read_only")));
	json_decref(j);

	assert_string_equal(r[2].path, "/network-interfaces/eth0");
	j = body(&r[2]);
	shape(j, net_props, net_req);
	assert_string_equal(str(j, "iface_id"), "eth0");
	assert_string_equal(str(j, "host_dev_name"), "tap0");
	assert_int_equal(sscanf(str(j, "guest_mac"), "%2x:%2x:%2x:%2x:%2x:%2x",
	    &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]), 6);
	json_decref(j);

	assert_string_equal(r[3].path, "/machine-config");
	j = body(&r[3]);
	shape(j, mc_props, mc_req);
	assert_true(json_is_integer(json_object_get(j, "vcpu_count")));
	assert_int_equal(json_integer_value(json_object_get(j, "vcpu_count")),
	    1);
	assert_int_equal(json_integer_value(json_object_get(j,
	    "mem_size_mib")), 384);
	assert_true(json_is_boolean(json_object_get(j, "smt")));
	json_decref(j);

	/* Start comes last, once everything is configured. */
	assert_string_equal(r[4].path, "/actions");
	j = body(&r[4]);
	shape(j, act_props, act_props);
	assert_string_equal(str(j, "action_type"), "InstanceStart");
	json_decref(j);

	fc_requests_free(r, n);
	for (i = 0; i < n; i++)
		assert_null(r[i].body);
}

static void
test_optional_parts(void **state)
{
	struct fc_request r[FC_REQUESTS_MAX];
	struct fc_config c;
	char err[256];
	size_t n = 0, i;
	json_t *j;

	(void)state;
	example(&c);
	c.rootfs = NULL;
	c.mac = NULL;
	assert_int_equal(fc_requests(&c, r, FC_REQUESTS_MAX, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 4);
	for (i = 0; i < n; i++)
		assert_null(strstr(r[i].path, "/drives"));
	j = body(&r[1]);
	assert_null(json_object_get(j, "guest_mac"));
	json_decref(j);
	fc_requests_free(r, n);

	/* Two vCPUs is allowed (1 or even), and the same config gives the
	 * same bytes. */
	example(&c);
	c.vcpus = 2;
	assert_int_equal(fc_requests(&c, r, FC_REQUESTS_MAX, &n, err,
	    sizeof(err)), 0);
	{
		struct fc_request r2[FC_REQUESTS_MAX];
		size_t n2 = 0;

		assert_int_equal(fc_requests(&c, r2, FC_REQUESTS_MAX, &n2, err,
		    sizeof(err)), 0);
		assert_int_equal(n, n2);
		for (i = 0; i < n; i++)
			assert_string_equal(r[i].body, r2[i].body);
		fc_requests_free(r2, n2);
	}
	fc_requests_free(r, n);
}

static void
test_refused(void **state)
{
	struct fc_request r[FC_REQUESTS_MAX];
	struct fc_config c;
	char err[256];
	size_t n = 99;

	(void)state;
	example(&c);
	c.kernel = NULL;
	assert_int_equal(fc_requests(&c, r, FC_REQUESTS_MAX, &n, err,
	    sizeof(err)), -1);
	assert_int_equal(n, 0);
	assert_non_null(strstr(err, "kernel"));

	example(&c);
	c.tap = "";
	assert_int_equal(fc_requests(&c, r, FC_REQUESTS_MAX, &n, err,
	    sizeof(err)), -1);

	example(&c);
	c.vcpus = 3;
	assert_int_equal(fc_requests(&c, r, FC_REQUESTS_MAX, &n, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "vcpu_count"));
	c.vcpus = 0;
	assert_int_equal(fc_requests(&c, r, FC_REQUESTS_MAX, &n, err,
	    sizeof(err)), -1);

	example(&c);
	c.mem_mib = 8;
	assert_int_equal(fc_requests(&c, r, FC_REQUESTS_MAX, &n, err,
	    sizeof(err)), -1);

	/* No room for the sequence: nothing half-built is left. */
	example(&c);
	assert_int_equal(fc_requests(&c, r, 3, &n, err, sizeof(err)), -1);
	assert_int_equal(n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequence),
		cmocka_unit_test(test_optional_parts),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
