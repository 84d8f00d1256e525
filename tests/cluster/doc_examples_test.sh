#!/usr/bin/env bash
# Runs every example of docs/silly.net.cluster.md exactly as written, with
# the real binary, and checks that each does what its comments say. DNS
# goes to a resolver on 127.0.0.1 (nobody listens there), so no example
# traffic leaves the machine.
# Usage: doc_examples_test.sh SILLY DOC [en]
#   en: DOC is the English translation, whose examples print in English.
set -u
lang=${3:-zh}
silly=$(readlink -f "$1")
doc=$(readlink -f "$2")
work=$(mktemp -d)
# Only the script itself cleans up: a child killed between fork and exec
# still runs its copy of this trap.
trap '[ "$BASHPID" = "$$" ] && rm -rf "$work"' EXIT
printf 'nameserver 127.0.0.1\n' >"$work/resolv.conf"
printf '127.0.0.1 localhost\n' >"$work/hosts"

# Each ```lua validate block becomes ex1.lua, ex2.lua, ... in order.
awk -v dir="$work" '
  /^```lua validate/ { n++; file = dir "/ex" n ".lua"; inside = 1; next }
  /^```/ && inside { inside = 0; close(file); next }
  inside { print > file }
' "$doc"

pass=0
fail=0
run() { # run N SECONDS: runs example N, output in $work/outN
  timeout -s KILL "$2" "$silly" "$work/ex$1.lua" --sys.dns.resolv_conf="$work/resolv.conf" \
    --sys.dns.hosts="$work/hosts" >"$work/out$1" 2>&1
}
expect() { # expect N REGEX [COUNT]
  local got
  got=$(grep -cE -- "$2" "$work/out$1")
  if [ "$got" -ge "${3:-1}" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: example $1: expected ${3:-1} line(s) matching: $2 (found $got)"
    sed 's/^/    | /' "$work/out$1"
  fi
}
refute() { # refute N REGEX
  if grep -qE -- "$2" "$work/out$1"; then
    fail=$((fail + 1))
    echo "FAIL: example $1: unexpected line matching: $2"
    sed 's/^/    | /' "$work/out$1"
  else
    pass=$((pass + 1))
  fi
}

count=$(ls "$work"/ex*.lua | wc -l)
[ "$count" -eq 9 ] || { echo "FAIL: expected 9 examples in the doc, found $count"; exit 1; }

if [ "$lang" = en ]; then
# 1. cluster.new: ping -> pong through zproto, server and client in one process.
run 1 2
expect 1 $'^server listening:\t[0-9]+$'
expect 1 $'^new connection:\t[0-9]+\t127\\.0\\.0\\.1:[0-9]+$'
expect 1 $'^request:\tHello$'
expect 1 $'^response:\tHello from server$'
expect 1 $'^connection closed:\t[0-9]+\t0$'

# 2. listen on two ports (the second with a backlog).
run 2 1
expect 2 $'^listening:\t[0-9]+\t[0-9]+$'

# 3. connect: nobody on 8888, and example.com does not resolve here.
run 3 2
expect 3 $'^connection 1:\tnil\tConnection refused$'
expect 3 $'^connection 2:\tnil\t.+'
expect 3 $'^connect failed:\tConnection refused$'

# 4. call: 10 + 20 comes back as 30.
run 4 2
expect 4 $'^result:\t30$'

# 5. send: five one-way notices arrive.
run 5 2
for i in 1 2 3 4 5; do expect 5 $'^notification:\tnotification #'"$i"'$'; done
refute 5 "send failed"

# 6. close: true, "connected" then false, "closed"; callbacks fire.
run 6 2
expect 6 $'^close:\ttrue\tconnected$'
expect 6 $'^close again:\tfalse\tclosed$'
expect 6 $'^client connection closed:\t[0-9]+\t0$'
expect 6 $'^connection closed:\t[0-9]+\t0$'

# 7. three nodes: registration, heartbeat, forwarding.
run 7 3
for n in 1 2 3; do expect 7 "^\\[node$n\\] listening on port: 1000$n$"; done
expect 7 '^\[node1\] accepted: 127\.0\.0\.1:[0-9]+$' 2
expect 7 '^\[node1\] node registered: node2 @ 127\.0\.0\.1:10002$'
expect 7 '^\[node1\] node registered: node3 @ 127\.0\.0\.1:10003$'
expect 7 $'^register response:\t'
expect 7 $'^heartbeat response:\t[0-9]+$'
expect 7 '^\[node1\] forwarding to node2: Hello from node3$'
expect 7 $'^forward result:\t'

# 8. broadcast to three listeners, three acknowledgements.
run 8 3
expect 8 $'^broadcast received:\tNotice: maintenance in 10 minutes$' 3
expect 8 $'^acknowledged by:\tnode_[0-9]+$' 3
expect 8 $'^broadcast done, acknowledgements:\t3$'

# 9. round-robin over three workers: all ten tasks done.
run 9 3
for i in $(seq 10); do
  expect 9 "^\\[Worker [123]\\] task #$i: task data $i$"
  expect 9 "^task #$i result: Worker [123] done$"
done

else
# 1. cluster.new: ping -> pong through zproto, server and client in one process.
run 1 2
expect 1 $'^服务器监听:\t[0-9]+$'
expect 1 $'^新连接:\t[0-9]+\t127\\.0\\.0\\.1:[0-9]+$'
expect 1 $'^收到请求:\tHello$'
expect 1 $'^收到响应:\tHello from server$'
expect 1 $'^连接关闭:\t[0-9]+\t0$'

# 2. listen on two ports (the second with a backlog).
run 2 1
expect 2 $'^监听端口:\t[0-9]+\t[0-9]+$'

# 3. connect: nobody on 8888, and example.com does not resolve here.
run 3 2
expect 3 $'^连接1:\tnil\tConnection refused$'
expect 3 $'^连接2:\tnil\t.+'
expect 3 $'^连接失败:\tConnection refused$'

# 4. call: 10 + 20 comes back as 30 ("输出: 30").
run 4 2
expect 4 $'^计算结果:\t30$'

# 5. send: five one-way notices arrive.
run 5 2
for i in 1 2 3 4 5; do expect 5 $'^收到通知:\t通知 #'"$i"'$'; done
refute 5 "发送失败"

# 6. close: true, "connected" then false, "closed"; callbacks fire.
run 6 2
expect 6 $'^关闭连接:\ttrue\tconnected$'
expect 6 $'^重复关闭:\tfalse\tclosed$'
expect 6 $'^客户端连接关闭:\t[0-9]+\t0$'
expect 6 $'^连接已关闭:\t[0-9]+\t0$'

# 7. three nodes: registration, heartbeat, forwarding.
run 7 3
for n in 1 2 3; do expect 7 "^\\[node$n\\] 监听端口: 1000$n$"; done
expect 7 '^\[node1\] 接受连接: 127\.0\.0\.1:[0-9]+$' 2
expect 7 '^\[node1\] 节点注册: node2 @ 127\.0\.0\.1:10002$'
expect 7 '^\[node1\] 节点注册: node3 @ 127\.0\.0\.1:10003$'
expect 7 $'^注册响应:\t'
expect 7 $'^心跳响应:\t[0-9]+$'
expect 7 '^\[node1\] 转发消息到 node2: Hello from node3$'
expect 7 $'^转发结果:\t'

# 8. broadcast to three listeners, three acknowledgements.
run 8 3
expect 8 $'^接收广播:\t重要通知：系统将于 10 分钟后维护$' 3
expect 8 $'^收到确认:\tnode_[0-9]+$' 3
expect 8 $'^广播完成，确认数:\t3$'

# 9. round-robin over three workers: all ten tasks done.
run 9 3
for i in $(seq 10); do
  expect 9 "^\\[Worker [123]\\] 处理任务 #$i: 任务数据 $i$"
  expect 9 "^任务 #$i 结果: Worker [123] 完成$"
done

fi

for n in $(seq 9); do refute "$n" ' E |stack traceback'; done

echo "doc examples: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
