"""What the numbers were measured on: processor, cores, memory, load, library versions, threads."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path

PACKAGES = ("briefqa", "torch", "sentence-transformers", "transformers", "faiss-cpu", "bm25s", "numpy",
            "fastapi", "uvicorn", "haystack-ai")


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

        pools = ", ".join(sorted({f"{p.get('internal_api')}:{p.get('architecture', '?')}x{p.get('num_threads')}"
                                  for p in threadpool_info()}))
    except Exception:
        pools = "-"
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
    }
