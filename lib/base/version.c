/*
 * libkvmi - version.c: kvmi_version().
 */
#include <kvmi/common.h>
#include <kvmi/version.h>

KVMI_EXPORT const char *kvmi_version(void)
{
	return KVMI_LIB_VERSION_STRING;
}
