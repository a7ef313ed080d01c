"""The CRI audit floor: one process, ListContainers + ContainerStatus (verbose) for each
container over the CRI socket, and the same /proc and cgroup files; no rules, no mapping.

Run as a script by bench/cri.py with the socket as its argument; prints the count read.
"""

from __future__ import annotations

import json
import sys

import grpc

from bench.audit_floor import read_kernel_state
from harden.system.cri.api import api_pb2 as pb
from harden.system.cri.api import api_pb2_grpc as rpc


def main() -> None:
    channel = grpc.insecure_channel(f"unix://{sys.argv[1]}")
    stub = rpc.RuntimeServiceStub(channel)
    listed = stub.ListContainers(pb.ListContainersRequest()).containers
    calls = [
        stub.ContainerStatus.future(pb.ContainerStatusRequest(container_id=c.id, verbose=True))
        for c in listed
    ]
    count = 0
    for call in calls:
        info = json.loads(call.result().info["info"])
        read_kernel_state(info["pid"], info["runtimeSpec"]["linux"]["cgroupsPath"])
        count += 1
    channel.close()
    print(count)


if __name__ == "__main__":
    main()
