// SPDX-License-Identifier: Apache-2.0
/*
 * listener.c -- listening SOCK_SEQPACKET sockets and their socket files
 *
 * A socket file left behind by a daemon that died is replaced; one that a
 * live daemon still listens on is left alone and start-up fails, so two
 * daemons never serve the same path.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

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
	}
}

/*
 * listener_open -- bind and listen on path with the given file mode
 *
 * The umask is narrowed around bind() so the socket file never exists with
 * a wider mode than asked, not even between bind() and chmod().
 */
int listener_open(struct listener *l, struct server *srv, enum conn_kind kind,
		  const char *path, mode_t mode)
{
	struct sockaddr_un sa;
	mode_t old_mask;
	int fd, r;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->srv = srv;
	l->kind = kind;
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
