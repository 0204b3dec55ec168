import pytest

from ignite_etl.errors import ConfigurationError
from ignite_etl.store.cipher import CredentialCipher, CredentialsUnreadable


def test_round_trip_and_ciphertext_hides_the_value():
    cipher = CredentialCipher(CredentialCipher.generate_key())
    token = cipher.encrypt_json({"client_secret": "s3cret-value"})
    assert b"s3cret-value" not in token
    assert cipher.decrypt_json(token) == {"client_secret": "s3cret-value"}


def test_rotation_reads_old_values_and_reencrypts_under_the_new_key():
    old_key, new_key = CredentialCipher.generate_key(), CredentialCipher.generate_key()
    old_token = CredentialCipher(old_key).encrypt("api-key-1")
    rotated_cipher = CredentialCipher(f"{new_key},{old_key}")
    assert rotated_cipher.decrypt(old_token) == "api-key-1"
    rotated = rotated_cipher.rotate(old_token)
    assert CredentialCipher(new_key).decrypt(rotated) == "api-key-1"
    with pytest.raises(CredentialsUnreadable):
        CredentialCipher(old_key).decrypt(rotated)


def test_value_from_an_unlisted_key_is_a_clear_error():
    token = CredentialCipher(CredentialCipher.generate_key()).encrypt("x")
    with pytest.raises(CredentialsUnreadable, match="no longer listed"):
        CredentialCipher(CredentialCipher.generate_key()).decrypt(token)


@pytest.mark.parametrize("bad", ["", "not-a-key", " , "])
def test_malformed_key_is_a_configuration_error(bad):
    with pytest.raises(ConfigurationError):
        CredentialCipher(bad)


def test_repr_never_shows_keys():
    key = CredentialCipher.generate_key()
    assert key not in repr(CredentialCipher(key))
