#!/usr/bin/env bash
# The silly command line: exit codes, signals, load errors, output.
# Usage: cli_test.sh SILLY
set -u
silly=$(readlink -f "$1")
work=$(mktemp -d)
# Only the script itself cleans up: a child killed between fork and exec
# still runs its copy of this trap.
trap '[ "$BASHPID" = "$$" ] && rm -rf "$work"' EXIT
cd "$work" || exit 1
pass=0
fail=0

check() { # check NAME CONDITION-EXIT-CODE
  if [ "$2" -eq 0 ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $1"
  fi
}

out=$("$silly" -v); check "-v prints the version" $([ "$out" = "0.6" ]; echo $?)
"$silly" -h >/dev/null; check "-h exits 0" $?

"$silly" >/dev/null 2>&1; rc=$?
check "no script: usage and exit 2 (got $rc)" $([ $rc -eq 2 ]; echo $?)

echo 'print("x")' >ok.lua
err=$("$silly" ok.lua --bogus 2>&1 >/dev/null); rc=$?
check "unknown option exits 2 (got $rc)" $([ $rc -eq 2 ]; echo $?)
check "unknown option is named" $(echo "$err" | grep -q -- "--bogus"; echo $?)

err=$("$silly" missing.lua 2>&1); rc=$?
check "missing script exits 1 (got $rc)" $([ $rc -eq 1 ]; echo $?)
check "missing script is named" $(echo "$err" | grep -q "missing.lua"; echo $?)
err=$("$silly" ok.lua --metrics=nonsense 2>&1); rc=$?
check "a bad --metrics address exits 1 (got $rc)" $([ $rc -eq 1 ]; echo $?)
check "and says why" $(echo "$err" | grep -q -- "--metrics=nonsense: address needs a port"; echo $?)
"$silly" -h | grep -q -- "--metrics=ADDR"; check "--help lists --metrics" $?

# Settings the runtime reads itself are checked like options.
"$silly" ok.lua -l trace >/dev/null 2>err.txt; rc=$?
check "an unknown log level exits 2 (got $rc)" $([ $rc -eq 2 ]; echo $?)
check "and names it" $(grep -q "unknown log level 'trace'" err.txt; echo $?)
"$silly" ok.lua --sys.loop.spin_us=abc >/dev/null 2>err.txt; rc=$?
check "a non-numeric --sys.loop.spin_us exits 2 (got $rc)" $([ $rc -eq 2 ]; echo $?)
check "and says what it takes" $(grep -q "takes a non-negative integer, got 'abc'" err.txt; echo $?)
"$silly" ok.lua --sys.bogus=1 >/dev/null 2>err.txt; rc=$?
check "an unknown --sys setting exits 2 (got $rc)" $([ $rc -eq 2 ]; echo $?)

# A cluster listener anyone may reach without a secret or TLS is warned of.
cat >open.lua <<'EOF'
local cluster = require "silly.net.cluster"
local env = require "silly.env"
local c = cluster.new {marshal = function(_, cmd, b) return cmd, b end, unmarshal = function() end,
  call = function() end, close = function() end, secret = env.get("secret")}
assert(c.listen(env.get("addr")))
require("silly").exit(0)
EOF
out=$("$silly" open.lua --addr=0.0.0.0:0 2>&1)
check "an open cluster listener is warned of" $(echo "$out" | grep -q "without secret or tls"; echo $?)
out=$("$silly" open.lua --addr=127.0.0.1:0 2>&1)
check "a loopback listener is not" $( ! echo "$out" | grep -q "without secret or tls"; echo $?)
out=$("$silly" open.lua --addr=0.0.0.0:0 --secret=s3cret 2>&1)
check "nor one with a secret" $( ! echo "$out" | grep -q "without secret or tls"; echo $?)

# The command raises its soft descriptor limit to the hard one, and says so.
cat >nofile.lua <<'EOF'
local f = io.popen("prlimit --pid $PPID --nofile --output SOFT --noheadings")
print("soft " .. f:read("l"):gsub("%s", ""))
f:close()
require("silly").exit(0)
EOF
out=$(prlimit --nofile=512:4096 "$silly" nofile.lua 2>&1)
check "the soft descriptor limit is raised to the hard one" $(echo "$out" | grep -q "^soft 4096$"; echo $?)
check "and the log says so" $(echo "$out" | grep -q "descriptor limit raised from 512 to 4096"; echo $?)
out=$(prlimit --nofile=1024:1024 "$silly" nofile.lua 2>&1)
check "an equal hard limit is left as it is, quietly" \
  $( (echo "$out" | grep -q "^soft 1024$" && ! echo "$out" | grep -q "raised"); echo $?)
"$silly" -h | grep -q -- "--sys.loop.spin_us"; check "--help lists the --sys settings" $?

# Options before the script, and an option missing its value.
printf 'print("x=" .. tostring(require("silly.env").get("x")))\nrequire("silly").exit(0)\n' >env.lua
out=$("$silly" -l debug --x=1 env.lua 2>&1); rc=$?
check "options before the script (got $rc)" $([ $rc -eq 0 ] && echo "$out" | grep -q "x=1"; echo $?)
err=$("$silly" env.lua -l 2>&1); rc=$?
check "-l without a value exits 2 (got $rc)" $([ $rc -eq 2 ]; echo $?)
check "and says it needs a value" $(echo "$err" | grep -q "option '-l' needs a value"; echo $?)

# An error in the main chunk ends the process with 1 and the traceback;
# a task's error names the script's line first.
printf 'local x\nlocal function f() return x.y end\nf()\n' >boom.lua
out=$(timeout 10 "$silly" boom.lua 2>&1); rc=$?
check "a failing main script exits 1 (got $rc)" $([ $rc -eq 1 ]; echo $?)
check "with its traceback, its own line first" \
  $(echo "$out" | grep -q "E boom.lua:2 \[silly\] main script failed: boom.lua:2: attempt to index" &&
    echo "$out" | grep -q "in main chunk"; echo $?)
printf 'local silly = require "silly"\nsilly.fork(function()\n  local t\n  return t.z\nend)\nrequire("silly.time").after(50, function() silly.exit(0) end)\n' >task.lua
out=$(timeout 10 "$silly" task.lua 2>&1); rc=$?
check "a task's error does not end the process (got $rc)" $([ $rc -eq 0 ]; echo $?)
check "it is logged at the script's line" $(echo "$out" | grep -q "E task.lua:4 \[silly\] task error: task.lua:4:"; echo $?)

printf 'local a = 1\nlocal = 2\n' >bad.lua
err=$("$silly" bad.lua 2>&1); rc=$?
check "syntax error exits 1 (got $rc)" $([ $rc -eq 1 ]; echo $?)
check "syntax error names file and line: $err" $(echo "$err" | grep -q "bad.lua:2:"; echo $?)

echo 'require "silly".exit(7)' >exit7.lua
"$silly" exit7.lua >/dev/null; rc=$?
check "silly.exit(7) before any yield exits 7 (got $rc)" $([ $rc -eq 7 ]; echo $?)

cat >exitlater.lua <<'LUA'
local silly = require "silly"
local time = require "silly.time"
time.sleep(5)
silly.fork(function() silly.exit(300) end)
LUA
"$silly" exitlater.lua >/dev/null; rc=$?
check "exit code keeps its low 8 bits (got $rc)" $([ $rc -eq 44 ]; echo $?)

cat >idle.lua <<'LUA'
local silly = require "silly"
local time = require "silly.time"
print("ready")
time.sleep(60000)
LUA
for sig in TERM INT; do
  rm -f idle.out # a "ready" left by the previous run must not count
  "$silly" idle.lua >idle.out &
  pid=$!
  for _ in $(seq 50); do grep -q ready idle.out 2>/dev/null && break; sleep 0.1; done
  kill -$sig $pid
  wait $pid; rc=$?
  check "SIG$sig ends the process with 0 (got $rc; output: $(cat idle.out))" $([ $rc -eq 0 ]; echo $?)
done

cat >handler.lua <<'LUA'
local silly = require "silly"
local signal = require "silly.signal"
local time = require "silly.time"
signal("SIGTERM", function(name)
  print("handled " .. name)
  silly.exit(5)
end)
print("ready")
time.sleep(60000)
LUA
"$silly" handler.lua >handler.out &
pid=$!
for _ in $(seq 50); do grep -q ready handler.out 2>/dev/null && break; sleep 0.1; done
kill -TERM $pid
wait $pid; rc=$?
check "a SIGTERM handler runs (rc $rc; output: $(cat handler.out))" $([ $rc -eq 5 ] && grep -q "handled SIGTERM" handler.out; echo $?)

# print reaches a pipe line by line, while the process still runs.
first=$(timeout 10 "$silly" idle.lua | head -n 1)
check "print is line-buffered through a pipe (got '$first')" $([ "$first" = "ready" ]; echo $?)

cat >taskerr.lua <<'LUA'
local silly = require "silly"
local time = require "silly.time"
silly.fork(function() error("kaboom") end)
time.sleep(5)
print("still running")
silly.exit(0)
LUA
out=$("$silly" taskerr.lua 2>&1); rc=$?
check "a task error does not stop the process (rc $rc: $out)" $([ $rc -eq 0 ] && echo "$out" | grep -q "still running"; echo $?)
check "a task error is logged with a traceback" \
  $(echo "$out" | grep -q "kaboom" && echo "$out" | grep -q "stack traceback"; echo $?)

cat >log.lua <<'LUA'
local logger = require "silly.logger"
logger.info("hello", 42)
logger.debug("hidden")
logger.infof("a=%s b=%s", 1, "x")
logger.error("shown", nil, true, 1.5)
require "silly".exit(0)
LUA
out=$("$silly" log.lua)
check "log line format: $out" $(echo "$out" | grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9a-f]{16} I log.lua:2 hello 42 $'; echo $?)
check "debug hidden at info level" $(echo "$out" | grep -q hidden; [ $? -ne 0 ]; echo $?)
check "infof renders %s" $(echo "$out" | grep -q 'I log.lua:4 a=1  b=x $'; echo $?)
check "values render as words" $(echo "$out" | grep -q 'E log.lua:5 shown nil true 1.5 $'; echo $?)
out=$("$silly" log.lua --loglevel=error)
check "--loglevel=error hides info" $(echo "$out" | grep -q hello; [ $? -ne 0 ]; echo $?)
out=$("$silly" log.lua --loglevel debug)
check "--loglevel debug shows debug" $(echo "$out" | grep -q hidden; echo $?)

# The runtime's own modules are found from any directory, with no flags;
# --lualib_path adds to the search path.
mkdir -p sub/lib
echo 'return {answer = 42}' >sub/lib/mymod.lua
cat >sub/usemod.lua <<'LUA'
print(require "mymod".answer, require "silly.env".get("k"))
require "silly".exit(0)
LUA
out=$(cd / && "$silly" "$work/sub/usemod.lua" --lualib_path="$work/sub/lib/?.lua" --k=v)
check "--lualib_path and --key=value" $([ "$out" = "$(printf '42\tv')" ]; echo $?)

echo "cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
