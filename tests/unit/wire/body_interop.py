#!/usr/bin/env python3
"""Checks that Herald typed bodies and Python's msgpack module understand each other.

Usage: body_interop.py <path to the body_interop program>. Runs both directions:
C++ writes a body that Python reads and checks; Python writes one that C++ reads and checks.
Exit 0 when both agree."""
import os
import subprocess
import sys
import tempfile

import msgpack

EXPECTED = {
    "name": "h\u00e9raut \u2713",
    "count": -1234567890123,
    "values": [0.5, -2.25, 1e300],
    "blob": bytes([0x00, 0x01, 0x7F, 0x80, 0xFF]),
}


def cpp_to_python(program, folder):
    path = os.path.join(folder, "from_cpp.msgpack")
    subprocess.run([program, "write", path], check=True)
    with open(path, "rb") as f:
        value = msgpack.unpackb(f.read(), raw=False)
    if value != EXPECTED:
        sys.exit(f"python read {value!r}, expected {EXPECTED!r}")
    if not isinstance(value["blob"], bytes):
        sys.exit("blob did not arrive as MessagePack bin")


def python_to_cpp(program, folder):
    path = os.path.join(folder, "from_python.msgpack")
    # Keys in another order than the C++ struct, plus one it does not know: both must be fine.
    reordered = {"blob": EXPECTED["blob"], "values": EXPECTED["values"],
                 "extra": [1, 2, 3], "count": EXPECTED["count"], "name": EXPECTED["name"]}
    with open(path, "wb") as f:
        f.write(msgpack.packb(reordered, use_bin_type=True))
    subprocess.run([program, "read", path], check=True)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory() as folder:
        cpp_to_python(sys.argv[1], folder)
        python_to_cpp(sys.argv[1], folder)
    print("body_interop: C++ -> Python and Python -> C++ agree")


if __name__ == "__main__":
    main()
