"""Encryption at rest for secrets (API SecretKeys, idempotent answers that contain one).

AES-256-GCM with a random 96-bit nonce per value; the caller's associated data (e.g. the
SecretId) binds a ciphertext to its row, so a ciphertext copied onto another row fails to
decrypt. Stored form: ``v1:`` + base64(nonce || ciphertext+tag). The ``v1`` prefix leaves room
for key rotation (not implemented: there is one key).
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import make_url

from iam_svc.config import Settings

log = logging.getLogger("iam_svc.crypto")

KEY_BYTES = 32
NONCE_BYTES = 12
PREFIX = "v1:"


class KeyConfigurationError(RuntimeError):
    """The key-encryption key is missing or unusable: the service must not start."""


class CipherError(ValueError):
    """A stored ciphertext could not be decrypted (wrong key, or tampered with)."""


class SecretCipher:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise KeyConfigurationError(
                f"the key-encryption key must be {KEY_BYTES} bytes, got {len(key)}")
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: str, associated_data: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), associated_data.encode())
        return PREFIX + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, token: str, associated_data: str) -> str:
        if not token.startswith(PREFIX):
            raise CipherError("unknown ciphertext format")
        try:
            raw = base64.b64decode(token[len(PREFIX):], validate=True)
            plain = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:],
                                       associated_data.encode())
        except (binascii.Error, InvalidTag, ValueError) as exc:
            raise CipherError("ciphertext does not decrypt with this key") from exc
        return plain.decode()


def decode_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyConfigurationError("IAM_KEY_ENCRYPTION_KEY is not valid base64") from exc
    if len(key) != KEY_BYTES:
        raise KeyConfigurationError(
            f"IAM_KEY_ENCRYPTION_KEY must decode to {KEY_BYTES} bytes, got {len(key)}")
    return key


def key_file_for(database_url: str) -> Path | None:
    """Where embedded mode keeps its generated key: next to the SQLite file (None: in memory)."""
    path = make_url(database_url).database
    if not path or path == ":memory:":
        return None
    return Path(path).with_suffix(".kek")


def _read_or_create_key_file(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(base64.b64encode(os.urandom(KEY_BYTES)).decode() + "\n")
            try:
                os.link(temporary, path)  # atomic; loses cleanly to a concurrent creator
                log.warning("generated a key-encryption key", extra={"key_file": str(path)})
            except FileExistsError:
                pass
        finally:
            temporary.unlink(missing_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("key-encryption key file is readable by others; chmod 600 it",
                    extra={"key_file": str(path), "mode": oct(mode)})
    return decode_key(path.read_text())


def load_cipher(settings: Settings) -> SecretCipher:
    """The cipher from settings; in embedded mode a generated key file when none is set."""
    if settings.key_encryption_key is not None:
        return SecretCipher(decode_key(settings.key_encryption_key.get_secret_value()))
    if not settings.embedded:
        raise KeyConfigurationError(
            "IAM_KEY_ENCRYPTION_KEY is required in distributed mode (base64 of 32 random "
            "bytes, e.g. `python -c \"import os,base64;print(base64.b64encode(os.urandom(32))"
            ".decode())\"`); refusing to start")
    path = key_file_for(settings.database_url)
    if path is None:
        return SecretCipher(os.urandom(KEY_BYTES))
    return SecretCipher(_read_or_create_key_file(path))
