/*
 * libkvmi - examples/unhookd/notify.c: readiness and stop notification
 * for a service manager (systemd Type=notify): "READY=1" once the
 * sockets listen, "RELOADING=1" / "READY=1" around a SIGHUP reload,
 * "STOPPING=1" when the stop begins.  With libsystemd (Debian package
 * libsystemd-dev, found by meson) this is sd_notify(); without it, the
 * same protocol in a few lines: one datagram holding the state line,
 * sent to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or '@' for
 * an abstract name).  Nothing happens when $NOTIFY_SOCKET is unset.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unhookd.h"

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>

void notify(const char *state)
{
	int r = sd_notify(0, state);

	if (r < 0)
		logkv("warning", "event=notify-failed state=%s error=%s", state,
		      strerror(-r));
}
#else
#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

void notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = path ? strlen(path) : 0;
	int fd, err = 0;

	if (!len)
		return;
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path)) {
		logkv("warning", "event=notify-failed state=%s error=bad-"
				 "NOTIFY_SOCKET", state);
		return;
	}
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = 0; /* abstract namespace */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		err = errno;
	if (fd >= 0)
		close(fd);
	if (err)
		logkv("warning", "event=notify-failed state=%s error=%s", state,
		      strerror(err));
}
#endif
