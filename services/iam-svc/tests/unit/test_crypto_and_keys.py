"""Secrets at rest (AES-GCM, bound to their SecretId) and the key formats."""

from __future__ import annotations

import base64
import os
import re

import pytest
from iam_svc.access_keys.service import new_secret_id, new_secret_key
from iam_svc.common.crypto import (
    CipherError,
    KeyConfigurationError,
    SecretCipher,
    decode_key,
    key_file_for,
)


def test_round_trip_and_fresh_nonce():
    cipher = SecretCipher(os.urandom(32))
    first = cipher.encrypt("s3cret", "AKID1")
    second = cipher.encrypt("s3cret", "AKID1")
    assert first != second and first.startswith("v1:") and "s3cret" not in first
    assert cipher.decrypt(first, "AKID1") == cipher.decrypt(second, "AKID1") == "s3cret"


def test_associated_data_key_and_tampering_are_checked():
    cipher = SecretCipher(os.urandom(32))
    token = cipher.encrypt("s3cret", "AKID1")
    with pytest.raises(CipherError):
        cipher.decrypt(token, "AKID2")
    with pytest.raises(CipherError):
        SecretCipher(os.urandom(32)).decrypt(token, "AKID1")
    raw = bytearray(base64.b64decode(token[3:]))
    raw[-1] ^= 1
    with pytest.raises(CipherError):
        cipher.decrypt("v1:" + base64.b64encode(bytes(raw)).decode(), "AKID1")
    with pytest.raises(CipherError):
        cipher.decrypt("plain", "AKID1")


def test_key_must_be_32_bytes_of_base64():
    assert len(decode_key(base64.b64encode(os.urandom(32)).decode())) == 32
    for bad in ("", "!!!", base64.b64encode(os.urandom(16)).decode()):
        with pytest.raises(KeyConfigurationError):
            decode_key(bad)


def test_key_file_sits_next_to_the_sqlite_database():
    assert str(key_file_for("sqlite+aiosqlite:////var/x/iam.db")) == "/var/x/iam.kek"
    assert key_file_for("sqlite+aiosqlite:///:memory:") is None


def test_secret_formats():
    ids = {new_secret_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"AKID[A-Za-z0-9]{32}", i) for i in ids)
    assert all(re.fullmatch(r"[A-Za-z0-9]{32}", new_secret_key()) for _ in range(200))
