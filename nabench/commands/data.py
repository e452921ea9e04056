"""``nabench data fetch|import|info|verify``: install and inspect the benchmark store."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from typing import TYPE_CHECKING

from nabench.commands.common import add_data_dir
from nabench.tables import BENCHMARKS, paths

if TYPE_CHECKING:
    from pathlib import Path

    from nabench.tables.store import Store


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="install and inspect the benchmark tables",
                       description="Install the NAS-Bench-201 store and inspect it.")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    f = dsub.add_parser("fetch", help="download (or copy from a mirror) the upstream files and build the store")
    add_data_dir(f)
    f.add_argument("--mirror", default=None, metavar="DIR|URL",
                   help=f"folder or http(s) base URL holding the upstream files (default: ${paths.ENV_MIRROR})")
    f.add_argument("--no-optional", action="store_true", help="skip optional sources (ori-test columns)")
    f.add_argument("--force", action="store_true", help="rebuild even if an intact store exists")
    f.add_argument("--quiet", action="store_true", help="no progress bars")
    f.add_argument("--deadline", type=float, default=None, metavar="S",
                   help="seconds one download attempt may take in all (default: 60 s plus 1 s per 50 kB of the "
                        "size the server announces, at most 1800 s); each answer of the server must also come "
                        "within 20 s")
    f.set_defaults(func=_fetch)

    i = dsub.add_parser("import", help="build the store from official files or add a latency table",
                        description="Import a NATS-Bench tss folder (NATS-tss-v1_0-3ffb9-simple), a NAS-Bench-201 "
                                    ".pth, or a hardware-latency table (HELP folder of <device>.pt, or its CSV).")
    i.add_argument("path", metavar="PATH")
    i.add_argument("--force", action="store_true",
                   help="replace an installed store that covers more architectures than the import")
    add_data_dir(i)
    i.set_defaults(func=_import)

    n = dsub.add_parser("info", help="say what is installed")
    add_data_dir(n)
    n.add_argument("--json", action="store_true", help="print the store description as JSON")
    n.set_defaults(func=_info)

    v = dsub.add_parser("verify", help="check the installed store and downloads against their checksums",
                        description="Check the installed stores and the kept downloads against their checksums. "
                                    "Exit status: 0 when everything is intact; 2 when a store is missing or corrupt or "
                                    "a download fails its checksum (the exit status of every nabench error), each "
                                    "problem on a 'PROBLEM:' line of stdout, with the repair named.")
    add_data_dir(v)
    v.set_defaults(func=_verify)


def _present(path: "Path") -> bool:
    """Whether anything is at ``path``; a place this user may not look into counts (the store reader names it)."""
    try:
        return path.exists() or path.is_symlink()
    except OSError:
        return True


def _fetch(args: argparse.Namespace) -> int:
    from nabench import validate
    from nabench.tables import build_from_upstream, store

    deadline = None if args.deadline is None else validate.positive("--deadline", args.deadline)
    root = paths.data_dir(args.data_dir)
    target = paths.store_dir(root)
    problems: list[str] = []
    if not args.force and _present(target):
        problems = store.verify(target)
        if not problems:
            print(f"the store at {target} is installed and intact (use --force to rebuild)")
            if not args.no_optional:  # files added to the manifest since (the NB301 surrogate)
                from nabench.surrogates import nb301

                nb301.install(root, args.mirror, progress=not args.quiet)
            return 0
    validate.writable_dir("--data-dir", root)  # before anything downloads
    if problems:
        print(f"repairing: {problems[0]}", file=sys.stderr)
    bench = build_from_upstream(root, args.mirror, optional=not args.no_optional, progress=not args.quiet,
                                deadline=deadline)
    print(f"store written to {bench.path} (checksum {bench.checksum})")
    return 0


def _import(args: argparse.Namespace) -> int:
    from nabench import validate
    from nabench.tables import official

    validate.string("PATH (the official folder or file to import)", args.path)  # "" would mean this folder
    root = validate.writable_dir("--data-dir", paths.data_dir(args.data_dir))  # before anything is read
    result = official.import_path(args.path, root, force=args.force)
    print(result)
    return 0


def _info(args: argparse.Namespace) -> int:
    """Human lines go to stdout, or with ``--json`` one JSON document alone on stdout (notes on stderr)."""
    from nabench.errors import DataNotFoundError
    from nabench.tables import fetch, store

    root = paths.data_dir(args.data_dir)
    say = functools.partial(print, file=sys.stderr) if args.json else print
    say(f"data folder: {root}")
    loaded = {}
    for name in BENCHMARKS:
        try:
            loaded[name] = store.read(paths.store_dir(root, name))  # a damaged store: one "corrupt store" line
        except DataNotFoundError:
            continue
    if not loaded:
        say("store: not installed. Run `nabench data fetch` (internet), `nabench data fetch --mirror DIR`, "
            "or `nabench data import PATH`.")
        if args.json:
            print(json.dumps({"data_dir": str(root), "stores": {}}, indent=1))
        return 1
    downloads = fetch.verify_downloads(paths.downloads_dir(root))
    if args.json:
        doc = {"data_dir": str(root), "downloads": downloads, "stores": {}}
        for name, st in loaded.items():
            bench = BENCHMARKS[name](st)
            doc["stores"][name] = {"path": str(st.path), "checksum": st.checksum, "n_present": bench.n_present,
                                   "n_archs": bench.n_archs,
                                   **{k: v for k, v in st.meta.items() if k != "index"}}
        print(json.dumps(doc, indent=1, sort_keys=True))
        return 0
    for st in loaded.values():
        _describe(st)
    print("downloads: " + ", ".join(f"{k} {v}" for k, v in downloads.items()))
    return 0


def _describe(st: "Store") -> None:
    meta = st.meta
    bench = BENCHMARKS[st.path.name](st)
    print(f"store {st.path.name}: {st.path} (made by {meta['made_by']}, {meta['created']}, "
          f"nabench {meta['nabench_version']}, checksum {st.checksum})")
    print(f"architectures: {bench.n_present} of {bench.n_archs}")
    rows: dict[tuple[str, str, int], set[str]] = {}
    for metric, ds, sp, fid, kind in bench.available():
        rows.setdefault((f"{metric} {ds}", sp, fid), set()).add(kind)
    print("metrics (dataset, split, fidelity: mean / per-seed):")
    for (name, sp, fid), kinds in sorted(rows.items()):
        print(f"  {name:24s} {sp:9s} {fid:>3d}: {'mean' if 'mean' in kinds else '-'} / "
              f"{'per-seed' if 'seed' in kinds else '-'}")
    extras = sorted({k.split(".")[0] for k in st.arrays}
                    - {"acc", "loss", "ops", "channels", "present", "seeds", "nseeds"})
    print(f"other arrays: {', '.join(extras)}")
    if bench.devices():
        print(f"hardware latency: {len(bench.devices())} devices")
    if st.meta["files"].get("curves.npz"):
        print("per-epoch curves: yes")
    for note in meta.get("notes", []):
        print(f"note: {note}")


def _verify(args: argparse.Namespace) -> int:
    from nabench.tables import fetch, store

    root = paths.data_dir(args.data_dir)
    problems = store.verify(paths.store_dir(root))
    sss = paths.store_dir(root, "nats-sss")
    if _present(sss):
        problems += store.verify(sss)
    for name, status in fetch.verify_downloads(paths.downloads_dir(root)).items():
        if status == "corrupt":
            problems.append(f"download {name} failed its checksum; run `nabench data fetch --force`")
        elif status == "unreadable":
            problems.append(f"download {name} cannot be read (no permission); choose a folder you may read")
    if problems:
        for p in problems:
            print(f"PROBLEM: {p}")
        print(f"nabench data verify: error: {len(problems)} problem(s) found (listed on stdout); run "
              "`nabench data fetch --force` to repair", file=sys.stderr)
        return 2
    print(f"ok: the store at {paths.store_dir(root)} is intact")
    return 0
