/*
 * libkvmi - common.h: macros shared by every public header.
 *
 * KVMI_EXPORT marks the functions the shared library exports; everything
 * else is built with hidden visibility and the version script keeps only
 * kvmi_* names, so nothing but the documented API leaves the library.
 */
#ifndef KVMI_COMMON_H
#define KVMI_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#if defined(KVMI_BUILDING_LIBRARY)
#define KVMI_EXPORT __attribute__((visibility("default")))
#else
#define KVMI_EXPORT
#endif

#define KVMI_WARN_UNUSED __attribute__((warn_unused_result))

#ifdef __cplusplus
extern "C" {
#endif

/*
 * kvmi_version - the library's version string ("MAJOR.MINOR.PATCH").
 * Returns a static string; callable from any thread.
 */
KVMI_EXPORT const char *kvmi_version(void);

#ifdef __cplusplus
}
#endif

#endif /* KVMI_COMMON_H */
