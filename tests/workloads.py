"""The real workloads the recording tests and the benchmark exercise, as data.

Each one is recorded while its client exercises it, its spec is generated into a
bundle, and the bundle is proven with its check. ``packages`` empty means the busybox
test image; otherwise an image built from those Debian packages (tests/images.py).
"""

from __future__ import annotations

from dataclasses import dataclass

_HTTP = (
    'bash -c \'exec 3<>/dev/tcp/127.0.0.1/{port}; printf "GET {path} HTTP/1.0\\r\\n\\r\\n" >&3; '
    'grep -q "{expect}" <&3\''
)


def http(port: int, path: str, expect: str) -> str:
    """An HTTP probe with bash alone (no curl in a minimal image)."""
    return _HTTP.format(port=port, path=path, expect=expect)


@dataclass(frozen=True)
class Workload:
    name: str
    packages: tuple[str, ...]
    command: tuple[str, ...]
    user: str | None
    port: int
    exercise: str  # the client while recording
    check: str  # what prove requires
    throughput: str = ""  # a client printing requests per second (benchmark)


BUSYBOX_HTTPD = Workload(
    name="busybox-httpd",
    packages=(),
    command=("httpd", "-f", "-p", "8080", "-h", "/srv/www"),
    user="101:101",
    port=8080,
    exercise="for i in 1 2 3; do wget -qO- http://127.0.0.1:8080/ | grep -q 'hello from harden'"
    " || exit 1; done; ! wget -qO- http://127.0.0.1:8080/missing 2>/dev/null",
    check="wget -qO- http://127.0.0.1:8080/ | grep -q 'hello from harden'",
)
NGINX = Workload(
    name="nginx",
    packages=("nginx-light",),
    command=("nginx", "-g", "daemon off;"),
    user=None,
    port=80,
    exercise=" && ".join(
        [http(80, "/", "Welcome to nginx")] * 3 + [http(80, "/missing", "404 Not Found")]
    ),
    check=http(80, "/", "Welcome to nginx") + " && " + http(80, "/missing", "404 Not Found"),
)
REDIS = Workload(
    name="redis",
    packages=("redis-server",),
    command=(
        "redis-server",
        "--port",
        "6379",
        "--bind",
        "127.0.0.1",
        "--protected-mode",
        "no",
        "--dir",
        "/var/lib/redis",
        "--save",
        "",
        "--appendonly",
        "no",
    ),
    user="redis",
    port=6379,
    exercise="redis-cli set k v | grep -q OK && redis-cli get k | grep -qx v"
    " && redis-cli save | grep -q OK && redis-benchmark -q -n 2000 -c 4 -t set,get,lpush,lpop",
    check="redis-cli set k v | grep -q OK && redis-cli get k | grep -qx v"
    " && redis-cli save | grep -q OK",
    throughput="redis-benchmark --csv -n 20000 -c 8 -t set,get",  # final figures only
)
REAL = (NGINX, REDIS)
ALL = (BUSYBOX_HTTPD, *REAL)
