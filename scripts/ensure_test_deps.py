"""Make sure the machine has what `make test` needs beyond the venv: Fashion-MNIST and a browser.

Usage: python scripts/ensure_test_deps.py        (`make test-deps`; `make test` runs it first)

For each need, in order:

- **Fashion-MNIST** (nbval runs chapters 4 and 5 on it): reuse a copy that d2lutil finds and
  verifies (``$D2LUTIL_DATA``, its cache folder, Debian's ``/usr/share/datasets/fashion-mnist``),
  else let d2lutil download it from the official mirrors (checksummed, written to a temporary
  file and renamed), else, on Debian as root, ``apt-get install dataset-fashion-mnist``.
- **Chromium** (the browser test): reuse the one the browser test finds
  (``course_infra.chromium_executable()``: ``$CHROMIUM``, a known install location such as
  Debian's ``/usr/lib/chromium``, the PATH, Playwright's own), else, on Debian as root,
  ``apt-get install chromium``, else, where Playwright is installed and the machine is online,
  ``playwright install chromium``.

Where none of these works, it stops with one message that says what to install. It prints one
line per need and changes nothing that is already there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from course_infra import chromium_executable as find_chromium

DEBIAN_PACKAGES = {"dataset": "dataset-fashion-mnist", "browser": "chromium"}


class Missing(Exception):
    """A need that could not be met; the message says what to install."""


def say(message: str) -> None:
    print(f"test-deps: {message}", flush=True)


# ---------------------------------------------------------------- Fashion-MNIST


def fashion_mnist_ready() -> str | None:
    """None when d2lutil finds (or downloads) a verified copy, else the reason it could not."""
    from d2lutil.data import load_fashion_mnist

    try:
        load_fashion_mnist(train=False)
        load_fashion_mnist(train=True)
    except Exception as exc:  # whatever d2lutil reports, its message says why
        return str(exc).strip().splitlines()[0].removesuffix(" Places tried:")
    return None


def ensure_dataset() -> None:
    reason = fashion_mnist_ready()
    if reason is None:
        say("Fashion-MNIST: found a verified copy")
        return
    say(f"Fashion-MNIST: not found or not downloadable ({reason})")
    if apt_install(DEBIAN_PACKAGES["dataset"]) and fashion_mnist_ready() is None:
        say("Fashion-MNIST: installed Debian's dataset-fashion-mnist")
        return
    raise Missing(
        "Fashion-MNIST is needed by the notebooks of chapters 4-5. Connect to the internet "
        "(d2lutil downloads it), or install Debian's package: "
        "`sudo apt-get install dataset-fashion-mnist`, or put the four files "
        "(train/t10k-images-idx3-ubyte.gz, train/t10k-labels-idx1-ubyte.gz) in "
        "$D2LUTIL_DATA/fashion-mnist/."
    )


# ---------------------------------------------------------------- browser


def ensure_browser() -> None:
    if os.environ.get("CHROMIUM") and find_chromium() is None:
        raise Missing(
            f"$CHROMIUM is set to {os.environ['CHROMIUM']!r}, which is no program."
        )
    path = find_chromium()
    if path:
        say(f"browser: {path}")
        return
    say("browser: no Chromium found")
    if apt_install(DEBIAN_PACKAGES["browser"]) and (path := find_chromium()):
        say(f"browser: installed Debian's chromium ({path})")
        return
    if playwright_install() and (path := find_chromium()):
        say(f"browser: installed Playwright's Chromium ({path})")
        return
    raise Missing(
        "the browser test needs Chromium. Install it (Debian/Ubuntu: "
        "`sudo apt-get install chromium`; elsewhere your system's chromium package, or "
        "`.venv/bin/python -m playwright install chromium` when online), or point $CHROMIUM "
        "at a Chromium or Chrome binary."
    )


def playwright_install() -> bool:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    say("browser: trying `playwright install chromium`")
    done = subprocess.run(
        [sys.executable, "-m", "playwright", "install", "chromium"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=600,
        check=False,
    )
    return done.returncode == 0


# ---------------------------------------------------------------- apt


def apt_install(package: str) -> bool:
    """``apt-get install package`` where that can work: Debian-like, as root. True on success."""
    if shutil.which("apt-get") is None:
        say(f"apt-get not available: cannot install {package}")
        return False
    if os.geteuid() != 0:
        say(
            f"not root: cannot apt-get install {package} (run `sudo apt-get install {package}`)"
        )
        return False
    say(f"apt-get install {package} ...")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", package],
    ):
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or [
                "(no output)"
            ]
            say(f"`{' '.join(command)}` failed: {last[0]}")
            return False
    return True


def main() -> int:
    try:
        ensure_dataset()
        ensure_browser()
    except Missing as exc:
        print(f"test-deps: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
