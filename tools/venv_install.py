"""Install a hash-locked requirements file into the project's virtualenv, one `make` at a time.

    PYTHON tools/venv_install.py VENV LOCKFILE STAMP

`make run`, `make worker` and `make beat` may start together on a fresh clone; each needs the virtualenv, and two
pip runs into one folder break it. This holds an exclusive lock (on this file) while it creates VENV with the
Python that runs it, installs LOCKFILE with `pip install --require-hashes` and touches STAMP; a `make` that waited
finds STAMP newer than LOCKFILE and does nothing. Standard library only: it runs before the virtualenv exists.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path


def up_to_date(stamp: Path, lockfile: Path) -> bool:
    return stamp.exists() and stamp.stat().st_mtime >= lockfile.stat().st_mtime


def main(venv: Path, lockfile: Path, stamp: Path) -> int:
    with open(__file__) as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if up_to_date(stamp, lockfile):
            return 0
        python = venv / "bin" / "python"
        if not python.exists():
            created = subprocess.run([sys.executable, "-m", "venv", str(venv)], check=False)  # noqa: S603
            if created.returncode != 0:
                version = f"{sys.version_info.major}.{sys.version_info.minor}"
                print(f"{sys.executable} -m venv failed: on Debian run 'apt-get install python{version}-venv'")
                return 1
        # Exactly the locked versions and files: pip refuses anything whose hash is not in LOCKFILE, and any
        # dependency the lock does not pin (`make lock` after editing requirements*.txt).
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        if subprocess.run([*pip, "--require-hashes", "-r", str(lockfile)], check=False).returncode != 0:  # noqa: S603
            return 1
        stamp.touch()
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
