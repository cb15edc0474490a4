from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from app.api.deps import WRITE, ServiceDep
from app.backup import BackupUnsupportedError, GatedStore, write_archive
from app.schemas import error_responses

router = APIRouter(tags=["operations"])


@router.post(
    "/v1/admin/backup",
    response_class=FileResponse,
    dependencies=WRITE,
    responses={
        200: {"content": {"application/x-tar": {}}, "description": "The data directory."},
        **error_responses(409),
    },
)
def backup(service: ServiceDep) -> FileResponse:
    """A consistent tar of the embedded store, taken while writes are held for the copy.

    One at a time: 409 `backup_in_progress` while another runs; 409 `backup_unsupported` with
    a Qdrant server (use its snapshots).

    Restore: `python -m app restore BACKUP.tar NEW_DATA_DIR`, then serve from that directory.
    """
    store = service.store
    if not isinstance(store, GatedStore):
        raise BackupUnsupportedError("this store is not an embedded data directory")
    work = Path(tempfile.mkdtemp(prefix="polysearch-backup-"))
    try:
        with store.backing_up():  # a second backup meanwhile: 409 backup_in_progress
            store.snapshot(work / "data")  # a Qdrant server: 409 backup_unsupported
            write_archive(work / "data", work / "backup.tar")
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return FileResponse(
        work / "backup.tar",
        media_type="application/x-tar",
        filename="polysearch-backup.tar",
        background=BackgroundTask(shutil.rmtree, work, ignore_errors=True),
    )
