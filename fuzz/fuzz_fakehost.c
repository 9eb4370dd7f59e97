/*
 * libkvmi - fuzz_fakehost.c: libFuzzer target for kvmi-fakehost's command
 * handler: arbitrary tool->host bytes fed to a model guest (chunk size
 * from the first byte), with the guest's vCPUs run between chunks.  The
 * simulated host must close the channel on bad input, never crash or
 * leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fh_vm_config cfg;
	struct fh_vm *vm;
	size_t chunk, pos = 1;

	if (size < 1)
		return 0;
	static const uint64_t hot[] = {0x3000, 0x3010, 0x5008};

	memset(&cfg, 0, sizeof(cfg));
	cfg.vcpus = 2;
	cfg.max_vcpus = 3;
	cfg.mem_mb = 4;
	cfg.seed = 1;
	cfg.hot_gpas = hot;
	cfg.n_hot_gpas = 3;
	cfg.hot_generated = 4;
	chunk = (size_t)data[0] * 8 + 1;
	if (fh_vm_new(&cfg, &vm))
		abort();
	while (pos < size && !vm->closed) {
		size_t n = size - pos < chunk ? size - pos : chunk;

		fh_vm_feed(vm, data + pos, n);
		pos += n;
		fh_vm_run(vm);
		vm->out.len = 0; /* the tool "read" what the host sent */
	}
	fh_vm_disconnect(vm);
	fh_vm_free(vm);
	return 0;
}
