import os

import grpc
from keyd.v1 import keyd_pb2, keyd_pb2_grpc

channel = grpc.insecure_channel(os.environ.get("KEYD_GRPC_LISTEN", "127.0.0.1:50051"))
stub = keyd_pb2_grpc.KeyManagerStub(channel)
resp = stub.GrantAccess(
    keyd_pb2.GrantAccessRequest(
        owner_id="tg:1001",
        duration_seconds=30 * 86400,
        request_id="payment-8812",  # a retry with the same id never extends twice
    ),
    metadata=[("authorization", "Bearer " + os.environ["KEYD_API_TOKEN"])],
    timeout=5,
)
print(keyd_pb2.Action.Name(resp.action), resp.key.uuid, resp.key.vless_url, resp.key.subscription_url)
