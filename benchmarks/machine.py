"""What the numbers were measured on: processor, cores, memory, load, library versions, threads."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "briefqa",
    "torch",
    "sentence-transformers",
    "transformers",
    "faiss-cpu",
    "bm25s",
    "numpy",
    "fastapi",
    "uvicorn",
    "haystack-ai",
)


def describe() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import psutil

        mem = f"{psutil.virtual_memory().total / 2**30:.1f} GiB"
    except ImportError:
        mem = "unknown"
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} -")
    try:
        import torch

        torch_threads = str(torch.get_num_threads())
    except ImportError:
        torch_threads = "-"
    try:
        from threadpoolctl import threadpool_info

        pools = ", ".join(
            sorted(
                {
                    f"{p.get('internal_api')}:{p.get('architecture', '?')}x{p.get('num_threads')}"
                    for p in threadpool_info()
                }
            )
        )
    except Exception:
        pools = "-"
    import briefqa

    env = {k: os.environ.get(k, "unset") for k in ("OMP_WAIT_POLICY", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    return {
        "processor": f"{cpu} ({platform.machine()})",
        "cores": str(os.cpu_count()),
        "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "threads": f"torch {torch_threads}; thread pools {pools}",
        "environment": ", ".join(f"{k}={v}" for k, v in env.items()),
        "packages": ", ".join(versions),
        "briefqa source": f"{Path(briefqa.__file__).parent} ({_git_state()})",
    }


def _git_state() -> str:
    """The commit the code was measured at, and whether ``src/`` had uncommitted changes."""
    import subprocess

    repo = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "src"], capture_output=True, text=True, check=True
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    changed = [line for line in dirty if line.strip()]
    return f"commit {head}" + (f" + {len(changed)} uncommitted file(s) in src/" if changed else "")
