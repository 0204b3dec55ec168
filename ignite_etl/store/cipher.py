"""Encrypts stored credentials with IGNITE_SECRET_KEY (Fernet), with key rotation.

IGNITE_SECRET_KEY holds one or more Fernet keys separated by commas, newest first. New values are
encrypted with the first key; values encrypted with any listed key can still be read, and
`rotate` re-encrypts a value under the first key.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ignite_etl.errors import ConfigurationError


class CredentialCipher:
    def __init__(self, keys: str | list[str]):
        if isinstance(keys, str):
            keys = [k.strip() for k in keys.split(",") if k.strip()]
        if not keys:
            raise ConfigurationError("IGNITE_SECRET_KEY is empty; generate one with `ignite-etl secret-key`")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        except (ValueError, TypeError):
            raise ConfigurationError(
                "IGNITE_SECRET_KEY is not a comma-separated list of Fernet keys "
                "(32 url-safe base64 bytes each); generate one with `ignite-etl secret-key`"
            ) from None

    def __repr__(self) -> str:
        return "CredentialCipher(<keys hidden>)"

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    def encrypt(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(bytes(token)).decode()
        except InvalidToken:
            raise CredentialsUnreadable(
                "a stored credential cannot be decrypted with IGNITE_SECRET_KEY: "
                "the key that encrypted it is no longer listed"
            ) from None

    def encrypt_json(self, value: dict[str, Any]) -> bytes:
        return self.encrypt(json.dumps(value, separators=(",", ":"), sort_keys=True))

    def decrypt_json(self, token: bytes) -> dict[str, Any]:
        return json.loads(self.decrypt(token))

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt under the newest key."""
        try:
            return self._fernet.rotate(bytes(token))
        except InvalidToken:
            raise CredentialsUnreadable("a stored credential cannot be decrypted with any listed key") from None


class CredentialsUnreadable(ConfigurationError):
    pass
