"""The names Kanon's server (`kanon.ui.server`) and the page (`kanon.ui.context`) share.

They live apart from both so that neither imports the other to learn them: the server reads the
page's settings and sessions when a request comes in, and the page reads what the server wrote.
"""

COOKIE = "kanon_session"  # the HttpOnly cookie holding only the session's random token
CLIENT_HEADER = "X-Kanon-Client-Address"  # written by the server for the page, never the browser's
