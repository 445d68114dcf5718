/* SPDX-License-Identifier: MIT */
/* One result line per sample run, read by the guest agent:
 *   CAPMATRIX_RESULT {"outcome":"ok"|"E…","stage":"…","errno":N,"detail":"…","uid":U,"capEff":"…",…}
 * The sample also reports its own uid and CapEff so the agent can check that the
 * process really ran with the capabilities the cell asked for. */
#ifndef CAPMATRIX_RESULT_H
#define CAPMATRIX_RESULT_H

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

/* libbpf's messages (verifier log included) are kept so the last lines can go into `detail`. */
static char cm_log[16384];
static size_t cm_log_len;

static int cm_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	va_list copy;
	int n;

	/* libbpf ≥ 1.3 says only at debug level that it went on without module BTF */
	if (level == LIBBPF_DEBUG && !strstr(fmt, "module BTFs"))
		return 0;
	va_copy(copy, args);
	vfprintf(stderr, fmt, args);
	if (cm_log_len < sizeof(cm_log) - 1) {
		n = vsnprintf(cm_log + cm_log_len, sizeof(cm_log) - cm_log_len, fmt, copy);
		if (n > 0)
			cm_log_len += (size_t)n;
		if (cm_log_len >= sizeof(cm_log))
			cm_log_len = sizeof(cm_log) - 1;
	}
	va_end(copy);
	return 0;
}

/* Under the guest agent (CAPMATRIX_HANDSHAKE set) the sample tells the agent on fd 3 and stops
 * once before doing anything, so the agent can read its uid and capabilities from
 * /proc/<pid>/status, then continues it. fd 3 is closed afterwards: nothing the sample starts
 * inherits it. */
static void cm_init(void)
{
	libbpf_set_print(cm_libbpf_print);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("CAPMATRIX_HANDSHAKE")) {
		if (write(3, "s", 1) == 1)
			raise(SIGSTOP);
		close(3);
	}
}

/* The Makefile links with --wrap=syscall: every syscall(2) call, libbpf's bpf(2) included, comes
 * here first, so the result line can say when the first bpf(2) was made (CLOCK_MONOTONIC, the
 * agent's clock too): the harness splits the sample's time into start-up and its own work. */
static struct timespec cm_first_bpf;
long __real_syscall(long nr, ...);
long __wrap_syscall(long nr, ...);
long __wrap_syscall(long nr, ...)
{
	va_list ap;
	long a[6];

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == __NR_bpf && cm_first_bpf.tv_sec == 0 && cm_first_bpf.tv_nsec == 0)
		clock_gettime(CLOCK_MONOTONIC, &cm_first_bpf);
	return __real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* The errno names of harness/dsl/vocabulary.ts (ERRNOS), and only those: test/vocabulary.test.ts
 * checks that this table and that one agree. */
static const char *cm_errno_name(int err)
{
	switch (err) {
	case 0: return "ok";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case ENXIO: return "ENXIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOSPC: return "ENOSPC";
	case ENOSYS: return "ENOSYS";
	case ENODATA: return "ENODATA";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ETIMEDOUT: return "ETIMEDOUT";
	default: return "EUNKNOWN";
	}
}

static void cm_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void cm_cap_eff(char *out, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	snprintf(out, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "CapEff:", 7) == 0) {
			char *p = line + 7;
			while (*p == ' ' || *p == '\t')
				p++;
			p[strcspn(p, "\n")] = 0;
			snprintf(out, len, "%s", p);
			break;
		}
	}
	fclose(f);
}

/* The last `max` bytes of libbpf's log, starting at a line boundary. */
static __attribute__((unused)) const char *cm_log_tail(size_t max)
{
	const char *p;

	if (cm_log_len <= max)
		return cm_log;
	p = cm_log + cm_log_len - max;
	while (*p && *p != '\n')
		p++;
	return *p ? p + 1 : p;
}

/* `extra` is a JSON object body (without braces) with sample-specific fields, or NULL. */
static void cm_result(int err, const char *stage, const char *extra, const char *fmt, ...)
{
	char detail[2048], caps[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	cm_cap_eff(caps, sizeof(caps));
	fflush(stderr);
	printf("CAPMATRIX_RESULT {\"outcome\":\"%s\",\"stage\":\"%s\",\"errno\":%d,\"detail\":",
	       cm_errno_name(err), stage, err);
	cm_json_string(stdout, detail);
	printf(",\"uid\":%u,\"capEff\":\"%s\"", (unsigned)getuid(), caps);
	if (cm_first_bpf.tv_sec || cm_first_bpf.tv_nsec)
		printf(",\"firstBpfNs\":%lld", (long long)cm_first_bpf.tv_sec * 1000000000LL + cm_first_bpf.tv_nsec);
	if (extra && *extra)
		printf(",%s", extra);
	printf("}\n");
	fflush(stdout);
}

/* The verifier's last lines (what it objected to), or libbpf's last lines when there is no
 * verifier log: a pointer into a static buffer. */
static __attribute__((unused)) const char *cm_load_detail(void)
{
	static char out[700];
	const char *end = strstr(cm_log, "-- END PROG LOAD LOG --");
	const char *p;
	int lines = 0;

	if (!end)
		return cm_log_tail(500);
	/* walk back over the "processed N insns" line and up to three lines before it */
	for (p = end; p > cm_log && lines < 5; p--)
		if (p[-1] == '\n')
			lines++;
	snprintf(out, sizeof(out), "%.*s", (int)(end - p), p);
	return out;
}

/* libbpf was refused the walk over the kernel's BTF objects (BPF_BTF_GET_NEXT_ID wants
 * CAP_SYS_ADMIN): < 1.3 fails the load with it ("failed to iterate BTF objects"), later ones go
 * on without module BTF and say so at debug level (kept by cm_libbpf_print). */
static __attribute__((unused)) int cm_module_btf_refused(void)
{
	return strstr(cm_log, "failed to iterate BTF objects") ||
	       (strstr(cm_log, "module BTF") && strstr(cm_log, "privilege"));
}

/* Where did a failed skeleton load stop? libbpf runs a trivial SOCKET_FILTER load
 * (bpf_object__probe_loading) before creating maps; it only tells us through its log. */
static __attribute__((unused)) const char *cm_load_stage(int err)
{
	/* libbpf ≥ 1.4 with a token path it was given (bpf_object_prepare_token) */
	if (strstr(cm_log, "to create BPF token"))
		return "token_create";
	if (strstr(cm_log, "to open BPF FS mount"))
		return "open";
	if (strstr(cm_log, "Couldn't load trivial BPF program"))
		return "probe";
	/* libbpf < 1.3 looking for module BTF (a CO-RE type vmlinux lacks): BPF_BTF_GET_NEXT_ID
	 * wants CAP_SYS_ADMIN, and its errno becomes the load's */
	if (cm_module_btf_refused())
		return "get_next_id";
	/* a map pinned by name (LIBBPF_PIN_BY_NAME): libbpf looks for it first (BPF_OBJ_GET),
	 * creates and pins it when none is there */
	if (strstr(cm_log, "couldn't retrieve pinned map"))
		return "obj_get";
	if (strstr(cm_log, "failed to auto-pin") || strstr(cm_log, "failed to pin map") ||
	    strstr(cm_log, "is not on BPF FS"))
		return "obj_pin";
	if (strstr(cm_log, "failed to freeze"))
		return "map_freeze";
	if (strstr(cm_log, "failed to create"))
		return "map_create";
	if (err == EACCES && strstr(cm_log, "-- BEGIN PROG LOAD LOG --"))
		return "verifier";
	return "prog_load";
}

/* A skeleton that did not open (`what` names the call in the detail): the loader's one result
 * line, at stage open with the errno the open left; returns the loader's exit code. */
static __attribute__((unused)) int cm_open_failed(const char *what)
{
	int err = errno;

	cm_result(err, "open", NULL, "%s: %s", what, strerror(err));
	return 1;
}

/* A skeleton load that failed (`err`: libbpf's negative return): the loader's one result line,
 * at `stage`, or where cm_load_stage finds it when NULL, with the verifier's (or libbpf's) last
 * lines; returns the loader's exit code. */
static __attribute__((unused)) int cm_load_failed(int err, const char *stage)
{
	err = -err;
	cm_result(err, stage ? stage : cm_load_stage(err), NULL, "load: %s | %s", strerror(err), cm_load_detail());
	return 1;
}

#endif
