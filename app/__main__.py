"""`python -m app`: serve the API and the demo page with uvicorn.

`python -m app restore BACKUP.tar NEW_DATA_DIR` unpacks a backup taken with
`POST /v1/admin/backup` into a new data directory (see docs/operations.md).
"""

from __future__ import annotations

import argparse
import tarfile
from pathlib import Path

from app.backup import restore_archive
from app.server import serve
from app.settings import SettingsInvalidError, get_settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m app", description="serve the API")
    commands = parser.add_subparsers(dest="command")
    restore = commands.add_parser("restore", help="unpack a backup into a new data directory")
    restore.add_argument("archive", type=Path)
    restore.add_argument("data_dir", type=Path)
    args = parser.parse_args()
    if args.command == "restore":
        try:
            restore_archive(args.archive, args.data_dir)
        except (OSError, tarfile.TarError) as error:
            parser.exit(1, f"restore failed: {error}\n")
        print(f"restored into {args.data_dir}: serve it with POLYSEARCH_DATA_DIR={args.data_dir}")
        return
    try:
        settings = get_settings()
    except SettingsInvalidError as error:
        parser.exit(2, f"error: {error}\n")
    serve("app.main:app", settings)


if __name__ == "__main__":
    main()
