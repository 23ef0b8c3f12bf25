// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_revoke.c -- daxallocctl revoke
 *
 * Sends one RevokeRequest and says what the daemon did: how many processes
 * got a lease break and when their grace ends.  With --wait it then polls
 * the process list until the grace has passed and the daemon has acted,
 * and reports each process's outcome and what is left in the quarantine.
 * docs/core-rule.md is the operator's guide to this command.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

static const char cmd_revoke_usage[] =
	"Usage: daxallocctl revoke [--json] [--pid PID] [--extent ID|NAME]\n"
	"                          [--uid UID|USER] [--grace SECONDS] [--kill]\n"
	"                          [--force-unsafe] [--wait]\n"
	"Take away leases and pins from client processes.  Every process that\n"
	"matches all the criteria given (at least one of --pid, --extent, --uid)\n"
	"gets a lease break for what it holds (on EXTENT only, with --extent).\n"
	"A process that acknowledges in time keeps running and has released\n"
	"those holds.  One that does not is revoked when the grace ends: the\n"
	"daemon no longer counts its holds, but the memory it held stays in the\n"
	"quarantine as long as the process lives, since it may still write\n"
	"there.  --kill ends such a process so that the memory can be freed.\n"
	"\n"
	"  -p, --pid PID          processes with this pid\n"
	"  -e, --extent ID|NAME   holds on this extent (a name of digits is\n"
	"                         name:DIGITS)\n"
	"  -u, --uid UID|USER     processes of this user\n"
	"  -g, --grace SECONDS    time to acknowledge, 0 to 604800 (a week); 0\n"
	"                         revokes at once (default: the daemon's\n"
	"                         lease_break_time, 45 s unless configured)\n"
	"  -k, --kill             after the grace, SIGKILL (through a pidfd) the\n"
	"                         processes that did not acknowledge; their\n"
	"                         memory is freed once they have exited\n"
	"      --force-unsafe     after the grace, free the memory of the\n"
	"                         processes that did not acknowledge at once,\n"
	"                         although they live: UNSAFE, a live process or\n"
	"                         a device it programmed may still write into\n"
	"                         memory that then belongs to someone else.\n"
	"                         Not with --kill\n"
	"  -w, --wait             wait until the grace has passed and the daemon\n"
	"                         has acted, then report each process's outcome\n"
	"  -j, --json             JSON output\n"
	"  -h, --help             this help\n"
	"\n"
	"Exit status: 0 done (with --wait: every process released, was revoked\n"
	"or exited), 1 the daemon refused, nothing matched, or (with --wait) a\n"
	"process still holds, 2 usage error, 3 no daemon answers.\n"
	"See docs/core-rule.md, \"A client that never unpins\".\n";

/* The longest grace the daemon accepts: a week. */
#define REVOKE_GRACE_MAX (7 * 86400)

/* After the grace: how long --wait gives the daemon to act, and how often
 * it looks. */
#define REVOKE_SETTLE_MS 10000
#define REVOKE_POLL_MS 250

/* What became of a process the revoke matched (--wait). */
enum revoke_outcome {
	REVOKE_HOLDING, /* still holds what was revoked */
	REVOKE_RELEASED, /* acknowledged: it no longer holds it */
	REVOKE_REVOKED, /* revoked, still alive */
	REVOKE_EXITED, /* gone */
};

static const char *const revoke_outcome_names[] = {
	[REVOKE_HOLDING] = "holding",
	[REVOKE_RELEASED] = "released",
	[REVOKE_REVOKED] = "revoked",
	[REVOKE_EXITED] = "exited",
};

static const char *const revoke_outcome_text[] = {
	[REVOKE_HOLDING] = "still holds: the daemon has not revoked it yet",
	[REVOKE_RELEASED] = "acknowledged and released its holds",
	[REVOKE_REVOKED] =
		"revoked; what it held cannot be reused while it lives",
	[REVOKE_EXITED] = "exited; what it held is freed",
};

struct revoke_target {
	uint32_t pid;
	uint64_t start_time;
	char name[64];
	enum revoke_outcome outcome;
};

struct revoke {
	Daxalloc__RevokeRequest req;
	const char *extent_arg;
	bool wait;
	struct revoke_target *targets;
	size_t ntargets;
};

/* revoke_parse_u32 -- a decimal number from 0 to max; -EINVAL otherwise */
static int revoke_parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end || errno || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* revoke_parse_uid -- a uid in digits, or a user name */
static int revoke_parse_uid(const char *s, uint32_t *uid)
{
	struct passwd *pw;

	if (!revoke_parse_u32(s, UINT32_MAX - 1, uid))
		return 0;
	errno = 0;
	pw = getpwnam(s);
	if (!pw)
		return errno ? -errno : -ENOENT;
	*uid = pw->pw_uid;
	return 0;
}

/*
 * revoke_parse -- the command line into rv
 *
 * Returns -1 when the command must exit at once with *exit_status, else 0.
 */
static int revoke_parse(struct ctl *ctl, struct revoke *rv, int argc,
			char **argv, int *exit_status)
{
	enum { OPT_FORCE_UNSAFE = 256 };
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "extent", required_argument, NULL, 'e' },
		{ "uid", required_argument, NULL, 'u' },
		{ "grace", required_argument, NULL, 'g' },
		{ "kill", no_argument, NULL, 'k' },
		{ "force-unsafe", no_argument, NULL, OPT_FORCE_UNSAFE },
		{ "wait", no_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, r;

	*exit_status = CTL_EXIT_USAGE;
	/* 0, not 1: glibc re-initialises getopt, as main() already used it. */
	optind = 0;
	while ((c = getopt_long(argc, argv, "p:e:u:g:kwjh", opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'p':
			if (revoke_parse_u32(optarg, INT32_MAX, &rv->req.pid) ||
			    !rv->req.pid) {
				fprintf(stderr, "daxallocctl: bad pid '%s'\n",
					optarg);
				return -1;
			}
			break;
		case 'e':
			rv->extent_arg = optarg;
			break;
		case 'u':
			r = revoke_parse_uid(optarg, &rv->req.uid);
			if (r < 0) {
				fprintf(stderr,
					"daxallocctl: unknown user '%s'%s%s\n",
					optarg, r == -ENOENT ? "" : ": ",
					r == -ENOENT ? "" : strerror(-r));
				return -1;
			}
			rv->req.by_uid = true;
			break;
		case 'g':
			if (revoke_parse_u32(optarg, REVOKE_GRACE_MAX,
					     &rv->req.grace_s)) {
				fprintf(stderr,
					"daxallocctl: --grace takes seconds from 0 to %u, not '%s'\n",
					REVOKE_GRACE_MAX, optarg);
				return -1;
			}
			rv->req.grace_set = true;
			break;
		case 'k':
			rv->req.kill = true;
			break;
		case OPT_FORCE_UNSAFE:
			rv->req.force_unsafe = true;
			break;
		case 'w':
			rv->wait = true;
			break;
		case 'j':
			ctl->json = true;
			break;
		case 'h':
			fputs(cmd_revoke_usage, stdout);
			*exit_status = CTL_EXIT_OK;
			return -1;
		default:
			fputs(cmd_revoke_usage, stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "daxallocctl: revoke takes no operand ('%s')\n",
			argv[optind]);
		return -1;
	}
	if (rv->req.kill && rv->req.force_unsafe) {
		fprintf(stderr,
			"daxallocctl: --kill and --force-unsafe exclude each other\n");
		return -1;
	}
	if (!rv->req.pid && !rv->extent_arg && !rv->req.by_uid) {
		fprintf(stderr,
			"daxallocctl: revoke needs --pid, --extent or --uid\n");
		fputs(cmd_revoke_usage, stderr);
		return -1;
	}
	return 0;
}

/* revoke_warn_unsafe -- what --force-unsafe risks, loudly, on stderr */
static void revoke_warn_unsafe(void)
{
	fputs("daxallocctl: WARNING: --force-unsafe\n"
	      "daxallocctl: WARNING: When the grace ends, the memory of the processes\n"
	      "daxallocctl: WARNING: that did not acknowledge goes back to free space\n"
	      "daxallocctl: WARNING: AT ONCE, although they may still be alive.  A live\n"
	      "daxallocctl: WARNING: process, or a NIC, GPU or NVMe controller it\n"
	      "daxallocctl: WARNING: programmed for DMA, can go on writing into memory\n"
	      "daxallocctl: WARNING: that is then handed to another owner: silent\n"
	      "daxallocctl: WARNING: corruption of someone else's data.  The daemon\n"
	      "daxallocctl: WARNING: logs this at critical level.  Prefer --kill.\n",
	      stderr);
}

/* revoke_waits_for -- does quarantined range q wait for pid? */
static bool revoke_waits_for(const Daxalloc__QuarantineInfo *q, uint32_t pid)
{
	size_t i;

	for (i = 0; i < q->n_waiting_pids; i++)
		if (q->waiting_pids[i] == pid)
			return true;
	return false;
}

/*
 * revoke_has_pid -- does the extent reply show a hold of pid: a lease, a
 * pin, or a quarantined range that left the extent and waits for it?
 */
static bool revoke_has_pid(const Daxalloc__ExtentReply *er, uint32_t pid)
{
	size_t i;

	for (i = 0; i < er->n_leases; i++)
		if (er->leases[i]->pid == pid)
			return true;
	for (i = 0; i < er->n_pins; i++)
		if (er->pins[i]->pid == pid)
			return true;
	for (i = 0; i < er->n_quarantine; i++)
		if (revoke_waits_for(er->quarantine[i], pid))
			return true;
	return false;
}

/* revoke_matches -- would the revoke reach process p? (for --wait) */
static bool revoke_matches(const struct revoke *rv,
			   const Daxalloc__ProcessInfo *p,
			   const Daxalloc__ExtentReply *shown)
{
	if (rv->req.pid && p->pid != rv->req.pid)
		return false;
	if (rv->req.by_uid && p->uid != rv->req.uid)
		return false;
	if (shown)
		return revoke_has_pid(shown, p->pid);
	return p->leases || p->pins || p->breaks;
}

/*
 * revoke_collect -- the processes the revoke will reach (for --wait)
 *
 * Taken before the request, from the process list (and the extent's
 * leases and pins with --extent), by the criteria the daemon applies.
 */
static int revoke_collect(struct ctl *ctl, struct revoke *rv,
			  const Daxalloc__ExtentReply *shown)
{
	Daxalloc__Envelope *resp;
	struct revoke_target *t;
	uint64_t cursor = 0;
	size_t i;
	int r;

	do {
		r = ctl_list_page(ctl,
				  DAXALLOC__CTL_LIST_REQUEST__WHAT__SESSIONS,
				  cursor, &resp);
		if (r)
			return r;
		for (i = 0; i < resp->ctl_list_reply->n_processes; i++) {
			const Daxalloc__ProcessInfo *p =
				resp->ctl_list_reply->processes[i];

			if (!revoke_matches(rv, p, shown))
				continue;
			t = realloc(rv->targets,
				    (rv->ntargets + 1) * sizeof(*t));
			if (!t) {
				envelope_free(resp);
				fprintf(stderr, "daxallocctl: out of memory\n");
				return CTL_EXIT_FAIL;
			}
			rv->targets = t;
			t = &rv->targets[rv->ntargets++];
			t->pid = p->pid;
			t->start_time = p->start_time;
			snprintf(t->name, sizeof(t->name), "%s", p->name);
			t->outcome = REVOKE_HOLDING;
		}
		cursor = ctl_list_next(resp);
		envelope_free(resp);
	} while (cursor);
	return CTL_EXIT_OK;
}

/* revoke_find -- target t (pid and start time) in one page, or NULL */
static const Daxalloc__ProcessInfo *
revoke_find(const Daxalloc__CtlListReply *lr, const struct revoke_target *t)
{
	size_t i;

	for (i = 0; i < lr->n_processes; i++)
		if (lr->processes[i]->pid == t->pid &&
		    lr->processes[i]->start_time == t->start_time)
			return lr->processes[i];
	return NULL;
}

/*
 * revoke_scan_holds -- what the targets still hold of the revoked extent
 *
 * Sets held[i] when target i still has a lease or pin there, or a range
 * that left the extent waits for it, and
 * revoked[i] when one of them is revoked.  Lists, not CtlShow, so that an
 * extent deleted meanwhile simply shows nothing.
 */
static int revoke_scan_holds(struct ctl *ctl, const struct revoke *rv,
			     bool *held, bool *revoked)
{
	static const Daxalloc__CtlListRequest__What whats[] = {
		DAXALLOC__CTL_LIST_REQUEST__WHAT__LEASES,
		DAXALLOC__CTL_LIST_REQUEST__WHAT__PINS,
		DAXALLOC__CTL_LIST_REQUEST__WHAT__QUARANTINE,
	};
	const Daxalloc__CtlListReply *lr;
	Daxalloc__Envelope *resp;
	uint64_t cursor;
	size_t w, i, k;
	int r;

	for (w = 0; w < sizeof(whats) / sizeof(whats[0]); w++) {
		cursor = 0;
		do {
			r = ctl_list_page(ctl, whats[w], cursor, &resp);
			if (r)
				return r;
			lr = resp->ctl_list_reply;
			for (k = 0; k < rv->ntargets; k++) {
				uint32_t pid = rv->targets[k].pid;

				for (i = 0; i < lr->n_leases; i++) {
					if (lr->leases[i]->pid != pid ||
					    lr->leases[i]->extent_id !=
						    rv->req.extent_id)
						continue;
					held[k] = true;
					revoked[k] |= lr->leases[i]->revoked;
				}
				for (i = 0; i < lr->n_pins; i++) {
					if (lr->pins[i]->pid != pid ||
					    lr->pins[i]->extent_id !=
						    rv->req.extent_id)
						continue;
					held[k] = true;
					revoked[k] |= lr->pins[i]->revoked;
				}
				for (i = 0; i < lr->n_quarantine; i++)
					if (lr->quarantine[i]->extent_id ==
						    rv->req.extent_id &&
					    revoke_waits_for(lr->quarantine[i],
							     pid))
						held[k] = true;
			}
			cursor = ctl_list_next(resp);
			envelope_free(resp);
		} while (cursor);
	}
	return CTL_EXIT_OK;
}

/*
 * revoke_refresh -- look again at every target; *settled when all are
 *
 * Settled: exited, released, or (without --kill, which waits for the
 * exit) revoked.
 */
static int revoke_refresh(struct ctl *ctl, struct revoke *rv, bool *settled)
{
	bool *seen, *held, *revoked;
	Daxalloc__Envelope *resp;
	uint64_t cursor = 0;
	size_t i, n = rv->ntargets;
	int r = CTL_EXIT_FAIL;

	seen = calloc(3 * n + 1, sizeof(*seen));
	if (!seen) {
		fprintf(stderr, "daxallocctl: out of memory\n");
		return r;
	}
	held = seen + n;
	revoked = held + n;
	if (rv->req.extent_id) {
		r = revoke_scan_holds(ctl, rv, held, revoked);
		if (r)
			goto out;
	}
	do {
		r = ctl_list_page(ctl,
				  DAXALLOC__CTL_LIST_REQUEST__WHAT__SESSIONS,
				  cursor, &resp);
		if (r)
			goto out;
		for (i = 0; i < n; i++) {
			struct revoke_target *t = &rv->targets[i];
			const Daxalloc__ProcessInfo *p =
				revoke_find(resp->ctl_list_reply, t);

			if (!p)
				continue;
			seen[i] = true;
			/* With --extent, the holds there were scanned above. */
			if (!rv->req.extent_id) {
				held[i] = p->leases || p->pins || p->breaks;
				revoked[i] = p->revoked;
			}
		}
		cursor = ctl_list_next(resp);
		envelope_free(resp);
	} while (cursor);
	*settled = true;
	for (i = 0; i < n; i++) {
		struct revoke_target *t = &rv->targets[i];

		if (!seen[i])
			t->outcome = REVOKE_EXITED;
		else if (!held[i])
			t->outcome = REVOKE_RELEASED;
		else if (revoked[i])
			t->outcome = REVOKE_REVOKED;
		else
			t->outcome = REVOKE_HOLDING;
		if (t->outcome == REVOKE_HOLDING ||
		    (t->outcome == REVOKE_REVOKED && rv->req.kill))
			*settled = false;
	}
	r = CTL_EXIT_OK;
out:
	free(seen);
	return r;
}

/* revoke_sleep_ms -- sleep, resuming after signals that return */
static void revoke_sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000),
			       (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* revoke_quarantine -- what the quarantine holds, and how much of it waits
 * for one of the targets */
static int revoke_quarantine(struct ctl *ctl, const struct revoke *rv,
			     json_object *out)
{
	uint64_t cursor = 0, bytes = 0, wbytes = 0, ranges = 0, wranges = 0;
	Daxalloc__Envelope *resp;
	char b1[32], b2[32];
	size_t i, k;
	int r;

	do {
		r = ctl_list_page(ctl,
				  DAXALLOC__CTL_LIST_REQUEST__WHAT__QUARANTINE,
				  cursor, &resp);
		if (r)
			return r;
		for (i = 0; i < resp->ctl_list_reply->n_quarantine; i++) {
			const Daxalloc__QuarantineInfo *q =
				resp->ctl_list_reply->quarantine[i];
			bool waits = false;

			ranges++;
			bytes += q->length;
			for (k = 0; k < rv->ntargets; k++)
				waits |=
					revoke_waits_for(q, rv->targets[k].pid);
			if (waits) {
				wranges++;
				wbytes += q->length;
			}
		}
		cursor = ctl_list_next(resp);
		envelope_free(resp);
	} while (cursor);
	if (out) {
		json_object *q = json_object_new_object();

		json_object_object_add(q, "ranges",
				       json_object_new_uint64(ranges));
		json_object_object_add(q, "bytes",
				       json_object_new_uint64(bytes));
		json_object_object_add(q, "waiting_ranges",
				       json_object_new_uint64(wranges));
		json_object_object_add(q, "waiting_bytes",
				       json_object_new_uint64(wbytes));
		json_object_object_add(out, "quarantine", q);
	} else {
		ctl_format_size(bytes, b1, sizeof(b1));
		ctl_format_size(wbytes, b2, sizeof(b2));
		ctl_print_row(
			"quarantine",
			"%llu ranges, %s; %llu of them (%s) wait for these processes",
			(unsigned long long)ranges, b1,
			(unsigned long long)wranges, b2);
	}
	return CTL_EXIT_OK;
}

/* revoke_print_outcome -- one row: what became of target t */
static void revoke_print_outcome(const struct revoke *rv,
				 const struct revoke_target *t)
{
	const char *text = revoke_outcome_text[t->outcome];
	char key[32];
	bool named;

	snprintf(key, sizeof(key), "pid %u", t->pid);
	/* A process not seen since a daemon restart is named "pid N". */
	named = t->name[0] && strcmp(t->name, key);
	if (t->outcome == REVOKE_RELEASED && rv->req.force_unsafe)
		text = "holds nothing any more (acknowledged, or freed by force)";
	ctl_print_row(key, "%s%s%s", named ? t->name : "", named ? ": " : "",
		      text);
}

/*
 * revoke_wait -- until the grace has passed and the daemon has acted
 *
 * Sleeps to the deadline, then looks every REVOKE_POLL_MS for at most
 * REVOKE_SETTLE_MS, and reports.  Exit status 1 when a process still holds.
 */
static int revoke_wait(struct ctl *ctl, struct revoke *rv, uint64_t deadline,
		       json_object *out)
{
	uint64_t now = ctl_now_ms(), until;
	json_object *arr = NULL;
	bool settled = false;
	char buf[64];
	size_t i;
	int r;

	if (deadline > now) {
		if (!out) {
			ctl_format_ms(deadline - now, buf, sizeof(buf));
			fprintf(stderr,
				"daxallocctl: waiting %s for the grace to end\n",
				buf);
		}
		revoke_sleep_ms(deadline - now);
	}
	until = ctl_now_ms() + REVOKE_SETTLE_MS;
	for (;;) {
		r = revoke_refresh(ctl, rv, &settled);
		if (r)
			return r;
		if (settled || ctl_now_ms() >= until)
			break;
		revoke_sleep_ms(REVOKE_POLL_MS);
	}
	if (out)
		arr = json_object_new_array();
	else
		printf("\n");
	for (i = 0; i < rv->ntargets; i++) {
		const struct revoke_target *t = &rv->targets[i];

		if (arr) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "pid",
					       json_object_new_int64(t->pid));
			json_object_object_add(
				o, "start_time",
				json_object_new_uint64(t->start_time));
			json_object_object_add(o, "name",
					       json_object_new_string(t->name));
			json_object_object_add(
				o, "outcome",
				json_object_new_string(
					revoke_outcome_names[t->outcome]));
			json_object_array_add(arr, o);
		} else {
			revoke_print_outcome(rv, t);
		}
	}
	if (arr)
		json_object_object_add(out, "outcomes", arr);
	r = revoke_quarantine(ctl, rv, out);
	if (r)
		return r;
	if (!settled && !out)
		fprintf(stderr,
			"daxallocctl: some processes still hold %u s after the grace ended\n",
			REVOKE_SETTLE_MS / 1000);
	return settled ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}

/* revoke_then -- what happens when the grace ends, in words */
static const char *revoke_then(const Daxalloc__RevokeRequest *req)
{
	if (req->force_unsafe)
		return "holders that have not acknowledged lose their memory to free space at once, live or not (UNSAFE)";
	if (req->kill)
		return "holders that have not acknowledged are killed (SIGKILL); their memory is freed once they have exited";
	return "holders that have not acknowledged are revoked; what they hold cannot be reused until they exit";
}

/* revoke_print -- the daemon's answer */
static void revoke_print(const struct revoke *rv,
			 const Daxalloc__RevokeReply *rr, json_object *out)
{
	uint64_t now = ctl_now_ms();
	char when[64], in[64];

	if (out) {
		json_object_object_add(out, "processes",
				       json_object_new_int64(rr->processes));
		json_object_object_add(out, "breaks",
				       json_object_new_int64(rr->breaks));
		json_object_object_add(out, "deadline_ms",
				       json_object_new_uint64(rr->deadline_ms));
		json_object_object_add(out, "kill",
				       json_object_new_boolean(rv->req.kill));
		json_object_object_add(
			out, "force_unsafe",
			json_object_new_boolean(rv->req.force_unsafe));
		return;
	}
	ctl_print_row("processes", "%u", rr->processes);
	if (!rr->processes)
		return;
	ctl_format_clock(rr->deadline_ms, when, sizeof(when));
	if (rr->deadline_ms > now)
		ctl_format_ms(rr->deadline_ms - now, in, sizeof(in));
	else
		snprintf(in, sizeof(in), "now");
	ctl_print_row("lease breaks", "%u", rr->breaks);
	ctl_print_row("grace ends", "%s (%s%s)", when,
		      rr->deadline_ms > now ? "in " : "", in);
	ctl_print_row("then", "%s", revoke_then(&rv->req));
}

/* cmd_revoke -- daxallocctl revoke [options] */
int cmd_revoke(struct ctl *ctl, int argc, char **argv)
{
	Daxalloc__Envelope req = DAXALLOC__ENVELOPE__INIT, *resp;
	Daxalloc__Envelope *shown = NULL;
	struct revoke rv = { .req = DAXALLOC__REVOKE_REQUEST__INIT };
	const Daxalloc__RevokeReply *rr;
	json_object *out = NULL;
	int exit_status, r;

	if (revoke_parse(ctl, &rv, argc, argv, &exit_status) < 0)
		return exit_status;
	if (rv.extent_arg) {
		/* The request names extents by id; a name is looked up. */
		r = ctl_show_extent(ctl, rv.extent_arg, &shown);
		if (r)
			return r;
		rv.req.extent_id = shown->extent_reply->extent->id;
	}
	if (rv.req.force_unsafe)
		revoke_warn_unsafe();
	if (rv.wait) {
		r = revoke_collect(ctl, &rv,
				   shown ? shown->extent_reply : NULL);
		if (r)
			goto out;
	}

	req.body_case = DAXALLOC__ENVELOPE__BODY_REVOKE;
	req.revoke = &rv.req;
	r = ctl_call(ctl, &req, &resp);
	if (r)
		goto out;
	if (resp->body_case != DAXALLOC__ENVELOPE__BODY_REVOKE_REPLY) {
		fprintf(stderr, "daxallocctl: unexpected reply to Revoke\n");
		envelope_free(resp);
		r = CTL_EXIT_FAIL;
		goto out;
	}
	rr = resp->revoke_reply;
	if (ctl->json)
		out = json_object_new_object();
	revoke_print(&rv, rr, out);
	if (!rr->processes) {
		fprintf(stderr,
			"daxallocctl: no process holds anything that matches\n");
		r = CTL_EXIT_FAIL;
	} else if (rv.wait) {
		r = revoke_wait(ctl, &rv, rr->deadline_ms, out);
	} else {
		r = CTL_EXIT_OK;
	}
	if (out)
		ctl_print_json(out);
	envelope_free(resp);
out:
	if (out)
		json_object_put(out);
	if (shown)
		envelope_free(shown);
	free(rv.targets);
	return r;
}
