"""Strips the debugging symbols from the compiled modules of a wheelhouse, in place.

Some wheels ship their C extensions unstripped (kiwisolver's 5.6 MB module is 0.2 MB
stripped; fontTools', PyYAML's, regex's, cryptography's likewise): about 25 MB of the image
that nothing reads at run time. `strip --strip-unneeded` (binutils, on the build machine; the
image gets no binutils) rewrites each such file and the wheel's RECORD gets its new hash.
Files that auditwheel relinked (an RPATH/RUNPATH, or a library grafted into a `*.libs/`
directory) are left alone: patchelf-edited files are not safe to strip.

    python deploy/container/strip-wheels.py WHEELHOUSE
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path


def is_elf(data: bytes) -> bool:
    return data[:4] == b"\x7fELF"


def strippable(name: str, path: Path) -> bool:
    """An ELF file that auditwheel did not relink (nor graft into a `*.libs/` directory)."""
    if any(part.endswith(".libs") for part in Path(name).parts):
        return False
    dynamic = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True,
                             check=False)
    return dynamic.returncode == 0 and "RPATH" not in dynamic.stdout \
        and "RUNPATH" not in dynamic.stdout


def record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def strip_wheel(wheel: Path) -> int:
    """Strip the wheel's strippable ELF members; the bytes saved."""
    with zipfile.ZipFile(wheel) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    changed: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for info, data in members:
            if not is_elf(data):
                continue
            path = Path(scratch, info.filename)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            if not strippable(info.filename, path):
                continue
            done = subprocess.run(["strip", "--strip-unneeded", str(path)], capture_output=True,
                                  check=False)
            stripped = path.read_bytes()
            if done.returncode == 0 and is_elf(stripped) and len(stripped) < len(data):
                changed[info.filename] = stripped
    if not changed:
        return 0
    saved = 0
    output = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            written = data
            if info.filename in changed:
                written = changed[info.filename]
                saved += len(data) - len(written)
            elif info.filename.endswith(".dist-info/RECORD"):
                written = rewrite_record(data.decode(), changed).encode()
            archive.writestr(info, written)
    shutil.move(output, wheel)
    return saved


def rewrite_record(record: str, changed: dict[str, bytes]) -> str:
    lines = []
    for line in record.splitlines():
        name = line.rsplit(",", 2)[0]
        lines.append(f"{name},{record_hash(changed[name])},{len(changed[name])}"
                     if name in changed else line)
    return "\n".join(lines) + "\n"


def main() -> None:
    if shutil.which("strip") is None or shutil.which("readelf") is None:
        print("strip-wheels: no binutils on this machine; the image keeps the debugging symbols"
              " (apt-get install binutils)", file=sys.stderr)
        return
    saved = sum(strip_wheel(wheel) for wheel in sorted(Path(sys.argv[1]).glob("*.whl")))
    print(f"strip-wheels: {saved / 1e6:.0f} MB of debugging symbols stripped", file=sys.stderr)


if __name__ == "__main__":
    main()
