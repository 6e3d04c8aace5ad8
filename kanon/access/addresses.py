"""What an e-mail address looks like to Kanon: for account names, summaries and the sender.

Its own module so settings can check `smtp_from` without loading the password hasher.
"""

from __future__ import annotations

import re

MAX_NAME_LENGTH = 254  # an email's longest
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
