"""What a workspace needs to build silly, declared only where it is missing.

    local_repository(name = "silly", path = "../silly")
    load("@silly//:deps.bzl", "silly_deps")
    silly_deps()

Everything comes from this machine: Debian's libraries under /usr as
@silly_system, Bazel's Java rules from Debian's Bazel package, and silly's
own offline stand-ins for the repositories Bazel 4 would otherwise download.
"""

load("@bazel_tools//tools/build_defs/repo:utils.bzl", "maybe")

def _from_silly_impl(ctx):
    # A repository made of one of silly's own folders (found through a file
    # in it), so that no path to silly's checkout need be written down.
    src = ctx.path(ctx.attr.marker).dirname
    for entry in src.readdir():
        ctx.symlink(entry, entry.basename)

_from_silly = repository_rule(
    implementation = _from_silly_impl,
    attrs = {"marker": attr.label(allow_single_file = True)},
)

def silly_deps():
    maybe(
        _from_silly,
        name = "rules_cc",
        marker = "@silly//third_party/rules_cc:BUILD",
    )
    maybe(
        native.local_repository,
        name = "rules_java",
        path = "/usr/share/bazel/rules/java",
    )
    maybe(
        _from_silly,
        name = "remote_coverage_tools",
        marker = "@silly//third_party/remote_coverage_tools:BUILD",
    )
    maybe(
        native.new_local_repository,
        name = "silly_system",
        build_file = "@silly//third_party/system:BUILD.system",
        path = "/usr",
    )
