/*
 * db.c: the database of both programs: $PACKCODE_DB as given, or the embedded
 * cluster in $PACKCODE_HOME/var/pg; and the migrations runner.
 *
 * The embedded cluster is made and started under an flock on var/pg.lock, and
 * initdb runs into var/pg/data.tmp.PID renamed to var/pg/data when complete, so
 * concurrent first uses are safe and a killed initdb is never taken for a
 * cluster. PostgreSQL refuses to run as root: as root its programs run as the
 * postgres user.
 */
#include "db.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "home.h"
#include "log.h"
#include "errbuf.h"

#define PG_USER           "packcode" /* superuser and database of the embedded cluster */
#define PG_PORT           "5432"     /* names the socket file only: there is no TCP */
#define SOCKET_NAME       ".s.PGSQL." PG_PORT
#define CONNECT_TIMEOUT   "10" /* seconds */
#define LOCK_WAIT_S       300  /* for another process's initdb + start */
#define INITDB_TIMEOUT_S  180
#define PG_CTL_WAIT       "60" /* pg_ctl -t */
#define PG_CTL_TIMEOUT_S  90   /* a little over PG_CTL_WAIT */
#define PROG_OUTPUT_MAX   4096
#define EXIT_CANNOT_ENTER 125 /* the child could not chdir to the cluster */
/* pg_advisory_xact_lock key of the migrations: "packcode" in ASCII */
#define MIGRATE_LOCK_KEY 8097862917869757541LL

/* Who runs initdb and pg_ctl: ourselves, or (as root) the postgres user. */
struct pg_runner {
	int switch_user;
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	int ngroups;
};

/* Fold a multi-line message into one line: newlines (and the indent after them) become "; ". */
static void one_line(char *s)
{
	char *w = s;
	for (const char *r = s; *r;) {
		if (*r == '\n' || *r == '\r') {
			while (*r == '\n' || *r == '\r' || *r == '\t' || *r == ' ')
				r++;
			if (*r && w != s)
				*w++ = ';', *w++ = ' ';
			continue;
		}
		*w++ = *r++;
	}
	*w = '\0';
}

int db_is_embedded(void)
{
	const char *e = getenv("PACKCODE_DB");
	return !e || !*e;
}

const char *db_error_line(const PGresult *r, const PGconn *c, char *out, size_t outlen)
{
	const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (!m || !*m)
		m = r && *PQresultErrorMessage(r) ? PQresultErrorMessage(r) : PQerrorMessage(c);
	if (!m || !*m)
		m = "unknown database error";
	/* a connection's message keeps the severity: "ERROR:  ..." */
	static const char *const severities[] = {"ERROR:  ", "FATAL:  ", "PANIC:  "};
	for (size_t i = 0; i < sizeof severities / sizeof severities[0]; i++)
		if (strncmp(m, severities[i], strlen(severities[i])) == 0)
			m += strlen(severities[i]);
	snprintf(out, outlen, "%s", m);
	one_line(out);
	return out;
}

/* ---- paths ---- */

static int join(char *out, const char *a, const char *b, char *err, size_t errlen)
{
	if (snprintf(out, DB_PATH_MAX, "%s/%s", a, b) >= DB_PATH_MAX) {
		errbuf_set(err, errlen, "path too long: %s/%s", a, b);
		return -1;
	}
	return 0;
}

int db_embedded_paths(struct db_embedded_paths *p, char *err, size_t errlen)
{
	char home[DB_PATH_MAX], cwd[DB_PATH_MAX];
	const char *h = packcode_home();
	const char *bin = getenv("PACKCODE_PG_BINDIR");
	char *abs = realpath(h, NULL);
	int n;

	/* absolute, for the socket directory in a conninfo, whether or not it exists yet */
	if (abs)
		n = snprintf(home, sizeof home, "%s", abs);
	else if (h[0] == '/' || !getcwd(cwd, sizeof cwd))
		n = snprintf(home, sizeof home, "%s", h);
	else
		n = snprintf(home, sizeof home, "%s/%s", cwd, h);
	free(abs);
	if (n < 0 || (size_t)n >= sizeof home) {
		errbuf_set(err, errlen, "PACKCODE_HOME is too long");
		return -1;
	}
	if (join(p->vardir, home, "var", err, errlen) < 0 ||
	    join(p->pgdir, home, "var/pg", err, errlen) < 0 ||
	    join(p->datadir, p->pgdir, "data", err, errlen) < 0 ||
	    join(p->rundir, p->pgdir, "run", err, errlen) < 0 ||
	    join(p->logfile, p->pgdir, "log/postgresql.log", err, errlen) < 0 ||
	    join(p->lockfile, home, "var/pg.lock", err, errlen) < 0)
		return -1;
	snprintf(p->bindir, sizeof p->bindir, "%s", bin && *bin ? bin : PG_BINDIR);
	return 0;
}

/* The socket file's path must fit in sockaddr_un.sun_path (107 bytes and a NUL). */
static int check_socket_path(const struct db_embedded_paths *p, char *err, size_t errlen)
{
	size_t n = strlen(p->rundir) + 1 + strlen(SOCKET_NAME);
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
	if (n > max) {
		errbuf_set(err, errlen,
		           "the embedded cluster's socket %s/%s would be %zu bytes, over the %zu a "
		           "unix socket path allows: set PACKCODE_HOME to a shorter directory, or "
		           "PACKCODE_DB",
		           p->rundir, SOCKET_NAME, n, max);
		return -1;
	}
	/* it goes into postgresql.conf and a conninfo: keep quoting trivial */
	if (strpbrk(p->rundir, "'\"\\\n\r")) {
		errbuf_set(err, errlen,
		           "PACKCODE_HOME %s has a quote, backslash or newline in its path",
		           p->pgdir);
		return -1;
	}
	return 0;
}

/* ---- running initdb and pg_ctl ---- */

static int runner_init(struct pg_runner *u, char *err, size_t errlen)
{
	memset(u, 0, sizeof *u);
	if (geteuid() != 0)
		return 0;
	struct passwd *pw = getpwnam("postgres");
	if (!pw) {
		errbuf_set(
		    err, errlen,
		    "running as root, PostgreSQL must run as user 'postgres', which does not "
		    "exist: create it, or run as another user, or set PACKCODE_DB");
		return -1;
	}
	u->switch_user = 1;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	/* initgroups() in the child is not async-signal-safe: get the list here */
	u->ngroups = (int)(sizeof u->groups / sizeof u->groups[0]);
	if (getgrouplist("postgres", u->gid, u->groups, &u->ngroups) < 0) {
		u->groups[0] = u->gid;
		u->ngroups = 1;
	}
	return 0;
}

/* Give path to the user the server runs as (a no-op unless root). */
static int runner_own(const struct pg_runner *u, const char *path, char *err, size_t errlen)
{
	if (u->switch_user && chown(path, u->uid, u->gid) < 0) {
		errbuf_set(err, errlen, "cannot give %s to user postgres: %s", path,
		           strerror(errno));
		return -1;
	}
	return 0;
}

/* The most telling line of a program's output: the first "error" line, else the last line. */
static void telling_line(const char *out, char *line, size_t linelen)
{
	const char *best = NULL, *last = NULL;
	for (const char *s = out; *s;) {
		const char *e = strchr(s, '\n');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n) {
			last = s;
			if (!best && (memmem(s, n, "error", 5) || memmem(s, n, "FATAL", 5)))
				best = s;
		}
		s += n + (e ? 1 : 0);
	}
	const char *pick = best ? best : last;
	if (!pick) {
		snprintf(line, linelen, "no output");
		return;
	}
	size_t n = strcspn(pick, "\n");
	snprintf(line, linelen, "%.*s", (int)n, pick);
}

/* Close every descriptor from fd up, in a child about to exec. */
static void close_from(int fd)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	if (close_range((unsigned)fd, ~0U, 0) == 0)
		return;
#endif
	long max = sysconf(_SC_OPEN_MAX);
	for (long i = fd; i < (max > 0 && max < 65536 ? max : 65536); i++)
		close((int)i);
}

/*
 * Run argv (a server program) in cwd, as the postgres user when root, with
 * stdout and stderr captured into out. Returns its exit status, or -1 with err
 * if it could not run or took more than timeout_s (it is then killed).
 */
static int run_prog(const struct pg_runner *u, const char *cwd, char *const argv[], int timeout_s,
                    char *out, size_t outlen, char *err, size_t errlen)
{
	int pfd[2], status;
	size_t used = 0;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		errbuf_set(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	pid_t parent = getpid();
	pid = fork();
	if (pid < 0) {
		errbuf_set(err, errlen, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(pfd[1], 1) < 0 || dup2(pfd[1], 2) < 0)
			_exit(127);
		close_from(3); /* the postmaster must not inherit our sockets or locks */
		if (u->switch_user && (setgroups((size_t)u->ngroups, u->groups) < 0 ||
		                       setgid(u->gid) < 0 || setuid(u->uid) < 0)) {
			dprintf(2, "cannot become user postgres: %s\n", strerror(errno));
			_exit(127);
		}
#ifdef __linux__
		/* die with us: a killed packcode must not leave an initdb running (after
		 * setuid, which clears it) */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(127);
#else
		(void)parent;
#endif
		if (chdir(cwd) < 0) {
			dprintf(2, "%s\n", strerror(errno));
			_exit(EXIT_CANNOT_ENTER);
		}
		execv(argv[0], argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);

	time_t deadline = time(NULL) + timeout_s;
	for (;;) {
		struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
		int left = (int)(deadline - time(NULL));
		int n = left > 0 ? poll(&pf, 1, left * 1000) : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(pfd[0]);
			errbuf_set(err, errlen, "%s did not finish within %d s", argv[0],
			           timeout_s);
			return -1;
		}
		char buf[1024];
		ssize_t r = read(pfd[0], buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		/* keep the first outlen - 1 bytes: errors come early, noise late */
		size_t take = (size_t)r < outlen - 1 - used ? (size_t)r : outlen - 1 - used;
		memcpy(out + used, buf, take);
		used += take;
		out[used] = '\0';
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			errbuf_set(err, errlen, "waitpid: %s", strerror(errno));
			return -1;
		}
	}
	if (!WIFEXITED(status)) {
		errbuf_set(err, errlen, "%s was killed by signal %d", argv[0], WTERMSIG(status));
		return -1;
	}
	return WEXITSTATUS(status);
}

/* Run a server program; 0, or -1 with an error that says what failed and why. */
static int run_step(const struct pg_runner *u, const struct db_embedded_paths *p, const char *what,
                    char *const argv[], int timeout_s, char *err, size_t errlen)
{
	char out[PROG_OUTPUT_MAX], line[512];
	int rc = run_prog(u, p->pgdir, argv, timeout_s, out, sizeof out, err, errlen);
	if (rc == 0)
		return 0;
	if (rc < 0)
		return -1;
	telling_line(out, line, sizeof line);
	if (rc == EXIT_CANNOT_ENTER) {
		errbuf_set(err, errlen,
		           "%s cannot enter %s (%s): a parent directory is not searchable by it; "
		           "set PACKCODE_HOME to a directory it can reach, or use PACKCODE_DB",
		           u->switch_user ? "user postgres (PostgreSQL does not run as root)"
		                          : "this user",
		           p->pgdir, line);
		return -1;
	}
	errbuf_set(err, errlen, "%s failed (exit %d): %s; see %s", what, rc, line,
	           strcmp(what, "initdb") == 0 ? "PACKCODE_PG_BINDIR and the message above"
	                                       : p->logfile);
	return -1;
}

static int check_program(const struct db_embedded_paths *p, const char *name, char *path, char *err,
                         size_t errlen)
{
	if (join(path, p->bindir, name, err, errlen) < 0)
		return -1;
	if (access(path, X_OK) < 0) {
		errbuf_set(err, errlen,
		           "cannot run %s: %s (set PACKCODE_PG_BINDIR to PostgreSQL's bin "
		           "directory, or use PACKCODE_DB)",
		           path, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- files ---- */

static int make_dir(const char *path, mode_t mode, int *made, char *err, size_t errlen)
{
	if (made)
		*made = 0;
	if (mkdir(path, mode) == 0) {
		if (made)
			*made = 1;
		/* exactly mode, whatever the umask: postgres must be able to pass */
		if (chmod(path, mode) < 0) {
			errbuf_set(err, errlen, "chmod %s: %s", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	errbuf_set(err, errlen, "cannot create %s: %s", path, strerror(errno));
	return -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

static int rm_rf(const char *path)
{
	if (access(path, F_OK) < 0)
		return 0;
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write text to path: appended, or replaced atomically (temporary file, rename). */
static int write_file(const struct pg_runner *u, const char *path, const char *text, int append,
                      char *err, size_t errlen)
{
	char tmp[DB_PATH_MAX + 16];
	const char *target = append ? path : tmp;
	size_t n = strlen(text);
	int fd;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0600);
	if (fd < 0)
		goto fail;
	if (write(fd, text, n) != (ssize_t)n) {
		close(fd);
		goto fail;
	}
	if (close(fd) < 0)
		goto fail;
	if (!append) {
		if (runner_own(u, tmp, err, errlen) < 0) {
			unlink(tmp);
			return -1;
		}
		if (rename(tmp, path) < 0)
			goto fail;
	}
	return 0;
fail:
	errbuf_set(err, errlen, "cannot write %s: %s", target, strerror(errno));
	if (!append)
		unlink(tmp);
	return -1;
}

/* ---- the embedded cluster ---- */

/* 1 if datadir holds a cluster, 0 if not, -1 if that cannot be told (errno set). */
static int is_cluster(const char *datadir)
{
	char v[DB_PATH_MAX + 16];
	snprintf(v, sizeof v, "%s/PG_VERSION", datadir);
	if (access(v, F_OK) == 0)
		return 1;
	return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
}

static enum db_embedded_state state_of(const struct db_embedded_paths *p)
{
	char pidfile[DB_PATH_MAX + 24], line[32];
	if (is_cluster(p->datadir) == 0)
		return DB_EMBEDDED_ABSENT;
	snprintf(pidfile, sizeof pidfile, "%s/postmaster.pid", p->datadir);
	FILE *f = fopen(pidfile, "re");
	if (!f)
		return DB_EMBEDDED_STOPPED;
	long pid = fgets(line, sizeof line, f) ? strtol(line, NULL, 10) : 0;
	fclose(f);
	/* as pg_ctl does: a postmaster.pid whose process is alive */
	if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM))
		return DB_EMBEDDED_RUNNING;
	return DB_EMBEDDED_STOPPED;
}

enum db_embedded_state db_embedded_status(char *datadir, size_t datadirlen)
{
	struct db_embedded_paths p;
	if (db_embedded_paths(&p, NULL, 0) < 0) {
		if (datadir && datadirlen)
			datadir[0] = '\0';
		return DB_EMBEDDED_ABSENT;
	}
	if (datadir && datadirlen)
		snprintf(datadir, datadirlen, "%s", p.datadir);
	return state_of(&p);
}

/* An exclusive flock on var/pg.lock, waited for at most LOCK_WAIT_S. The fd, or -1. */
static int lock_cluster(const struct db_embedded_paths *p, char *err, size_t errlen)
{
	int fd = open(p->lockfile, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		errbuf_set(err, errlen, "cannot open lock file %s: %s", p->lockfile,
		           strerror(errno));
		return -1;
	}
	for (int waited_ms = 0;; waited_ms += 50) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			errbuf_set(err, errlen, "cannot lock %s: %s", p->lockfile, strerror(errno));
			break;
		}
		if (waited_ms >= LOCK_WAIT_S * 1000) {
			errbuf_set(err, errlen, "another process held %s for over %d s",
			           p->lockfile, LOCK_WAIT_S);
			break;
		}
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	close(fd);
	return -1;
}

/* We hold the lock: a data.tmp.PID is what a killed process's initdb left. */
static void remove_unfinished(const struct db_embedded_paths *p)
{
	DIR *d = opendir(p->pgdir);
	struct dirent *e;
	char path[DB_PATH_MAX + 256];
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "data.tmp.", 9) != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", p->pgdir, e->d_name);
		log_warn("event=db_remove_unfinished dir=%s", LOG_Q(path));
		rm_rf(path);
	}
	closedir(d);
}

/* initdb into data.tmp.PID, then rename it to data: data exists only complete. */
static int create_cluster(const struct pg_runner *u, const struct db_embedded_paths *p, char *err,
                          size_t errlen)
{
	char initdb[DB_PATH_MAX], tmp[DB_PATH_MAX + 32], conf[DB_PATH_MAX + 64];
	if (check_program(p, "initdb", initdb, err, errlen) < 0)
		return -1;
	remove_unfinished(p);
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p->datadir, (long)getpid());
	if (make_dir(tmp, 0700, NULL, err, errlen) < 0 || runner_own(u, tmp, err, errlen) < 0)
		goto fail;
	log_debug("event=db_initdb datadir=%s", LOG_Q(p->datadir));
	char *const argv[] = {initdb,
	                      "-D",
	                      tmp,
	                      "-U",
	                      PG_USER,
	                      "-E",
	                      "UTF8",
	                      "--locale=C",
	                      "--auth-local=trust",
	                      "--auth-host=reject",
	                      NULL};
	if (run_step(u, p, "initdb", argv, INITDB_TIMEOUT_S, err, errlen) < 0)
		goto fail;
	snprintf(conf, sizeof conf, "%s/postgresql.conf", tmp);
	if (write_file(u, conf,
	               "\n# packcode: rewritten at each start by packcode (lib/db.c)\n"
	               "include = 'packcode.conf'\n",
	               1, err, errlen) < 0)
		goto fail;
	if (rename(tmp, p->datadir) < 0) {
		errbuf_set(err, errlen, "cannot rename %s to %s: %s", tmp, p->datadir,
		           strerror(errno));
		goto fail;
	}
	return 0;
fail:
	rm_rf(tmp);
	return -1;
}

/*
 * The embedded cluster's sizing, from the machine it runs on (db.h): a
 * quarter of the memory for shared buffers (at least PostgreSQL's 128 MB,
 * at most 8 GB), the rest counted as the OS cache; WAL room and a
 * checkpoint interval wide enough that checkpoints come on time, not forced
 * by WAL volume (each forced one makes every page dirtied next cost a full
 * image in the WAL); compressed full-page images; random reads priced for
 * SSDs. synchronous_commit stays on: a claim is durable when acknowledged.
 */
void db_tuning(char *out, size_t outlen)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
	long long mb = pages > 0 && page > 0 ? (long long)pages * page / (1024 * 1024) : 1024;
	long long shared = mb / 4, maint = mb / 16;
	if (shared < 128)
		shared = 128;
	if (shared > 8192)
		shared = 8192;
	if (maint < 64)
		maint = 64;
	if (maint > 1024)
		maint = 1024;
	snprintf(out, outlen,
	         "shared_buffers = '%lldMB'\n"
	         "effective_cache_size = '%lldMB'\n"
	         "maintenance_work_mem = '%lldMB'\n"
	         "max_wal_size = '8GB'\n"
	         "min_wal_size = '1GB'\n"
	         "checkpoint_timeout = '15min'\n"
	         "checkpoint_completion_target = 0.9\n"
	         "wal_compression = on\n"
	         "random_page_cost = 1.1\n"
	         "effective_io_concurrency = 200\n"
	         "synchronous_commit = on\n",
	         shared, mb - shared > shared ? mb - shared : shared, maint);
}

static int start_cluster(const struct pg_runner *u, const struct db_embedded_paths *p, char *err,
                         size_t errlen)
{
	char pg_ctl[DB_PATH_MAX], logdir[DB_PATH_MAX], conf[DB_PATH_MAX + 16];
	char text[DB_PATH_MAX + 1024], tuning[640];
	if (check_program(p, "pg_ctl", pg_ctl, err, errlen) < 0 ||
	    join(logdir, p->pgdir, "log", err, errlen) < 0 ||
	    make_dir(p->rundir, 0700, NULL, err, errlen) < 0 ||
	    runner_own(u, p->rundir, err, errlen) < 0 ||
	    make_dir(logdir, 0700, NULL, err, errlen) < 0 || runner_own(u, logdir, err, errlen) < 0)
		return -1;
	/* where the socket goes is only known now: the home may have moved */
	snprintf(conf, sizeof conf, "%s/packcode.conf", p->datadir);
	db_tuning(tuning, sizeof tuning);
	snprintf(text, sizeof text,
	         "# written by packcode at each start of the embedded cluster: do not edit;\n"
	         "# ALTER SYSTEM (postgresql.auto.conf, read after this) overrides it\n"
	         "listen_addresses = ''\n"
	         "port = " PG_PORT "\n"
	         "unix_socket_directories = '\"%s\"'\n"
	         "# sized for this machine (docs/operations.md, \"Tuning\")\n"
	         "%s",
	         p->rundir, tuning);
	if (write_file(u, conf, text, 0, err, errlen) < 0)
		return -1;
	log_debug("event=db_start datadir=%s", LOG_Q(p->datadir));
	char *const argv[] = {pg_ctl, "-D", (char *)p->datadir, "-l", (char *)p->logfile,
	                      "-w",   "-t", PG_CTL_WAIT,        "-s", "start",
	                      NULL};
	return run_step(u, p, "pg_ctl start", argv, PG_CTL_TIMEOUT_S, err, errlen);
}

static void embedded_conninfo(const struct db_embedded_paths *p, const char *dbname, char *out,
                              size_t outlen)
{
	snprintf(out, outlen, "host='%s' port=" PG_PORT " dbname=%s user=" PG_USER, p->rundir,
	         dbname);
}

static void quiet_notices(void *arg, const char *message)
{
	(void)arg;
	if (log_enabled(LOG_DEBUG)) {
		char q[512];
		log_debug("event=db_notice message=%s", log_quote(message, q, sizeof q));
	}
}

static PGconn *connect_to(const char *conninfo, char *err, size_t errlen)
{
	const char *keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
	const char *vals[] = {CONNECT_TIMEOUT, program_invocation_short_name, conninfo, NULL};
	/* dbname last: what the connection string says wins over our defaults */
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (!c) {
		errbuf_set(err, errlen, "out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		char line[DB_ERR_LEN];
		errbuf_set(err, errlen, "%s", db_error_line(NULL, c, line, sizeof line));
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, quiet_notices, NULL);
	return c;
}

/* The database "packcode": made once after initdb (also after a crash in between). */
static int ensure_database(const struct db_embedded_paths *p, char *err, size_t errlen)
{
	char ci[DB_PATH_MAX + 128], line[DB_ERR_LEN];
	int rc = -1;
	embedded_conninfo(p, "postgres", ci, sizeof ci);
	PGconn *c = connect_to(ci, err, errlen);
	if (!c)
		return -1;
	PGresult *r = PQexec(c, "SELECT 1 FROM pg_database WHERE datname = '" PG_USER "'");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		errbuf_set(err, errlen, "%s", db_error_line(r, c, line, sizeof line));
		goto out;
	}
	if (PQntuples(r) == 0) {
		PQclear(r);
		log_debug("event=db_createdb name=" PG_USER);
		r = PQexec(c, "CREATE DATABASE " PG_USER);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			errbuf_set(err, errlen, "cannot create database " PG_USER ": %s",
			           db_error_line(r, c, line, sizeof line));
			goto out;
		}
	}
	rc = 0;
out:
	PQclear(r);
	PQfinish(c);
	return rc;
}

/* Paths, the socket check, and HOME, var/ and var/pg made: what start and stop share. */
static int prepare(struct db_embedded_paths *p, struct pg_runner *u, char *err, size_t errlen)
{
	if (!db_is_embedded()) {
		errbuf_set(err, errlen, "PACKCODE_DB is set: the embedded cluster is not in use");
		return -1;
	}
	if (db_embedded_paths(p, err, errlen) < 0 || check_socket_path(p, err, errlen) < 0 ||
	    runner_init(u, err, errlen) < 0 ||
	    make_dir(packcode_home(), 0755, NULL, err, errlen) < 0 ||
	    make_dir(p->vardir, 0755, NULL, err, errlen) < 0 ||
	    make_dir(p->pgdir, 0755, NULL, err, errlen) < 0)
		return -1;
	return 0;
}

int db_embedded_start(char *err, size_t errlen)
{
	struct db_embedded_paths p;
	struct pg_runner u;
	int lock, rc = -1;

	if (prepare(&p, &u, err, errlen) < 0)
		return -1;
	if ((lock = lock_cluster(&p, err, errlen)) < 0)
		return -1;
	int have = is_cluster(p.datadir);
	if (have < 0) {
		errbuf_set(err, errlen, "cannot look into %s: %s (is it another user's cluster?)",
		           p.datadir, strerror(errno));
		goto out;
	}
	if (!have) {
		if (access(p.datadir, F_OK) == 0) {
			errbuf_set(err, errlen, "%s exists but is not a PostgreSQL data directory",
			           p.datadir);
			goto out;
		}
		if (create_cluster(&u, &p, err, errlen) < 0)
			goto out;
	}
	if (state_of(&p) != DB_EMBEDDED_RUNNING && start_cluster(&u, &p, err, errlen) < 0)
		goto out;
	if (ensure_database(&p, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	close(lock);
	return rc;
}

int db_embedded_stop(char *err, size_t errlen)
{
	struct db_embedded_paths p;
	struct pg_runner u;
	char pg_ctl[DB_PATH_MAX];
	int lock, rc = -1;

	if (prepare(&p, &u, err, errlen) < 0)
		return -1;
	if ((lock = lock_cluster(&p, err, errlen)) < 0)
		return -1;
	if (state_of(&p) == DB_EMBEDDED_RUNNING) {
		if (check_program(&p, "pg_ctl", pg_ctl, err, errlen) < 0)
			goto out;
		log_debug("event=db_stop datadir=%s", LOG_Q(p.datadir));
		char *const argv[] = {pg_ctl, "-D",        p.datadir, "-m",   "fast", "-w",
		                      "-t",   PG_CTL_WAIT, "-s",      "stop", NULL};
		if (run_step(&u, &p, "pg_ctl stop", argv, PG_CTL_TIMEOUT_S, err, errlen) < 0)
			goto out;
	}
	rc = 0;
out:
	close(lock);
	return rc;
}

int db_conninfo(char *out, size_t outlen, char *err, size_t errlen)
{
	if (!db_is_embedded()) {
		if (snprintf(out, outlen, "%s", getenv("PACKCODE_DB")) >= (int)outlen) {
			errbuf_set(err, errlen, "PACKCODE_DB is too long");
			return -1;
		}
		return 0;
	}
	struct db_embedded_paths p;
	if (db_embedded_start(err, errlen) < 0 || db_embedded_paths(&p, err, errlen) < 0)
		return -1;
	embedded_conninfo(&p, PG_USER, out, outlen);
	return 0;
}

PGconn *db_open(char *err, size_t errlen)
{
	char ci[DB_PATH_MAX + 1024];
	if (db_conninfo(ci, sizeof ci, err, errlen) < 0)
		return NULL;
	return connect_to(ci, err, errlen);
}

/* ---- migrations ---- */

int db_migrations_known(void)
{
	return db_migrations_count;
}

static int is_known(int version)
{
	for (int i = 0; i < db_migrations_count; i++)
		if (db_migrations[i].version == version)
			return 1;
	return 0;
}

int db_migrations_applied(PGconn *c)
{
	int n = 0;
	PGresult *r = PQexec(c, "SELECT to_regclass('schema_migrations') IS NOT NULL");
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		goto fail;
	if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
		PQclear(r);
		return 0;
	}
	PQclear(r);
	r = PQexec(c, "SELECT version FROM schema_migrations");
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		goto fail;
	for (int i = 0; i < PQntuples(r); i++)
		n += is_known(atoi(PQgetvalue(r, i, 0)));
	PQclear(r);
	return n;
fail:
	PQclear(r);
	return -1;
}

/* Run one statement (or script) expecting success; -1 with err. */
static int exec_ok(PGconn *c, const char *sql, char *err, size_t errlen)
{
	char line[DB_ERR_LEN];
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (!ok)
		errbuf_set(err, errlen, "%s", db_error_line(r, c, line, sizeof line));
	PQclear(r);
	return ok ? 0 : -1;
}

/* Begin a transaction holding the migration lock. */
static int begin_locked(PGconn *c, char *err, size_t errlen)
{
	char lock[96];
	snprintf(lock, sizeof lock, "SELECT pg_advisory_xact_lock(%lld)", MIGRATE_LOCK_KEY);
	if (exec_ok(c, "BEGIN", err, errlen) < 0)
		return -1;
	if (exec_ok(c, lock, err, errlen) < 0) {
		PQclear(PQexec(c, "ROLLBACK"));
		return -1;
	}
	return 0;
}

/* The line of sql at a 1-based character position PostgreSQL reported. */
static int line_at(const char *sql, const char *position)
{
	long pos = position ? strtol(position, NULL, 10) : 0, chars = 0;
	int line = 1;
	for (const unsigned char *s = (const unsigned char *)sql; *s && chars < pos; s++) {
		if ((*s & 0xc0) != 0x80)
			chars++;
		if (*s == '\n' && chars < pos)
			line++;
	}
	return line;
}

/* Apply m unless it is applied already; *ran tells which. Its own transaction. */
static int apply_one(PGconn *c, const struct db_migration *m, int *ran, char *err, size_t errlen)
{
	char v[16], line[DB_ERR_LEN];
	const char *params[] = {v, m->name};
	PGresult *r = NULL;

	*ran = 0;
	snprintf(v, sizeof v, "%d", m->version);
	if (begin_locked(c, err, errlen) < 0)
		return -1;
	r = PQexecParams(c, "SELECT 1 FROM schema_migrations WHERE version = $1::int", 1, NULL,
	                 params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		errbuf_set(err, errlen, "%s", db_error_line(r, c, line, sizeof line));
		goto fail;
	}
	if (PQntuples(r) == 0) {
		PQclear(r);
		r = PQexec(c, m->sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
			const char *pos = PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION);
			char at[32] = "";
			if (pos)
				snprintf(at, sizeof at, " at line %d", line_at(m->sql, pos));
			errbuf_set(err, errlen, "migration %s failed%s: %s", m->name, at,
			           db_error_line(r, c, line, sizeof line));
			goto fail;
		}
		PQclear(r);
		r = PQexecParams(c,
		                 "INSERT INTO schema_migrations (version, name, applied_at) "
		                 "VALUES ($1::int, $2, now())",
		                 2, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			errbuf_set(err, errlen, "%s", db_error_line(r, c, line, sizeof line));
			goto fail;
		}
		*ran = 1;
	}
	PQclear(r);
	r = NULL;
	if (exec_ok(c, "COMMIT", err, errlen) < 0) {
		*ran = 0;
		return -1;
	}
	return 0;
fail:
	PQclear(r);
	PQclear(PQexec(c, "ROLLBACK"));
	return -1;
}

int db_migrate_report(PGconn *c, void (*applied_one)(const struct db_migration *m, void *arg),
                      void *arg, int *applied, char *err, size_t errlen)
{
	char line[DB_ERR_LEN];
	int n = db_migrations_applied(c);

	*applied = 0;
	if (n < 0) {
		errbuf_set(err, errlen, "cannot read schema_migrations: %s",
		           db_error_line(NULL, c, line, sizeof line));
		return -1;
	}
	if (n == db_migrations_count)
		return 0;
	/* the bookkeeping table, made under the same lock as the migrations */
	if (begin_locked(c, err, errlen) < 0)
		return -1;
	if (exec_ok(c,
	            "DO $$ BEGIN IF to_regclass('schema_migrations') IS NULL THEN "
	            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, "
	            "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now()); "
	            "END IF; END $$",
	            err, errlen) < 0 ||
	    exec_ok(c, "COMMIT", err, errlen) < 0) {
		PQclear(PQexec(c, "ROLLBACK"));
		return -1;
	}
	for (int i = 0; i < db_migrations_count; i++) {
		int ran;
		if (apply_one(c, &db_migrations[i], &ran, err, errlen) < 0)
			return -1;
		if (ran) {
			++*applied;
			log_debug("event=db_migrated migration=%s", db_migrations[i].name);
			if (applied_one)
				applied_one(&db_migrations[i], arg);
		}
	}
	return 0;
}

int db_migrate(PGconn *c, int *applied, char *err, size_t errlen)
{
	return db_migrate_report(c, NULL, NULL, applied, err, errlen);
}

PGconn *db_connect(char *err, size_t errlen)
{
	int applied;
	PGconn *c = db_open(err, errlen);
	if (!c)
		return NULL;
	if (db_is_embedded()) {
		if (db_migrate(c, &applied, err, errlen) < 0)
			goto fail;
		return c;
	}
	int n = db_migrations_applied(c);
	if (n < 0) {
		char line[DB_ERR_LEN];
		errbuf_set(err, errlen, "%s", db_error_line(NULL, c, line, sizeof line));
		goto fail;
	}
	if (n < db_migrations_count) {
		errbuf_set(
		    err, errlen,
		    "database has %d of %d migrations applied: run 'packcode-gen db migrate'", n,
		    db_migrations_count);
		goto fail;
	}
	return c;
fail:
	PQfinish(c);
	return NULL;
}
