/*
 * perflab's run launcher: a tiny process that starts each measured run so that the run's peak memory
 * (wait4's ru_maxrss) is the workload's own and not the Python interpreter's.
 *
 * Why a separate process: at execve Linux folds the high-water RSS of the pre-exec address space into
 * the process's maxrss, so a child started from a 20-50 MB Python reports at least that much. Started
 * from this launcher, the child's ru_maxrss is the workload's own once it exceeds the launcher's floor.
 *
 * Two ways of starting a run, chosen at build time (perflab/bench/build.py):
 *   - vfork (default; the launcher is linked statically): clone(CLONE_VM|CLONE_VFORK) onto a stack of
 *     its own, as glibc's posix_spawn does. No page tables are copied and no copy-on-write faults
 *     follow, which costs ~0.1 ms less per run than fork in a VM. The child borrows the launcher's
 *     address space until execve, so the floor of its ru_maxrss is the launcher's own high-water RSS
 *     (VmHWM, ~0.7 MB for the static build; `true` alone is ~0.85-1.1 MB). That floor is measured after
 *     every run and reported; a run whose ru_maxrss does not exceed it cannot be told apart from the
 *     floor, and perflab reports its peak memory as unknown (never the launcher's number).
 *   - fork (-DPERFLAB_LAUNCHER_FORK; the fallback when static linking fails): the child gets a copy of
 *     the launcher's anonymous memory only, a lower floor (reported as 0: not measured) but a slower
 *     start. Exec failures come back through a close-on-exec pipe.
 *
 * Protocol (perflab/bench/executor.py is the other end). The launcher reads requests from fd REQ and
 * answers on fd RESP (both given as argv[1] and argv[2]). A request is a sequence of NUL-terminated
 * strings:
 *     "R" timeout_ns stdin stdout stderr cwd argc argv[0..argc) envc env[0..envc)
 * stdin: "" = /dev/null, otherwise a path. stdout/stderr: "" = /dev/null, "-" = inherit the launcher's,
 * "=" (stderr only) = same as stdout, otherwise a path (created 0600, truncated).
 * argv[0] must be a path (perflab resolves it against PATH). timeout_ns 0 = none.
 * "Q" or EOF ends the launcher. The answer is one line:
 *     "ok WALL_NS UTIME_US STIME_US MAXRSS_KB WAIT_STATUS TIMED_OUT FLOOR_KB\n"
 *     "err ERRNO STAGE\n"   (STAGE: stdin, stdout, stderr, fork, pipe, exec, chdir, request)
 * FLOOR_KB: the launcher's high-water RSS after the run (vfork) or 0 (fork: not measured).
 * The wall time runs from just before clone/fork to just after wait4 returns (CLOCK_MONOTONIC). Files
 * are opened before the clock starts; inside the window are the spawn, the child's signal resets,
 * setpgid and dup2s, execve, the run itself, restoring the launcher's signal mask (vfork) or reading
 * the exec-status pipe and setpgid from the parent's side (fork), closing the three stdio fds, wait4.
 * On timeout the run's whole process group is killed (SIGKILL); each run gets its own group.
 * Unless children are kept, what a run leaves running is then counted and killed (kill_leftovers).
 * SIGTERM/SIGHUP to the launcher kill the current run's group and end the launcher; SIGINT is ignored
 * (Ctrl-C is perflab's business; it then terminates the launcher). If perflab dies, PR_SET_PDEATHSIG
 * delivers SIGTERM (the kernel clears that setting in every child, so runs do not inherit it).
 *
 * No stdio or printf: they would make the static binary, and so the vfork floor, larger.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t current_pid = 0;

static void on_term(int sig) {
    pid_t pid = current_pid;
    if (pid > 0) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
    }
    _exit(128 + sig);
}

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- buffered reading of NUL-terminated fields from the request fd ---- */

static int req_fd = -1;
static char rbuf[8192];
static size_t rpos = 0, rlen = 0;

static int fill(void) {
    for (;;) {
        ssize_t n = read(req_fd, rbuf, sizeof rbuf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return 0;
        rpos = 0;
        rlen = (size_t)n;
        return 1;
    }
}

/* One NUL-terminated field, malloc'd; NULL on EOF (also in the middle of a field) or out of memory. */
static char *field(void) {
    char *out = NULL;
    size_t len = 0;
    for (;;) {
        if (rpos == rlen && !fill()) {
            free(out);
            return NULL;
        }
        char *start = rbuf + rpos;
        char *nul = memchr(start, '\0', rlen - rpos);
        size_t take = nul ? (size_t)(nul - start) : rlen - rpos;
        char *grown = realloc(out, len + take + 1);
        if (!grown) {
            free(out);
            return NULL;
        }
        out = grown;
        memcpy(out + len, start, take);
        len += take;
        out[len] = '\0';
        rpos += take;
        if (nul) {
            rpos++; /* the NUL itself */
            return out;
        }
    }
}

/* ---- the answer line ---- */

static char *put_str(char *p, const char *s) {
    while (*s) *p++ = *s++;
    return p;
}

static char *put_num(char *p, long long v) {
    char tmp[24];
    int n = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    if (v < 0) *p++ = '-';
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (n) *p++ = tmp[--n];
    return p;
}

static void answer(int fd, const char *text, size_t len) {
    while (len > 0) {
        ssize_t w = write(fd, text, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            _exit(3); /* perflab is gone */
        }
        text += w;
        len -= (size_t)w;
    }
}

static void answer_err(int fd, int err, const char *stage) {
    char line[96];
    char *p = put_str(line, "err ");
    p = put_num(p, err);
    *p++ = ' ';
    p = put_str(p, stage);
    *p++ = '\n';
    answer(fd, line, (size_t)(p - line));
}

/* The launcher's own high-water RSS in kB (VmHWM: what execve folds into a vforked child's maxrss).
 * /proc/self/status stays open (its pid is ours for good); a pread regenerates it (~8 us, not timed). */
static long own_hwm_kb(void) {
#ifdef PERFLAB_LAUNCHER_FORK
    return 0;
#else
    static int fd = -2;
    char buf[2048];
    if (fd == -2) fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return -1;
    buf[n] = '\0';
    char *line = strstr(buf, "\nVmHWM:");
    if (!line) return -1;
    return strtol(line + 7, NULL, 10);
#endif
}

static int open_out(const char *spec, int *fd) {
    if (spec[0] == '-' && spec[1] == '\0') {
        *fd = -1; /* inherit */
        return 0;
    }
    const char *path = spec[0] ? spec : "/dev/null";
    *fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    return *fd < 0 ? -1 : 0;
}

static void free_list(char **list, long n) {
    if (!list) return;
    for (long i = 0; i < n; i++) free(list[i]);
    free(list);
}

static char **read_list(long *count) {
    char *n_text = field();
    if (!n_text) return NULL;
    char *end = NULL;
    long n = strtol(n_text, &end, 10);
    int bad = end == n_text || *end != '\0';
    free(n_text);
    if (bad || n < 0 || n > 1000000) return NULL;
    char **list = calloc((size_t)n + 1, sizeof(char *));
    if (!list) return NULL;
    for (long i = 0; i < n; i++) {
        list[i] = field();
        if (!list[i]) {
            free_list(list, i);
            return NULL;
        }
    }
    *count = n;
    return list;
}

/* The child between spawn and execve: default signals, own process group, the run's stdio, cwd.
 * Only system calls here (it may share the launcher's memory); returns the failing stage. */
static const char *child_prepare(int in_fd, int out_fd, int err_fd, int same_err, const char *cwd) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    /* handled (SIGTERM, SIGHUP) and ignored (SIGINT, SIGPIPE) dispositions of the launcher */
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGTERM, &dfl, NULL);
    sigaction(SIGHUP, &dfl, NULL);
    sigaction(SIGPIPE, &dfl, NULL);
    setpgid(0, 0);
    if (dup2(in_fd, 0) < 0) return "stdin";
    if (out_fd >= 0 && dup2(out_fd, 1) < 0) return "stdout";
    if (same_err && dup2(1, 2) < 0) return "stderr";
    if (err_fd >= 0 && dup2(err_fd, 2) < 0) return "stderr";
    if (cwd[0] && chdir(cwd) < 0) return "chdir";
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    return NULL;
}

#ifndef PERFLAB_LAUNCHER_FORK
/* What the vforked child needs, and where it leaves the reason when it cannot exec. */
struct child_args {
    int in_fd, out_fd, err_fd, same_err;
    const char *cwd;
    char **argv, **envp;
    volatile int err;
    const char *volatile stage;
};

/* The child runs on its own stack (like glibc's posix_spawn), so it cannot clobber the frame of the
 * parent it shares memory with until execve. */
static char child_stack[16384] __attribute__((aligned(64)));

static int child_main(void *arg) {
    struct child_args *a = arg;
    const char *stage = child_prepare(a->in_fd, a->out_fd, a->err_fd, a->same_err, a->cwd);
    if (!stage) {
        execve(a->argv[0], a->argv, a->envp);
        stage = "exec";
    }
    a->err = errno;
    a->stage = stage;
    return 127;
}
#endif

/* Read /proc/<id><leaf> (id: a pid; 0 means this launcher) into buf, NUL-terminated; returns the
 * byte count, or 0 when it cannot be read. */
static ssize_t read_proc(long long id, const char *leaf, char *buf, size_t cap) {
    char path[64] = "/proc/";
    char *p = put_num(path + strlen(path), id ? id : (long long)getpid());
    memcpy(p, leaf, strlen(leaf) + 1);
    buf[0] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    return n;
}

/* The pids of this launcher's children (orphans of a run land here: it is a child subreaper), from
 * /proc/<pid>/task/<pid>/children; returns how many were stored in pids (at most cap). */
static int list_children(pid_t *pids, int cap) {
    char leaf[64] = "/task/", buf[4096];
    char *p = put_num(leaf + strlen(leaf), (long long)getpid());
    memcpy(p, "/children", 10);
    ssize_t n = read_proc(0, leaf, buf, sizeof buf);
    if (n == 0) return 0; /* no children (an empty file) */
    if (n == (ssize_t)sizeof buf - 1) { /* full: the last pid may be cut; the next round finds it */
        char *last_space = strrchr(buf, ' ');
        if (!last_space) return 0;
        last_space[1] = 0;
    }
    int count = 0;
    for (char *q = buf; *q && count < cap;) {
        while (*q == ' ') q++;
        if (!*q) break;
        pids[count++] = (pid_t)strtol(q, &q, 10);
    }
    return count;
}

/* Whether pid is still running (not a zombie that has exited already: kill() succeeds on a zombie,
 * so it cannot tell) and outside process group `skip_group` (0: any group). */
static int is_running_outside(pid_t pid, pid_t skip_group) {
    char buf[512];
    if (!read_proc(pid, "/stat", buf, sizeof buf)) return 0;
    char *after_name = strrchr(buf, ')'); /* then " STATE PPID PGRP ..." */
    if (!after_name || after_name[1] != ' ' || !after_name[2]) return 0;
    char state = after_name[2];
    if (state == 'Z' || state == 'X') return 0;
    char *q = after_name + 3;
    strtol(q, &q, 10); /* ppid */
    long pgrp = strtol(q, &q, 10);
    return skip_group == 0 || pgrp != (long)skip_group;
}

/* Kill what a run left behind and count it: every process of the run still running when the run
 * ended, counted once, before anything is killed. Orphans (background children, setsid daemons) are
 * reparented to this subreaper; each round counts and kills the running ones and waits for them, so
 * their own children, reparented in turn, are found in the next round. Zombies (already exited) are
 * reaped, not counted. After a timeout the run's group has been killed by the timeout, not left
 * behind: only what escaped the group (setsid daemons and theirs) is counted. Killing the group before
 * counting made the count a race (0, 1 or 2 for a background child plus a setsid daemon). */
static long long kill_leftovers(pid_t group, int timed_out) {
    long long killed = 0;
    pid_t pids[512];
    for (int round = 0; round < 10000; round++) {
        while (waitpid(-1, NULL, WNOHANG) > 0) {
        }
        int n = list_children(pids, 512);
        if (n == 0) break;
        for (int i = 0; i < n; i++) {
            int counted = is_running_outside(pids[i], timed_out ? group : 0);
            if (kill(pids[i], SIGKILL) == 0 && counted) killed++;
        }
        for (int i = 0; i < n; i++)
            while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR) {
            }
    }
    return killed;
}

static void run_one(int resp, const sigset_t *chld, const sigset_t *mask, int keep_children) {
    char *timeout_s = field(), *in_spec = field(), *out_spec = field(), *err_spec = field();
    char *cwd = field();
    long argc = 0, envc = 0;
    char **argv = NULL, **envp = NULL;
    if (!timeout_s || !in_spec || !out_spec || !err_spec || !cwd) goto bad;
    argv = read_list(&argc);
    if (!argv || argc < 1) goto bad;
    envp = read_list(&envc);
    if (!envp) goto bad;

    long long timeout_ns = strtoll(timeout_s, NULL, 10);
    int in_fd = -1, out_fd = -1, err_fd = -1, same_err = strcmp(err_spec, "=") == 0;
    in_fd = open(in_spec[0] ? in_spec : "/dev/null", O_RDONLY | O_CLOEXEC);
    if (in_fd < 0) {
        answer_err(resp, errno, "stdin");
        goto done;
    }
    if (open_out(out_spec, &out_fd) < 0) {
        answer_err(resp, errno, "stdout");
        close(in_fd);
        goto done;
    }
    if (!same_err && open_out(err_spec, &err_fd) < 0) {
        answer_err(resp, errno, "stderr");
        close(in_fd);
        if (out_fd >= 0) close(out_fd);
        goto done;
    }

    int spawn_errno = 0, exec_errno = 0;
    const char *exec_stage = "exec";
#ifdef PERFLAB_LAUNCHER_FORK
    (void)mask;
    int errpipe[2];
    if (pipe2(errpipe, O_CLOEXEC) < 0) {
        answer_err(resp, errno, "pipe");
        close(in_fd);
        if (out_fd >= 0) close(out_fd);
        if (err_fd >= 0) close(err_fd);
        goto done;
    }
    long long t0 = now_ns();
    pid_t pid = fork();
    if (pid == 0) {
        const char *stage = child_prepare(in_fd, out_fd, err_fd, same_err, cwd);
        if (!stage) {
            execve(argv[0], argv, envp);
            stage = "exec";
        }
        char msg[64];
        char *p = put_num(msg, errno);
        *p++ = ' ';
        p = put_str(p, stage);
        if (write(errpipe[1], msg, (size_t)(p - msg)) < 0) { /* nothing more to do */ }
        _exit(127);
    }
    spawn_errno = errno;
    close(errpipe[1]);
    if (pid > 0) {
        current_pid = pid;
        setpgid(pid, pid); /* also from this side, so a timeout kill never races the child's setpgid */
        /* EOF on the pipe means exec succeeded (O_CLOEXEC); otherwise the child tells why it failed. */
        char child_msg[64] = {0};
        ssize_t got;
        do {
            got = read(errpipe[0], child_msg, sizeof child_msg - 1);
        } while (got < 0 && errno == EINTR);
        if (got > 0) {
            char *space = strchr(child_msg, ' ');
            exec_errno = atoi(child_msg);
            if (exec_errno == 0) exec_errno = EINVAL;
            exec_stage = space ? space + 1 : "exec";
            static char stage_copy[16];
            strncpy(stage_copy, exec_stage, sizeof stage_copy - 1);
            exec_stage = stage_copy;
        }
    }
    close(errpipe[0]);
#else
    /* No handler may run in the child while it borrows our memory: block every signal around the
     * spawn (the child unblocks after resetting dispositions, just before execve). */
    struct child_args args = {in_fd, out_fd, err_fd, same_err, cwd, argv, envp, 0, NULL};
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    long long t0 = now_ns();
    pid_t pid = clone(child_main, child_stack + sizeof child_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
    spawn_errno = errno;
    /* We run again only after the child's execve or _exit, so its setpgid has happened already; a
     * SIGTERM that arrived meanwhile is delivered at the unblock below and finds current_pid set. */
    if (pid > 0) current_pid = pid;
    sigprocmask(SIG_SETMASK, mask, NULL);
    if (pid > 0) {
        if (args.stage) {
            exec_errno = args.err ? args.err : EINVAL;
            exec_stage = args.stage;
        }
    }
#endif
    close(in_fd);
    if (out_fd >= 0) close(out_fd);
    if (err_fd >= 0) close(err_fd);
    if (pid < 0) {
        answer_err(resp, spawn_errno, "fork");
        goto done;
    }

    int status = 0, timed_out = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    if (timeout_ns <= 0 || exec_errno) {
        while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
        }
    } else {
        long long deadline = t0 + timeout_ns;
        for (;;) {
            pid_t r = wait4(pid, &status, WNOHANG, &ru);
            if (r == pid) break;
            long long left = deadline - now_ns();
            if (left <= 0) {
                kill(-pid, SIGKILL);
                kill(pid, SIGKILL);
                timed_out = 1;
                while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
                }
                break;
            }
            struct timespec ts = {left / 1000000000LL, left % 1000000000LL};
            sigtimedwait(chld, NULL, &ts); /* wakes on SIGCHLD or at the deadline */
        }
    }
    long long t1 = now_ns();
    current_pid = 0;
    long long left = 0;
    if (!keep_children && !exec_errno)
        left = kill_leftovers(pid, timed_out);
    else if (timed_out)
        kill(-pid, SIGKILL); /* stragglers that left the group leader behind */

    if (exec_errno) {
        answer_err(resp, exec_errno, exec_stage);
        goto done;
    }
    long long ut = (long long)ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec;
    long long st = (long long)ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
    long long fields[] = {t1 - t0, ut, st, ru.ru_maxrss, status, timed_out, own_hwm_kb(), left};
    char line[256];
    char *p = put_str(line, "ok");
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        *p++ = ' ';
        p = put_num(p, fields[i]);
    }
    *p++ = '\n';
    answer(resp, line, (size_t)(p - line));
    goto done;
bad:
    answer_err(resp, EINVAL, "request");
done:
    free(timeout_s);
    free(in_spec);
    free(out_spec);
    free(err_spec);
    free(cwd);
    free_list(argv, argc);
    free_list(envp, envc);
}

int main(int argc, char **argv) {
    static const char usage[] = "usage: launcher REQUEST_FD RESPONSE_FD (started by perflab)\n";
    if (argc != 3) {
        if (write(2, usage, sizeof usage - 1) < 0) { /* nothing more to do */ }
        return 2;
    }
    req_fd = atoi(argv[1]);
    int resp = atoi(argv[2]);
    if (fcntl(req_fd, F_SETFD, FD_CLOEXEC) < 0 || fcntl(resp, F_SETFD, FD_CLOEXEC) < 0) return 2;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    prctl(PR_SET_CHILD_SUBREAPER, 1); /* a run's orphans (daemons) become ours to find and kill */
    if (getppid() == 1) return 3; /* perflab died before the line above took effect */

    sigset_t chld, mask;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    sigprocmask(SIG_BLOCK, NULL, &mask); /* the launcher's normal mask: SIGCHLD blocked */
    /* Never give memory back: an RSS that only grows keeps the kernel's per-CPU RSS estimate used at
     * execve at or below the exact VmHWM we report as the floor. */
    mallopt(M_TRIM_THRESHOLD, -1);
    mallopt(M_MMAP_MAX, 0);
    own_hwm_kb(); /* touch that code now, so the floor does not grow after the first run */

    for (;;) {
        char *kind = field();
        if (!kind) return 0;
        int keep = strcmp(kind, "K") == 0; /* K: run and keep what it leaves running */
        int quit = !keep && strcmp(kind, "R") != 0;
        free(kind);
        if (quit) return 0;
        run_one(resp, &chld, &mask, keep);
    }
}
