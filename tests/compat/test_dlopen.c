/*
 * libkvmi - tests/compat/test_dlopen.c: what LibVMI's KVM driver does at
 * start - dlopen("libkvmi.so", RTLD_NOW | RTLD_GLOBAL) and dlsym() of the
 * 39 functions it needs (facts page sec. 7); any one missing makes it
 * refuse to start.  argv[1]: the library's path (the libkvmi.so link).
 * Also checks each resolves to the KVMI_1.0 version (dlvsym).
 */
#include <dlfcn.h>
#include <stdio.h>

static const char *const needed[] = {
    "kvmi_init_unix_socket",
    "kvmi_init_vsock",
    "kvmi_uninit",
    "kvmi_close",
    "kvmi_set_log_cb",
    "kvmi_domain_close",
    "kvmi_connection_fd",
    "kvmi_get_version",
    "kvmi_get_pending_events",
    "kvmi_control_events",
    "kvmi_control_vm_events",
    "kvmi_control_cr",
    "kvmi_control_msr",
    "kvmi_control_singlestep",
    "kvmi_wait_event",
    "kvmi_pop_event",
    "kvmi_reply_event",
    "kvmi_pause_all_vcpus",
    "kvmi_get_tsc_speed",
    "kvmi_get_vcpu_count",
    "kvmi_inject_exception",
    "kvmi_get_registers",
    "kvmi_set_registers",
    "kvmi_read_physical",
    "kvmi_write_physical",
    "kvmi_set_page_access",
    "kvmi_get_maximum_gfn",
    "kvmi_get_next_available_gfn",
    "kvmi_spp_support",
    "kvmi_ve_support",
    "kvmi_vmfunc_support",
    "kvmi_eptp_support",
    "kvmi_create_ept_view",
    "kvmi_destroy_ept_view",
    "kvmi_switch_ept_view",
    "kvmi_get_ept_view",
    "kvmi_change_gfn",
    "kvmi_alloc_gfn",
    "kvmi_free_gfn",
};

int main(int argc, char **argv)
{
	size_t n = sizeof(needed) / sizeof(needed[0]);
	int missing = 0;
	void *h;

	if (argc != 2 || n != 39) {
		fprintf(stderr, "usage: %s LIBKVMI.SO (39 names: %zu)\n",
			argv[0], n);
		return 2;
	}
	h = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
	if (!h) {
		fprintf(stderr, "dlopen %s: %s\n", argv[1], dlerror());
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		void *p = dlsym(h, needed[i]);

		if (!p || dlvsym(h, needed[i], "KVMI_1.0") != p) {
			fprintf(stderr, "%s: %s\n", needed[i],
				p ? "not the KVMI_1.0 version" : dlerror());
			missing++;
		}
	}
	dlclose(h);
	printf("%zu of 39 LibVMI functions resolved in KVMI_1.0\n",
	       n - missing);
	return missing ? 1 : 0;
}
