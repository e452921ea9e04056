"""``nabench data fetch|import|info|verify``: install and inspect the benchmark store."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nabench.commands.common import add_data_dir
from nabench.tables import BENCHMARKS, paths


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

    v = dsub.add_parser("verify", help="check the installed store and downloads against their checksums")
    add_data_dir(v)
    v.set_defaults(func=_verify)


def _fetch(args: argparse.Namespace) -> int:
    from nabench.tables import build_from_upstream, store

    root = paths.data_dir(args.data_dir)
    target = paths.store_dir(root)
    if not args.force and (target / store.META).exists() and not store.verify(target):
        print(f"the store at {target} is installed and intact (use --force to rebuild)")
        return 0
    bench = build_from_upstream(root, args.mirror, optional=not args.no_optional, progress=not args.quiet)
    print(f"store written to {bench.path} (checksum {bench.checksum})")
    return 0


def _import(args: argparse.Namespace) -> int:
    from nabench.tables import official

    root = paths.data_dir(args.data_dir)
    result = official.import_path(args.path, root, force=args.force)
    print(result)
    return 0


def _info(args: argparse.Namespace) -> int:
    from nabench.tables import fetch, store

    root = paths.data_dir(args.data_dir)
    print(f"data folder: {root}")
    found = [name for name in BENCHMARKS if (paths.store_dir(root, name) / store.META).exists()]
    if not found:
        print("store: not installed. Run `nabench data fetch` (internet), `nabench data fetch --mirror DIR`, "
              "or `nabench data import PATH`.")
        return 1
    for name in found:
        _describe(paths.store_dir(root, name), args.json)
    downloads = fetch.verify_downloads(paths.downloads_dir(root))
    print("downloads: " + ", ".join(f"{k} {v}" for k, v in downloads.items()))
    return 0


def _describe(target: Path, as_json: bool) -> None:
    from nabench.tables import store

    st = store.read(target)
    meta = st.meta
    if as_json:
        print(json.dumps({k: v for k, v in meta.items() if k not in ("provenance", "index")}, indent=1))
        return
    bench = BENCHMARKS[target.name](st)
    print(f"store {target.name}: {target} (made by {meta['made_by']}, {meta['created']}, nabench {meta['nabench_version']}, "
          f"checksum {st.checksum})")
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
    if (sss / store.META).exists():
        problems += store.verify(sss)
    for name, status in fetch.verify_downloads(paths.downloads_dir(root)).items():
        if status == "corrupt":
            problems.append(f"download {name} failed its checksum; run `nabench data fetch --force`")
    if problems:
        for p in problems:
            print(f"PROBLEM: {p}")
        return 1
    print(f"ok: the store at {paths.store_dir(root)} is intact")
    return 0
