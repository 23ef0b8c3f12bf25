// SPDX-License-Identifier: Apache-2.0
/*
 * listener.c -- listening SOCK_SEQPACKET sockets and their socket files
 *
 * A socket file left behind by a daemon that died is replaced; one that a
 * live daemon still listens on is left alone and start-up fails, so two
 * daemons never serve the same path.  Under socket activation systemd
 * owns the sockets and their files: we take them by name and never
 * unlink them.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "listener.h"
#include "log.h"
#include "server.h"

#define LISTENER_BACKLOG 128

/* listener_addr -- fill a sockaddr_un; -ENAMETOOLONG if path does not fit */
static int listener_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

/*
 * listener_clear_stale -- make path free for bind(), unless someone lives
 *
 * A connect() that is refused means nobody listens: the file is a leftover
 * and is removed.  A connect() that succeeds, or that fails for any other
 * reason (another socket type answers with EPROTOTYPE), means the path is
 * in use.
 */
static int listener_clear_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_err("%s exists and is not a socket; refusing to replace it",
			path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	if (r == 0 || errno != ECONNREFUSED) {
		r = r == 0 ? 0 : errno;
		close(fd);
		log_err("%s is in use%s%s: is another daxallocd running?", path,
			r ? ": " : "", r ? strerror(r) : "");
		return -EADDRINUSE;
	}
	close(fd);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	log_notice("replaced stale socket %s", path);
	return 0;
}

/* listener_mkdir_parent -- create the socket's folder if it is missing */
static int listener_mkdir_parent(const char *path)
{
	char *copy = strdup(path);
	int r = 0;

	if (!copy)
		return -ENOMEM;
	if (mkdir(dirname(copy), 0755) < 0 && errno != EEXIST)
		r = -errno;
	free(copy);
	return r;
}

/* listener_accept_cb -- accept what is queued, shedding load on EMFILE */
static void listener_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener *l = w->data;
	int i;

	/* Bounded so that one busy socket cannot starve the other. */
	for (i = 0; i < 16; i++) {
		int fd = accept4(l->fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				server_accept_pause(l->srv);
				return;
			}
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept on %s: %s", l->path,
					 strerror(errno));
			return;
		}
		conn_accept(l->srv, fd, l->kind);
		/* It ran out of descriptors identifying the peer. */
		if (l->srv->accept_paused)
			return;
	}
}

/* listener_kind_by_name -- the connection kind a FileDescriptorName= names */
static int listener_kind_by_name(const char *name)
{
	unsigned int k;

	for (k = 0; k < CONN_KIND_COUNT; k++)
		if (!strcmp(name, conn_kind_name(k)))
			return (int)k;
	return -1;
}

/*
 * listener_activated -- the listening sockets systemd passed us, by name
 *
 * daxallocd.socket says FileDescriptorName=client, daxallocd-control.socket
 * FileDescriptorName=control.  fds[kind] is the descriptor, or -1 for a
 * socket we must create ourselves.  A passed descriptor with another name,
 * a second one of a kind, or one that is not a listening SOCK_SEQPACKET
 * Unix socket is closed with a warning: serving the wrong socket would be
 * worse than serving our own.  The environment is unset so nothing we
 * start inherits it.
 */
int listener_activated(int fds[CONN_KIND_COUNT])
{
	char **names = NULL;
	unsigned int k;
	int i, n;

	for (k = 0; k < CONN_KIND_COUNT; k++)
		fds[k] = -1;
	n = sd_listen_fds_with_names(1, &names);
	if (n < 0) {
		log_err("socket activation: %s", strerror(-n));
		return n;
	}
	for (i = 0; i < n; i++) {
		const char *name = names && names[i] ? names[i] : "unknown";
		int fd = SD_LISTEN_FDS_START + i;
		int kind = listener_kind_by_name(name);

		if (kind < 0 || fds[kind] >= 0 ||
		    sd_is_socket_unix(fd, SOCK_SEQPACKET, 1, NULL, 0) <= 0) {
			log_warn("socket activation: descriptor %d (FileDescriptorName=%s) is %s; closing it",
				 fd, name,
				 kind < 0 ? "neither 'client' nor 'control'" :
				 fds[kind] >= 0 ? "a second one of its name" :
						  "not a listening SOCK_SEQPACKET Unix socket");
			close(fd);
			continue;
		}
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
		    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
			log_warn("socket activation: descriptor %d: %s", fd,
				 strerror(errno));
		fds[kind] = fd;
	}
	for (i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
	return 0;
}

/*
 * listener_adopt -- serve a socket systemd passed us
 *
 * Its address is what the socket unit says; a configured path that differs
 * is logged, since clients that follow the configuration would miss it.
 */
static int listener_adopt(struct listener *l, int fd, const char *path)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	const char *bound = path;

	memset(&sa, 0, sizeof(sa));
	if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0 &&
	    len > offsetof(struct sockaddr_un, sun_path) && sa.sun_path[0]) {
		sa.sun_path[sizeof(sa.sun_path) - 1] = '\0';
		bound = sa.sun_path;
	}
	if (strcmp(bound, path))
		log_notice("the %s socket from systemd is %s, not the configured %s",
			   conn_kind_name(l->kind), bound, path);
	l->path = strdup(bound);
	if (!l->path) {
		close(fd);
		return -ENOMEM;
	}
	l->fd = fd;
	l->owns_file = false;
	ev_io_init(&l->io, listener_accept_cb, fd, EV_READ);
	l->io.data = l;
	log_info("listening on %s (%s socket, from systemd)", l->path,
		 conn_kind_name(l->kind));
	return 0;
}

/*
 * listener_open -- bind and listen on path with the given file mode
 *
 * activated_fd >= 0 is a socket from systemd (listener_activated()), served
 * as it is; the listener owns it from here, also on failure.
 *
 * The umask is narrowed around bind() so the socket file never exists with
 * a wider mode than asked, not even between bind() and chmod().
 */
int listener_open(struct listener *l, struct server *srv, enum conn_kind kind,
		  const char *path, mode_t mode, int activated_fd)
{
	struct sockaddr_un sa;
	mode_t old_mask;
	int fd, r;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->srv = srv;
	l->kind = kind;
	if (activated_fd >= 0)
		return listener_adopt(l, activated_fd, path);
	r = listener_addr(path, &sa);
	if (r < 0) {
		log_err("socket path %s is too long", path);
		return r;
	}
	l->path = strdup(path);
	if (!l->path)
		return -ENOMEM;
	r = listener_mkdir_parent(path);
	if (r < 0) {
		log_err("cannot create the folder of %s: %s", path, strerror(-r));
		goto err_path;
	}
	r = listener_clear_stale(path, &sa);
	if (r < 0)
		goto err_path;

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		goto err_path;
	}
	old_mask = umask(0777 & ~mode);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_mask);
	if (r < 0) {
		r = -errno;
		log_err("bind %s: %s", path, strerror(-r));
		goto err_fd;
	}
	l->owns_file = true;
	if (chmod(path, mode) < 0 || listen(fd, LISTENER_BACKLOG) < 0) {
		r = -errno;
		log_err("listen on %s: %s", path, strerror(-r));
		goto err_unlink;
	}
	l->fd = fd;
	ev_io_init(&l->io, listener_accept_cb, fd, EV_READ);
	l->io.data = l;
	log_info("listening on %s (%s socket, mode %04o)", path,
		 conn_kind_name(kind), (unsigned int)mode);
	return 0;

err_unlink:
	unlink(path);
	l->owns_file = false;
err_fd:
	close(fd);
err_path:
	free(l->path);
	l->path = NULL;
	return r;
}

/* listener_start -- watch for new connections */
void listener_start(struct listener *l)
{
	if (l->fd >= 0)
		ev_io_start(l->srv->loop, &l->io);
}

/* listener_stop -- stop watching, keep the socket */
void listener_stop(struct listener *l)
{
	if (l->fd >= 0)
		ev_io_stop(l->srv->loop, &l->io);
}

/* listener_close -- stop, close and remove the socket file we created */
void listener_close(struct listener *l)
{
	if (l->fd < 0)
		return;
	listener_stop(l);
	/*
	 * Unlink before close: while we still listen, no successor can have
	 * judged the file stale and replaced it, so the file is still ours.
	 */
	if (l->owns_file)
		unlink(l->path);
	close(l->fd);
	l->fd = -1;
	free(l->path);
	l->path = NULL;
}
