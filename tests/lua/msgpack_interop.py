"""Interop vectors for the msgpack codec, from python3-msgpack (Debian).

  msgpack_interop.py emit         prints "name hex" for each case below
  msgpack_interop.py check FILE   decodes "name hex" lines written by silly
                                  and compares them with the cases below
"""
import math
import sys

import msgpack

CASES = {
    "nil": None,
    "true": True,
    "false": False,
    "zero": 0,
    "fixint": 127,
    "uint8": 255,
    "uint16": 65535,
    "uint32": 2**32 - 1,
    "int64_max": 2**63 - 1,
    "negfix": -32,
    "int8": -128,
    "int16": -32768,
    "int32": -2**31,
    "int64_min": -2**63,
    "big": 2**53 + 1,
    "half": 0.5,
    "negfloat": -1.25,
    "huge": 1e300,
    "inf": math.inf,
    "empty_str": "",
    "str": "hello",
    "utf8": "h\u00e9llo \u4e16\u754c",
    "str16": "x" * 300,
    "str32": "y" * 70000,
    "bin": b"\x00\x01\xff",
    "empty_array": [],
    "array": [1, 2, 3],
    "array16": list(range(20)),
    "nested": [1, [2, [3, [4, "deep"]]]],
    "empty_map": {},
    "map": {"a": 1, "b": "two", "c": [3]},
    "int_keys": {10: "x", 20: "y"},
    "mixed": {"list": [True, None, 1.5], "map": {"k": -7}, "s": ""},
}

# Only from Python to silly: Lua has no unsigned 64-bit or float32 values.
ONE_WAY = {
    "uint64_max": 2**64 - 1,
    "float32": 1.5,
}


def emit():
    for name, value in CASES.items():
        print(name, msgpack.packb(value, use_bin_type=True).hex())
    print("uint64_max", msgpack.packb(ONE_WAY["uint64_max"]).hex())
    print("float32", msgpack.packb(ONE_WAY["float32"], use_single_float=True).hex())


def check(path):
    failed = 0
    seen = 0
    with open(path) as f:
        for line in f:
            name, hexdata = line.split()
            got = msgpack.unpackb(bytes.fromhex(hexdata), raw=False, strict_map_key=False)
            want = CASES[name]
            seen += 1
            if got != want or type(got) is not type(want):
                failed += 1
                print("FAIL", name, "got", repr(got)[:80], "want", repr(want)[:80])
            else:
                print("ok", name)
    print(f"python decoded silly's bytes: {seen - failed} passed, {failed} failed")
    return 1 if failed or seen != len(CASES) else 0


if __name__ == "__main__":
    if sys.argv[1] == "emit":
        emit()
    else:
        sys.exit(check(sys.argv[2]))
