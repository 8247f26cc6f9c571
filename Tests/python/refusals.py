"""A refusal seen through either transport of qdrant-client: REST raises UnexpectedResponse
(an HTTP status and Qdrant's JSON envelope), gRPC raises grpc.RpcError (the status Qdrant
gives and the same message). `refused()` catches both, so one assertion checks both."""
import contextlib
import json
import types

import grpc
import pytest
from qdrant_client.http.exceptions import UnexpectedResponse

# The gRPC status Qdrant gives each HTTP status (DESIGN.md, "gRPC API").
GRPC_FOR_HTTP = {
    400: grpc.StatusCode.INVALID_ARGUMENT, 422: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED, 403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND, 408: grpc.StatusCode.DEADLINE_EXCEEDED,
    409: grpc.StatusCode.ALREADY_EXISTS, 413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED, 501: grpc.StatusCode.UNIMPLEMENTED,
    503: grpc.StatusCode.UNAVAILABLE, 500: grpc.StatusCode.INTERNAL,
}


class GRPCStatus:
    """A gRPC status that equals every HTTP status Qdrant maps to it (400 and 422 both)."""

    def __init__(self, code):
        self.code = code

    def __eq__(self, http):
        return GRPC_FOR_HTTP.get(http) == self.code

    def __hash__(self):
        return hash(self.code)

    def __repr__(self):
        return f"gRPC {self.code.name}"


class GRPCRefusal(Exception):
    """A gRPC error dressed as REST's: `status_code`, and `content` as Qdrant's envelope."""

    def __init__(self, error):
        self.status_code = GRPCStatus(error.code())
        self.message = error.details() or ""
        self.content = json.dumps({"status": {"error": self.message}}).encode()
        super().__init__(f"{self.status_code}: {self.message}")


@contextlib.contextmanager
def refused():
    """Like pytest.raises(UnexpectedResponse), for a call over REST or gRPC."""
    info = types.SimpleNamespace(value=None)
    try:
        yield info
    except UnexpectedResponse as e:
        info.value = e
    except grpc.RpcError as e:
        info.value = GRPCRefusal(e)
    else:
        pytest.fail("the call was not refused")
