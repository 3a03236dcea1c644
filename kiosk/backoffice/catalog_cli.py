"""`python -m kiosk.backoffice catalog import|export|versions`: the TOML files as the
catalog's import and export (for review in version control), beside the admin pages.

    catalog import --db URL [--from DIR | --catalog F --life-events F --calendar F]
    catalog export --db URL --to DIR [--version N]
    catalog versions --db URL [--limit N]
"""

from __future__ import annotations

import argparse
import sys

from kiosk.backoffice import catalog_versions as versions


def add_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                  db_arg: object) -> None:
    ct = sub.add_parser("catalog", help="import the catalog files as a new version, export "
                        "a version to files, list the versions (who changed what)")
    cs = ct.add_subparsers(dest="catalog_command", required=True)
    imp = cs.add_parser("import", help="the files as the next catalog version (validated)")
    db_arg(imp)  # type: ignore[operator]
    imp.add_argument("--from", dest="folder", help="a folder with catalog.toml, "
                     "life_events.toml, calendar.toml (default: config/)")
    imp.add_argument("--life-events", help="life_events.toml (default: beside catalog.toml)")
    imp.add_argument("--calendar", help="calendar.toml: [closed] / [open] days per ward")
    exp = cs.add_parser("export", help="a catalog version as TOML files, for review")
    db_arg(exp)  # type: ignore[operator]
    exp.add_argument("--to", required=True, help="folder to write the files into")
    exp.add_argument("--version", type=int, help="default: the version in force")
    ls = cs.add_parser("versions", help="the versions, newest first: who, when, what")
    db_arg(ls)  # type: ignore[operator]
    ls.add_argument("--limit", type=int, default=20)


def run(args: argparse.Namespace, engine: object) -> int:
    from sqlalchemy import Engine

    assert isinstance(engine, Engine)
    if args.catalog_command == "import":
        data = versions.read_files(args.folder, catalog=args.catalog,
                                   life_events=args.life_events, calendar=args.calendar)
        loaded, what = versions.save(engine, data, action="catalog.imported")
        print(f"catalog version {loaded.version}" + (f": {len(what)} change(s)" if what
                                                     else " (nothing changed)"))
        for line in what:
            print(f"  {line}")
        return 0
    if args.catalog_command == "export":
        found = versions.load(engine, args.version)
        if found is None:
            print("ward-backoffice: no such catalog version", file=sys.stderr)
            return 2
        for path in versions.write_files(found, args.to):
            print(path)
        return 0
    for row in versions.history(engine, limit=args.limit):
        print(f"v{row.version}  {row.at:%Y-%m-%d %H:%M}Z  {row.actor or '(command line)'}  "
              f"{row.ward or '(city)'}  {row.action}")
        for line in row.changes:
            print(f"    {line}")
    return 0
