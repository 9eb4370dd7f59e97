/*
 * libkvmi - tests/interop/libvirt-standin.c: a stand-in for the few libvirt
 * calls LibVMI's KVM driver makes (it dlopens libvirt.so / libvirt-qemu.so
 * to find the domain), for the LibVMI interop test only.  No KVM domain can
 * run here, so this answers for exactly one running domain, named by
 * KVMI_STANDIN_DOMAIN (default "fakehost") with id 1, and LibVMI goes on to
 * the KVMI socket.  Built twice: as libvirt.so (STANDIN_QEMU undefined) and
 * as libvirt-qemu.so (STANDIN_QEMU defined, virDomainQemuMonitorCommand);
 * the test puts their directory first in LD_LIBRARY_PATH.  Every call is
 * logged on stderr with a "libvirt-standin:" prefix so the test can see
 * that this library, not a real libvirt, answered.
 */
#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STANDIN_ID 1

/* libvirt's handles are opaque; ours only need to be distinct non-NULL */
struct _virConnect {
	int open;
};
struct _virDomain {
	virConnectPtr conn;
};

static void note(const char *call, const char *arg)
{
	fprintf(stderr, "libvirt-standin: %s(%s)\n", call, arg ? arg : "");
}

#ifndef STANDIN_QEMU

static const char *domain_name(void)
{
	const char *n = getenv("KVMI_STANDIN_DOMAIN");

	return n && *n ? n : "fakehost";
}

virConnectAuthPtr virConnectAuthPtrDefault;

virConnectPtr virConnectOpenAuth(const char *name, virConnectAuthPtr auth,
				 unsigned int flags)
{
	virConnectPtr c;

	(void)auth;
	(void)flags;
	note("virConnectOpenAuth", name);
	c = calloc(1, sizeof(*c));
	if (c)
		c->open = 1;
	return c;
}

int virConnectGetLibVersion(virConnectPtr conn, unsigned long *libVer)
{
	note("virConnectGetLibVersion", NULL);
	if (!conn || !libVer)
		return -1;
	*libVer = 9000000; /* 9.0.0, as Debian 12's libvirt */
	return 0;
}

int virConnectClose(virConnectPtr conn)
{
	note("virConnectClose", NULL);
	free(conn);
	return 0;
}

static virDomainPtr new_domain(virConnectPtr conn)
{
	virDomainPtr d = calloc(1, sizeof(*d));

	if (d)
		d->conn = conn;
	return d;
}

virDomainPtr virDomainLookupByName(virConnectPtr conn, const char *name)
{
	note("virDomainLookupByName", name);
	if (!conn || !name || strcmp(name, domain_name()) != 0)
		return NULL;
	return new_domain(conn);
}

virDomainPtr virDomainLookupByID(virConnectPtr conn, int id)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", id);
	note("virDomainLookupByID", buf);
	if (!conn || id != STANDIN_ID)
		return NULL;
	return new_domain(conn);
}

const char *virDomainGetName(virDomainPtr domain)
{
	note("virDomainGetName", NULL);
	return domain ? domain_name() : NULL;
}

unsigned int virDomainGetID(virDomainPtr domain)
{
	note("virDomainGetID", NULL);
	return domain ? STANDIN_ID : (unsigned int)-1;
}

int virDomainGetInfo(virDomainPtr domain, virDomainInfoPtr info)
{
	note("virDomainGetInfo", NULL);
	if (!domain || !info)
		return -1;
	memset(info, 0, sizeof(*info));
	info->state = VIR_DOMAIN_RUNNING;
	info->maxMem = info->memory = 64 * 1024; /* KiB, fakehost's default */
	info->nrVirtCpu = 2;
	return 0;
}

int virDomainFree(virDomainPtr domain)
{
	note("virDomainFree", NULL);
	free(domain);
	return 0;
}

/* pausing goes through KVMI in the KVMI driver: these must not be used */
int virDomainSuspend(virDomainPtr domain)
{
	(void)domain;
	note("virDomainSuspend (unsupported)", NULL);
	return -1;
}

int virDomainResume(virDomainPtr domain)
{
	(void)domain;
	note("virDomainResume (unsupported)", NULL);
	return -1;
}

#else /* STANDIN_QEMU */

/* the legacy (non-KVMI) driver's path: refused */
int virDomainQemuMonitorCommand(virDomainPtr domain, const char *cmd,
				char **result, unsigned int flags)
{
	(void)domain;
	(void)flags;
	note("virDomainQemuMonitorCommand (unsupported)", cmd);
	if (result)
		*result = NULL;
	return -1;
}

#endif
