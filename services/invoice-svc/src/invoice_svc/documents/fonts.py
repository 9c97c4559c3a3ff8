"""The CJK font embedded (as subsets) in invoice PDFs: Noto Sans SC Regular.

`justmytype_intl_cjk` ships Noto Sans SC as a variable font whose default instance is Thin
(wght 100), and reportlab's TTFont only renders the default instance. So we cut a static
wght-400 instance with `fontTools.varLib.instancer`. That takes about 15 s (31 000 glyphs), so
the result is cached on disk (`INVOICE_FONT_CACHE_DIR`, default `~/.cache/invoice-svc/fonts`)
under a name keyed by the source file's size and mtime: each machine pays it once, each process
then only registers the cached file with reportlab (lazily, once, thread-safe).

Titles use the same font drawn with a stroke (fill+stroke text) instead of a second, Bold
instance: one embedded font per PDF, one generation to cache.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from importlib import resources
from io import BytesIO
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

__all__ = ["FONT_NAME", "font_cache_dir", "instance_path", "register_fonts"]

log = logging.getLogger(__name__)

#: The reportlab font name and the PostScript name written into the instance.
FONT_NAME = "NotoSansSC-Regular"
WEIGHT = 400
SOURCE_PACKAGE = "justmytype_intl_cjk"
SOURCE_PATH = "fonts/ofl/notosanssc/NotoSansSC[wght].ttf"
CACHE_ENV = "INVOICE_FONT_CACHE_DIR"
#: Bump when the generated file changes, so stale caches are not reused.
GENERATION = 1
#: Layout and variation tables reportlab never reads; dropping them before instancing saves
#: time and 0.2 MB.
_UNUSED_TABLES = ("GSUB", "GPOS", "GDEF", "BASE", "STAT", "vhea", "vmtx")

_lock = threading.Lock()
_registered = False


def font_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "invoice-svc" / "fonts")


def _source() -> Path:
    path = resources.files(SOURCE_PACKAGE).joinpath(SOURCE_PATH)
    if not isinstance(path, Path):  # a zipped install: nothing to stat or hand to fontTools
        raise RuntimeError(f"{SOURCE_PACKAGE} must be installed as files, not zipped")
    return path


def instance_path() -> Path:
    """Where the static instance of the installed source font is cached (may not exist yet)."""
    stat = _source().stat()
    name = f"{FONT_NAME}-wght{WEIGHT}-{stat.st_size}-{stat.st_mtime_ns}-g{GENERATION}.ttf"
    return font_cache_dir() / name


def _build_instance() -> bytes:
    # fontTools is imported here only: processes with a warm cache never load it.
    from fontTools.ttLib import TTFont as FontToolsFont
    from fontTools.varLib import instancer

    font = FontToolsFont(_source())
    for tag in _UNUSED_TABLES:
        if tag in font:
            del font[tag]
    instancer.instantiateVariableFont(font, {"wght": WEIGHT}, inplace=True,
                                      updateFontNames=False)
    names = font["name"]
    for name_id in (16, 17):  # typographic family/subfamily would still say "Thin"
        names.removeNames(nameID=name_id)
    for name_id, value in ((1, "Noto Sans SC"), (2, "Regular"), (3, f"{FONT_NAME};instance"),
                           (4, "Noto Sans SC Regular"), (6, FONT_NAME)):
        names.setName(value, name_id, 3, 1, 0x409)
        names.setName(value, name_id, 1, 0, 0)
    font["OS/2"].usWeightClass = WEIGHT
    out = BytesIO()
    font.save(out)
    return out.getvalue()


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache may serve other users
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_instance() -> Path | BytesIO:
    """The cached instance, generating (and caching) it first if needed."""
    path = instance_path()
    if path.is_file():
        return path
    log.info("generating %s from the variable font (once per machine)", path.name)
    data = _build_instance()
    try:
        _write_atomically(path, data)
    except OSError as exc:
        log.warning("font cache %s not writable (%s); every process will regenerate",
                    path.parent, exc)
        return BytesIO(data)
    return path


def register_fonts() -> str:
    """Register the font with reportlab once per process; return its name.

    Call it at start-up (e.g. in a worker thread) to keep the first render fast.
    """
    global _registered
    if not _registered:
        with _lock:
            if not _registered:
                source = _load_instance()
                # TTFont accepts a path or a file object; str() keeps reportlab's own checks happy.
                pdfmetrics.registerFont(
                    TTFont(FONT_NAME, str(source) if isinstance(source, Path) else source))
                _registered = True
    return FONT_NAME
