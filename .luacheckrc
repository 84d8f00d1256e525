-- luacheck for the runtime's Lua modules, the tests, examples and
-- benchmarks (tests/style/luacheck_test.sh). Lua 5.4.
std = "lua54"
max_line_length = 120
exclude_files = {"bazel-*/**", "tests/vectors/**"} -- vectors: data, copied as given

-- Tests hand callbacks every argument of their signature, and hold
-- references (mutated, never read) to keep objects alive while they
-- measure memory.
files["tests/lua"] = {ignore = {"212", "241"}, max_line_length = 130}
-- not (a <= b) is meant: a NaN must fail the check.
files["tests/lua/testaux.lua"] = {ignore = {"581"}}
-- Annotation files for the Lua Language Server: declarations only.
files["lua_api/meta"] = {ignore = {"212", "241"}, max_line_length = false}
