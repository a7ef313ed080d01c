"""The real workloads the recording tests and the benchmark exercise, as data.

Each one is recorded while its client exercises it, its spec is generated into a
bundle, and the bundle is proven with its check. ``packages`` empty means the busybox
test image; otherwise an image built from those Debian packages (tests/images.py).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

_HTTP = (
    'bash -c \'exec 3<>/dev/tcp/127.0.0.1/{port}; printf "GET {path} HTTP/1.0\\r\\n\\r\\n" >&3; '
    'grep -q "{expect}" <&3\''
)


def bash(script: str) -> str:
    """A client command for bash (the clients' /bin/sh may lack /dev/tcp)."""
    return "bash -c " + shlex.quote(script.strip())


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
    setup: str = ""  # run once as root in the built image, committed (configuration)
    ready: str = ""  # succeeds once the workload accepts work (beyond listening)
    load: str = ""  # a heavy workload, different from the exercise (prove --load)


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
    throughput="redis-benchmark --csv -n 200000 -c 8 -t set,get",  # final figures only
)
_PG = "/usr/lib/postgresql/15"
_PG_SMALL = (
    "psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1"
    ' -c "CREATE TABLE t (a int); INSERT INTO t VALUES (1); SELECT * FROM t;"'
)
# The heavy load: pgbench's initialisation (COPY, pwritev), a write-heavy run of 8
# clients, CHECKPOINT, VACUUM, CREATE INDEX, a parallel query, CREATE/DROP DATABASE.
_PG_LOAD = """
set -e
export PGHOST=127.0.0.1 PGUSER=postgres
pgbench -i -s 4 -q postgres
pgbench -c 8 -j 2 -T 15 -n postgres
psql -q -v ON_ERROR_STOP=1 postgres <<'SQL'
CHECKPOINT;
VACUUM ANALYZE pgbench_accounts;
CREATE INDEX IF NOT EXISTS harden_abal ON pgbench_accounts (abalance);
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT count(*), sum(abalance) FROM pgbench_accounts;
CREATE DATABASE harden_tmp;
DROP DATABASE harden_tmp;
CHECKPOINT;
SQL
"""
POSTGRES = Workload(
    name="postgresql",
    packages=("postgresql-15",),
    command=(
        f"{_PG}/bin/postgres",
        "-D",
        "/var/lib/postgresql/15/main",
        "-c",
        "config_file=/etc/postgresql/15/main/postgresql.conf",
        "-c",
        "listen_addresses=127.0.0.1",
    ),
    user="postgres",
    port=5432,
    exercise=_PG_SMALL,
    check='psql -h 127.0.0.1 -U postgres -Atc "SELECT 1" | grep -qx 1',
    # clients connect over TCP without a password; no TLS keys in a minimal root
    setup="sed -i '1i host all all 127.0.0.1/32 trust' /etc/postgresql/15/main/pg_hba.conf"
    " && sed -i 's/^ssl = on/ssl = off/' /etc/postgresql/15/main/postgresql.conf"
    " && mkdir -p /run/postgresql && chown postgres:postgres /run/postgresql",
    ready="pg_isready -h 127.0.0.1 -q",
    load=bash(_PG_LOAD),
    throughput="pgbench -h 127.0.0.1 -U postgres -c 8 -j 2 -T 15 -n -S postgres",
)
_MC_SMALL = """
exec 3<>/dev/tcp/127.0.0.1/11211
printf 'set k 0 0 1\\r\\nv\\r\\nget k\\r\\nquit\\r\\n' >&3
grep -q '^VALUE k' <&3
"""
# Many connections, binary protocol, every stats group (getrusage, getsockname, ...).
_MC_LOAD = """
set -e
memcslap --servers=127.0.0.1:11211 --concurrency=64 --execute-number=3000 --binary >/dev/null
memcslap --servers=127.0.0.1:11211 --concurrency=32 --execute-number=2000 --test=get >/dev/null
for group in "" slabs items settings conns sizes; do
  exec 3<>/dev/tcp/127.0.0.1/11211
  printf 'stats %s\\r\\nquit\\r\\n' "$group" >&3
  grep -q END <&3
  exec 3<&-
done
memcstat --servers=127.0.0.1:11211 | grep -q rusage_user
"""
MEMCACHED = Workload(
    name="memcached",
    packages=("memcached", "libmemcached-tools"),
    command=("memcached", "-u", "memcache", "-l", "127.0.0.1", "-p", "11211", "-c", "1024"),
    user=None,  # starts as root and switches to memcache itself
    port=11211,
    exercise=bash(_MC_SMALL),
    check=bash(_MC_SMALL),
    load=bash(_MC_LOAD),
    throughput="memcslap --servers=127.0.0.1:11211 --concurrency=16 --execute-number=5000 --binary",
)
REAL = (NGINX, REDIS)
ALL = (BUSYBOX_HTTPD, *REAL)
PRODUCTION = (POSTGRES, MEMCACHED)  # recorded small, proven under a heavy, different load
