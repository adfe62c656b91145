"""The API's middleware, in the order ``app.py`` declares it: errors outermost, then auth."""

from .auth import auth_middleware
from .errors import errors_middleware

__all__ = ["auth_middleware", "errors_middleware"]
