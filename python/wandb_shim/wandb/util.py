"""`wandb.util`: the helpers scripts call most."""

import secrets
import string

_ALPHABET = string.ascii_lowercase + string.digits


def generate_id(length=8):
    """A random run id of lowercase letters and digits (W&B's resume ids)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))
