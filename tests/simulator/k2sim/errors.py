"""The one exception the API layer raises; the HTTP layer turns it into ``{"error_msg": ...}``."""


class ApiError(Exception):
    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def bad_request(message):
    return ApiError(400, message)


def not_found(message):
    return ApiError(404, message)
