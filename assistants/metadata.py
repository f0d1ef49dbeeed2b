"""The provider's metadata limits, checked before anything is sent (and in the admin's form)."""

# How a failed push is recorded in Thread.remote_error (the admin filters on it).
SYNC_FAILED = "Metadata sync failed: "

MAX_KEYS = 16
MAX_KEY_LENGTH = 64
MAX_VALUE_LENGTH = 512


class MetadataError(ValueError):
    pass


def validate_metadata(metadata: dict) -> dict[str, str]:
    """Return the metadata unchanged if it fits the limits; raise MetadataError saying why if not."""
    if not isinstance(metadata, dict):
        raise MetadataError("Metadata must be a mapping of strings to strings.")
    if len(metadata) > MAX_KEYS:
        raise MetadataError(f"Metadata has {len(metadata)} keys; the provider allows at most {MAX_KEYS}.")
    for key, value in metadata.items():
        if not isinstance(key, str) or not key:
            raise MetadataError(f"Metadata key {key!r} must be a non-empty string.")
        if len(key) > MAX_KEY_LENGTH:
            raise MetadataError(
                f"Metadata key {key[:20]!r}... is {len(key)} characters; the limit is {MAX_KEY_LENGTH}."
            )
        if not isinstance(value, str):
            raise MetadataError(f"Metadata value of {key!r} must be a string, not {type(value).__name__}.")
        if len(value) > MAX_VALUE_LENGTH:
            raise MetadataError(
                f"Metadata value of {key!r} is {len(value)} characters; the limit is {MAX_VALUE_LENGTH}."
            )
    return metadata


def validate_custom_metadata(value: dict, *, reserved_keys) -> dict[str, str]:
    """A thread's custom keys, beside the reserved (typed) ones the owning app sets: the admin's and
    the API's one rule. Raises MetadataError saying why."""
    if not isinstance(value, dict):
        raise MetadataError('Enter a JSON object, e.g. {"order": "5521"}.')
    clashes = sorted(set(value) & set(reserved_keys))
    if clashes:
        raise MetadataError(f"Reserved keys are set from the ticket, not here: {', '.join(clashes)}.")
    bad = [str(k) for k, v in value.items() if not isinstance(v, str)]
    if bad:
        raise MetadataError(f"Values must be strings: {', '.join(bad)} (write numbers and booleans in quotes).")
    allowed = MAX_KEYS - len(reserved_keys)
    if len(value) > allowed:
        raise MetadataError(
            f"{len(value)} custom keys: at most {allowed} fit beside the {len(reserved_keys)} reserved keys "
            f"(the provider allows {MAX_KEYS})."
        )
    validate_metadata({**dict.fromkeys(reserved_keys, ""), **value})
    return value
