"""lua_test: a Lua script run by the real silly binary; exit 0 passes."""

def lua_test(name, script = None, data = [], args = [], size = "small", **kwargs):
    script = script or name + ".lua"
    native.sh_test(
        name = name,
        size = size,
        srcs = ["//tests/lua:run_lua_test.sh"],
        args = ["$(location //:silly)", "$(location %s)" % script] + args,
        data = ["//:silly", script, "//tests/lua:testaux.lua"] + data,
        **kwargs
    )
