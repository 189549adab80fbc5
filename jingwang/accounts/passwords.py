import string

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits)


def character_classes(password: str) -> int:
    found = {index for ch in password for index, chars in enumerate(CLASSES) if ch in chars}
    if any(not any(ch in chars for chars in CLASSES) for ch in password):
        found.add(len(CLASSES))  # symbols and any other character
    return len(found)


class CharacterClassValidator:
    """At least 3 of: lower-case letters, upper-case letters, digits, symbols (等保 2.0)."""

    minimum = 3

    def validate(self, password: str, user: object = None) -> None:
        if character_classes(password) < self.minimum:
            raise ValidationError(
                _(
                    "The password must mix at least 3 of: lower-case letters, upper-case "
                    "letters, digits and symbols."
                ),
                code="password_too_simple",
            )

    def get_help_text(self) -> str:
        return _("Use at least 3 of: lower-case letters, upper-case letters, digits and symbols.")
