/*
 * perflab's run launcher: a tiny process that starts each measured run so that the run's peak memory
 * (wait4's ru_maxrss) is the workload's own and not the Python interpreter's.
 *
 * Why a separate process: Linux keeps the high-water RSS of the pre-exec address space in
 * signal->maxrss, so a child forked (even vforked) from a 20-50 MB Python reports at least that much.
 * Forked from this ~1 MB launcher, the child's ru_maxrss is dominated by the workload itself.
 *
 * Protocol (perflab/bench/executor.py is the other end). The launcher reads requests from fd REQ and
 * answers on fd RESP (both given as argv[1] and argv[2]). A request is a sequence of NUL-terminated
 * strings:
 *     "R" timeout_ns stdin stdout stderr cwd argc argv[0..argc) envc env[0..envc)
 * stdin: "" = /dev/null, otherwise a path. stdout/stderr: "" = /dev/null, "-" = inherit the launcher's,
 * "=" (stderr only) = same as stdout, otherwise a path (created 0600, truncated).
 * argv[0] must be a path (perflab resolves it against PATH). timeout_ns 0 = none.
 * "Q" or EOF ends the launcher. The answer is one line:
 *     "ok WALL_NS UTIME_US STIME_US MAXRSS_KB WAIT_STATUS TIMED_OUT\n"
 *     "err ERRNO STAGE\n"   (STAGE: stdin, stdout, stderr, fork, pipe, exec, chdir, request)
 * The wall time runs from just before fork to just after wait4 returns (CLOCK_MONOTONIC).
 * On timeout the run's whole process group is killed (SIGKILL); each run gets its own group.
 * SIGTERM/SIGHUP to the launcher kill the current run's group and end the launcher; SIGINT is ignored
 * (Ctrl-C is perflab's business; it then terminates the launcher). If perflab dies, PR_SET_PDEATHSIG
 * delivers SIGTERM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
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

/* Read one NUL-terminated field; returns NULL on EOF. The buffer is owned by the caller. */
static char *field(FILE *in) {
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&buf, &cap, '\0', in);
    if (n <= 0) {
        free(buf);
        return NULL;
    }
    if (buf[n - 1] != '\0') { /* EOF in the middle of a field */
        free(buf);
        return NULL;
    }
    return buf;
}

static void answer(int fd, const char *text) {
    size_t len = strlen(text);
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
    char line[128];
    snprintf(line, sizeof line, "err %d %s\n", err, stage);
    answer(fd, line);
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

static char **read_list(FILE *in, long *count) {
    char *n_text = field(in);
    if (!n_text) return NULL;
    long n = strtol(n_text, NULL, 10);
    free(n_text);
    if (n < 0 || n > 1000000) return NULL;
    char **list = calloc((size_t)n + 1, sizeof(char *));
    if (!list) return NULL;
    for (long i = 0; i < n; i++) {
        list[i] = field(in);
        if (!list[i]) {
            free_list(list, i);
            return NULL;
        }
    }
    *count = n;
    return list;
}

static void run_one(FILE *in, int resp, const sigset_t *chld) {
    char *timeout_s = field(in), *in_spec = field(in), *out_spec = field(in), *err_spec = field(in);
    char *cwd = field(in);
    long argc = 0, envc = 0;
    char **argv = NULL, **envp = NULL;
    if (!timeout_s || !in_spec || !out_spec || !err_spec || !cwd) goto bad;
    argv = read_list(in, &argc);
    if (!argv || argc < 1) goto bad;
    envp = read_list(in, &envc);
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
        /* The child: its own process group, default signals, the run's stdio, then exec. */
        const char *stage = "exec";
        sigset_t none;
        sigemptyset(&none);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        sigprocmask(SIG_SETMASK, &none, NULL);
        prctl(PR_SET_PDEATHSIG, 0);
        setpgid(0, 0);
        if (dup2(in_fd, 0) < 0) stage = "stdin";
        else if (out_fd >= 0 && dup2(out_fd, 1) < 0) stage = "stdout";
        else if (same_err && dup2(1, 2) < 0) stage = "stderr";
        else if (err_fd >= 0 && dup2(err_fd, 2) < 0) stage = "stderr";
        else if (cwd[0] && chdir(cwd) < 0) stage = "chdir";
        else execve(argv[0], argv, envp);
        int err = errno;
        char msg[64];
        int len = snprintf(msg, sizeof msg, "%d %s", err, stage);
        if (write(errpipe[1], msg, (size_t)len) < 0) { /* nothing more to do */ }
        _exit(127);
    }
    int fork_errno = errno;
    close(errpipe[1]);
    close(in_fd);
    if (out_fd >= 0) close(out_fd);
    if (err_fd >= 0) close(err_fd);
    if (pid < 0) {
        close(errpipe[0]);
        answer_err(resp, fork_errno, "fork");
        goto done;
    }
    current_pid = pid;
    setpgid(pid, pid); /* also from this side, so a timeout kill never races the child's setpgid */

    /* EOF on the pipe means exec succeeded (O_CLOEXEC); otherwise the child tells why it failed. */
    char child_msg[64] = {0};
    ssize_t got;
    do {
        got = read(errpipe[0], child_msg, sizeof child_msg - 1);
    } while (got < 0 && errno == EINTR);
    close(errpipe[0]);

    int status = 0, timed_out = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    if (timeout_ns <= 0 || got > 0) {
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
    if (timed_out) kill(-pid, SIGKILL); /* stragglers that left the group leader behind */

    char line[256];
    if (got > 0) {
        int err = 0;
        char stage[32] = "exec";
        sscanf(child_msg, "%d %31s", &err, stage);
        answer_err(resp, err, stage);
        goto done;
    }
    long long ut = (long long)ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec;
    long long st = (long long)ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
    snprintf(line, sizeof line, "ok %lld %lld %lld %ld %d %d\n", t1 - t0, ut, st, ru.ru_maxrss, status,
             timed_out);
    answer(resp, line);
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
    if (argc != 3) {
        fprintf(stderr, "usage: %s REQUEST_FD RESPONSE_FD (started by perflab)\n", argv[0]);
        return 2;
    }
    int req = atoi(argv[1]), resp = atoi(argv[2]);
    fcntl(req, F_SETFD, FD_CLOEXEC);
    fcntl(resp, F_SETFD, FD_CLOEXEC);
    FILE *in = fdopen(req, "r");
    if (!in) return 2;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1) return 3; /* perflab died before the line above took effect */

    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);

    for (;;) {
        char *kind = field(in);
        if (!kind) return 0;
        int quit = strcmp(kind, "R") != 0;
        free(kind);
        if (quit) return 0;
        run_one(in, resp, &chld);
    }
}
