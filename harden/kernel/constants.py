"""Kernel constants used in argument filters, named once."""

from __future__ import annotations

EPERM = 1
ENOSYS = 38

# Namespace flags of clone(2)/unshare(2).
CLONE_NEWTIME = 0x00000080
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NAMESPACE_FLAGS = (
    CLONE_NEWTIME
    | CLONE_NEWNS
    | CLONE_NEWCGROUP
    | CLONE_NEWUTS
    | CLONE_NEWIPC
    | CLONE_NEWUSER
    | CLONE_NEWPID
    | CLONE_NEWNET
)

# Address families of socket(2), by the names specs use.
ADDRESS_FAMILIES: dict[str, int] = {
    "unix": 1,
    "inet": 2,
    "ax25": 3,
    "ipx": 4,
    "appletalk": 5,
    "x25": 9,
    "inet6": 10,
    "key": 15,
    "netlink": 16,
    "packet": 17,
    "rds": 21,
    "can": 29,
    "tipc": 30,
    "bluetooth": 31,
    "alg": 38,
    "vsock": 40,
    "xdp": 44,
}

SOCK_TYPE_MASK = 0xF
NETLINK_ROUTE = 0  # socket(AF_NETLINK, type, protocol): routes, addresses, links (getifaddrs)

# ioctl(2) requests that push input into a terminal or drive the console: a program
# with a terminal descriptor could type commands as whoever reads that terminal.
TIOCSTI = 0x5412
TIOCLINUX = 0x541C
IPC_CALL_MASK = 0xFFFF  # ipc(2): the call number is the low 16 bits of its first argument
SOCK_STREAM = 1
SOCK_DGRAM = 2
SOCK_RAW = 3
SOCK_SEQPACKET = 5

# personality(2) values that do not weaken the process (no ADDR_NO_RANDOMIZE, no READ_IMPLIES_EXEC).
PER_LINUX = 0x0000
PER_LINUX32 = 0x0008
PERSONALITY_QUERY = 0xFFFFFFFF
SAFE_PERSONALITIES: tuple[int, ...] = (PER_LINUX, PER_LINUX32, PERSONALITY_QUERY)

# Sub-calls of the 32-bit x86 multiplexers, by the direct syscall they stand for.
SOCKETCALL_CALLS: dict[int, str] = {
    1: "socket",
    2: "bind",
    3: "connect",
    4: "listen",
    5: "accept",
    6: "getsockname",
    7: "getpeername",
    8: "socketpair",
    9: "send",
    10: "recv",
    11: "sendto",
    12: "recvfrom",
    13: "shutdown",
    14: "setsockopt",
    15: "getsockopt",
    16: "sendmsg",
    17: "recvmsg",
    18: "accept4",
    19: "recvmmsg",
    20: "sendmmsg",
}
IPC_CALLS: dict[int, str] = {
    1: "semop",
    2: "semget",
    3: "semctl",
    4: "semtimedop",
    11: "msgsnd",
    12: "msgrcv",
    13: "msgget",
    14: "msgctl",
    21: "shmat",
    22: "shmdt",
    23: "shmget",
    24: "shmctl",
}
