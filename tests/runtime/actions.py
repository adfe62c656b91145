"""Action sources and zip builders of the runtime tests (the upstream suites' actions)."""

from __future__ import annotations

import base64
import io
import stat
import textwrap
import zipfile
from collections.abc import Iterable


def src(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


def zip_b64(files: dict[str, str | bytes], links: dict[str, str] | None = None) -> str:
    """Base64 of a zip of ``files`` (name -> content) and symbolic ``links`` (name -> target)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return base64.b64encode(buf.getvalue()).decode()


def zip_of_entries(names: Iterable[str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        for name in names:
            archive.writestr(name, b"")
    return buf.getvalue()


def zip_of_zeros(size: int, name: str = "zeros.bin") -> bytes:
    """A small archive that expands to ``size`` bytes of zeros (an archive bomb)."""
    buf = io.BytesIO()
    chunk = bytes(4 * 1024 * 1024)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("__main__.py", "def main(args):\n    return args\n")
        with archive.open(name, "w", force_zip64=True) as member:
            left = size
            while left > 0:
                member.write(chunk[:min(left, len(chunk))])
                left -= len(chunk)
    return buf.getvalue()


ECHO = src("""
    def main(args):
        return args
""")

# A virtualenv as upstream's zips carry it: activate_this.py puts its site-packages first on
# sys.path (what virtualenv's own activate_this.py does), and a package only it provides.
ACTIVATE_THIS = src("""
    import os
    import site
    import sys

    base = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    site_packages = os.path.join(base, "lib", "python%d.%d" % sys.version_info[:2],
                                 "site-packages")
    prev = list(sys.path)
    site.addsitedir(site_packages)
    sys.path[:] = [p for p in sys.path if p not in prev] + prev
    sys.real_prefix = sys.prefix
    sys.prefix = base
""")


def virtualenv_zip(main: str = "main", with_activate: bool = True) -> str:
    import sys

    lib = "virtualenv/lib/python{}.{}/site-packages".format(*sys.version_info[:2])
    files: dict[str, str | bytes] = {
        "__main__.py": src(f"""
            import sys
            import agent
            def {main}(args):
                return {{"agent": agent.NAME, "prefix_is_venv": sys.prefix.endswith("virtualenv")}}
        """),
        f"{lib}/agent/__init__.py": 'NAME = "edgewhisk-test-agent"\n',
    }
    if with_activate:
        files["virtualenv/bin/activate_this.py"] = ACTIVATE_THIS
    else:
        files["virtualenv/bin/python"] = "not a real interpreter"
    return zip_b64(files)
