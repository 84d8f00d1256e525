// The `silly` command: silly main.lua [options] [--key=value ...]; options
// may also come before the script.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "silly/core/log.h"
#include "silly/lua_api/runtime.h"
#include "silly/lua_api/version.h"

namespace {

const char kUsage[] =
    "usage: silly [options] main.lua [options] [--key=value ...]\n"
    "  -h, --help               show this text\n"
    "  -v, --version            print the version\n"
    "  -d, --daemon             run in the background\n"
    "  -p, --logpath PATH       with --daemon: append output to PATH\n"
    "  -f, --pidfile FILE       with --daemon: lock FILE and write the pid to it\n"
    "  -l, --loglevel LEVEL     debug, info, warn or error (default info)\n"
    "  -L, --lualib_path P      ';'-separated Lua search patterns to add\n"
    "  -C, --lualib_cpath P     ';'-separated C module search patterns to add\n"
    "  --metrics=ADDR           serve Prometheus metrics at http://ADDR/metrics\n"
    "  --key=value              any other setting, read with silly.env.get\n"
    "runtime settings:\n"
    "  --sys.loop.spin_us=N     poll up to N us before blocking (default: learned; 0: block at once)\n"
    "  --sys.task.budget_ms=N   a task running N ms without yielding is stopped (default 5000; 0: never)\n"
    "  --sys.dns.hosts=FILE     the hosts file silly.net.dns reads (default /etc/hosts)\n"
    "  --sys.dns.resolv_conf=FILE  the resolver configuration (default /etc/resolv.conf)\n";

struct Cli {
  std::string script;
  std::string logpath, pidfile;
  bool daemon = false;
  silly::RuntimeOptions options;
};

enum Taken { kNotThis, kTaken, kNoValue };

// Matches "-s", "--long" or "--long=value"; value options also take the
// next word.
Taken take(int argc, char **argv, int *i, const char *shrt, const char *lng, std::string *value) {
  const char *a = argv[*i];
  size_t n = std::strlen(lng);
  if (std::strncmp(a, lng, n) == 0 && a[n] == '=') {
    *value = a + n + 1;
    return kTaken;
  }
  if (std::strcmp(a, lng) != 0 && std::strcmp(a, shrt) != 0) return kNotThis;
  if (*i + 1 >= argc) return kNoValue;
  *value = argv[++*i];
  return kTaken;
}

// The values the runtime reads itself: a log level it knows, and
// --sys.* settings it knows with values of their kind. A mistake there is
// a bad option (exit 2), not something to run on without. 0: go on;
// otherwise the exit code + 1.
int check_settings(const Cli &cli) {
  const std::string &level = cli.options.loglevel;
  if (!level.empty() && level != "debug" && level != "info" && level != "warn" && level != "error") {
    std::fprintf(stderr, "silly: unknown log level '%s' (debug, info, warn or error)\n%s", level.c_str(), kUsage);
    return 3;
  }
  static const struct {
    const char *key;
    bool number;  // a non-negative integer; otherwise any text (a path)
  } kSettings[] = {{"sys.loop.spin_us", true},
                   {"sys.task.budget_ms", true},
                   {"sys.dns.hosts", false},
                   {"sys.dns.resolv_conf", false}};
  for (const std::string &arg : cli.options.args) {
    if (arg.compare(0, 6, "--sys.") != 0) continue;
    size_t eq = arg.find('=');
    std::string key = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    std::string value = eq == std::string::npos ? std::string() : arg.substr(eq + 1);
    bool known = false;
    for (const auto &s : kSettings) {
      if (key != s.key) continue;
      known = true;
      bool digits = !value.empty() && value.size() <= 9 && value.find_first_not_of("0123456789") == std::string::npos;
      if (s.number && !digits) {
        std::fprintf(stderr, "silly: --%s takes a non-negative integer, got '%s'\n%s", s.key, value.c_str(), kUsage);
        return 3;
      }
    }
    if (!known) {
      std::fprintf(stderr, "silly: unknown runtime setting '--%s' (--help lists them)\n%s", key.c_str(), kUsage);
      return 3;
    }
  }
  return 0;
}

// 0: go on; otherwise the exit code + 1.
int parse(int argc, char **argv, Cli *cli) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 3;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!std::strcmp(a, "-h") || !std::strcmp(a, "--help")) {
      std::fputs(kUsage, stdout);
      return 1;
    }
    if (!std::strcmp(a, "-v") || !std::strcmp(a, "--version")) {
      std::puts(silly::kVersion);
      return 1;
    }
  }
  const struct {
    const char *shrt, *lng;
    std::string *to;
  } valued[] = {
      {"-p", "--logpath", &cli->logpath},
      {"-f", "--pidfile", &cli->pidfile},
      {"-l", "--loglevel", &cli->options.loglevel},
      {"-L", "--lualib_path", &cli->options.lualib_path},
      {"-C", "--lualib_cpath", &cli->options.lualib_cpath},
  };
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int first = i;
    if (a[0] != '-' && cli->script.empty()) {
      cli->script = a;  // the first word that is no option
      continue;
    }
    Taken t = kNotThis;
    for (const auto &o : valued) {
      if ((t = take(argc, argv, &i, o.shrt, o.lng, o.to)) != kNotThis) break;
    }
    if (t == kNoValue) {
      std::fprintf(stderr, "silly: option '%s' needs a value\n%s", a, kUsage);
      return 3;
    }
    if (t == kNotThis) {
      if (!std::strcmp(a, "-d") || !std::strcmp(a, "--daemon")) {
        cli->daemon = true;
      } else if (!(std::strncmp(a, "--", 2) == 0 && std::strchr(a, '=') != nullptr && a[2] != '=')) {
        std::fprintf(stderr, "silly: unknown option '%s'\n%s", a, kUsage);
        return 3;
      }  // else a setting for silly.env
    }
    // Every word but the script reaches silly.env, the built-in ones too.
    for (int k = first; k <= i; k++) cli->options.args.emplace_back(argv[k]);
  }
  if (cli->script.empty()) {
    std::fprintf(stderr, "silly: no script given\n%s", kUsage);
    return 3;
  }
  return check_settings(*cli);
}

// The command (not an embedding host, whose limits are its own) raises its
// soft descriptor limit to the hard one, as Go's runtime and nginx do:
// Debian's soft default of 1,024 is a few hundred players. Returns the
// limits before and after for the log; equal when nothing changed.
struct NofileChange {
  unsigned long long from = 0, to = 0;
};
NofileChange raise_nofile() {
  struct rlimit rl;
  NofileChange c;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return c;
  c.from = c.to = rl.rlim_cur;
  if (rl.rlim_cur >= rl.rlim_max) return c;
  rlim_t want = rl.rlim_max;
  if (want == RLIM_INFINITY) {
    // The kernel takes no more than fs.nr_open.
    want = 1048576;
    if (FILE *f = std::fopen("/proc/sys/fs/nr_open", "r")) {
      unsigned long long v = 0;
      if (std::fscanf(f, "%llu", &v) == 1 && v > 0) want = static_cast<rlim_t>(v);
      std::fclose(f);
    }
  }
  rl.rlim_cur = want;
  if (setrlimit(RLIMIT_NOFILE, &rl) == 0) c.to = want;
  return c;
}

// Returns an exit code, or -1 to go on.
int daemonize(const Cli &cli) {
  if (!cli.daemon) return -1;
  if (daemon(1, 0) != 0) return 0;
  if (!cli.logpath.empty()) {
    int fd = open(cli.logpath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
  }
  if (!cli.pidfile.empty()) {
    int fd = open(cli.pidfile.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
      std::fprintf(stderr, "silly: pidfile %s is locked by another process\n", cli.pidfile.c_str());
      return 255;
    }
    std::string pid = std::to_string(getpid()) + "\n";
    if (ftruncate(fd, 0) != 0 || write(fd, pid.data(), pid.size()) < 0) return 255;
    // The descriptor stays open (and locked) for the life of the process.
  }
  return -1;
}

}  // namespace

int main(int argc, char **argv) {
  Cli cli;
  int rc = parse(argc, argv, &cli);
  if (rc != 0) return rc - 1;
  // Tests read output through pipes: one line at a time.
  setvbuf(stdout, nullptr, _IOLBF, 0);
  rc = daemonize(cli);
  if (rc >= 0) return rc;
  NofileChange nofile = raise_nofile();
  int code;
  {
    silly::Runtime runtime(cli.options);
    if (nofile.to != nofile.from) {
      silly::log_line(silly::LogLevel::kInfo, "[silly] descriptor limit raised from %llu to %llu (the hard limit)",
                      nofile.from, nofile.to);
    }
    code = runtime.run_file(cli.script);
    if (!runtime.error().empty()) std::fprintf(stderr, "silly: %s\n", runtime.error().c_str());
  }
  if (!cli.pidfile.empty()) unlink(cli.pidfile.c_str());
  return code;
}
