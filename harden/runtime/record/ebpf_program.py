"""The bpftrace program of the eBPF recorder, written for one native architecture. Pure.

Everything is aggregated in the kernel, in maps keyed by what a spec needs, and only
for the tasks of one cgroup (``$1``, the cgroup v2 id of the target: a container's
cgroup, or the one harden made for a command). Nothing is streamed per call, which is
why recording costs the workload little; maps have a fixed maximum size, which is why
a recording of hours takes bounded memory (a full map drops new keys, and the reader
says so).

Maps (a string, when a key has one, is its last field, so commas in it are harmless):

    @sys[abi, nr, comm]                    every syscall, per ABI (0 native, 1 compat)
    @clone[flags & namespace mask, comm]   clone/unshare namespace flags
    @sock[nr, family, type, protocol, comm] socket/socketpair arguments
    @pers[persona]  @ioctl[request, comm]  personality, ioctl requests
    @mux[nr, call]                         32-bit x86 socketcall/ipc call numbers
    @path[nr, which, flags, dirfd, dir inode, comm, path]   succeeded path calls
    @chdir[old cwd inode, new cwd inode, path]   (to resolve relative paths)
    @net[nr, family, port, addr, type, comm]   succeeded bind/connect (raw sockaddr)
    @listen[port, family, comm]            sockets listen() succeeded on
    @cap[cap, granted, comm]               capability checks (cap_capable)
    @exec[comm, filename]                  programs run
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harden.kernel import constants as k
from harden.kernel import syscalls as sc
from harden.kernel.syscalls import Arch

# Calls whose path arguments are kept: (index of a path, index of its dirfd or None).
PATH_CALLS: Mapping[str, tuple[tuple[int, int | None], ...]] = {
    "open": ((0, None),), "openat": ((1, 0),), "creat": ((0, None),),
    "mkdir": ((0, None),), "mkdirat": ((1, 0),), "rmdir": ((0, None),),
    "unlink": ((0, None),), "unlinkat": ((1, 0),),
    "rename": ((0, None), (1, None)), "renameat": ((1, 0), (3, 2)),
    "renameat2": ((1, 0), (3, 2)), "link": ((1, None),), "linkat": ((3, 2),),
    "symlink": ((1, None),), "symlinkat": ((2, 1),), "chmod": ((0, None),),
    "fchmodat": ((1, 0),), "truncate": ((0, None),), "mknod": ((0, None),),
    "mknodat": ((1, 0),), "utimensat": ((1, 0),),
}  # fmt: skip
# The flags argument of the open calls (its index).
OPEN_FLAGS: Mapping[str, int] = {"open": 1, "openat": 2}
READY = "harden-recorder-attached"
AT_FDCWD = -100
STRLEN = 64  # bpftrace's string size: the BPF stack (512 bytes) allows no more here
MAX_KEYS = 8192  # per map: what bounds the recorder's memory, however long it runs
EINPROGRESS = 115
# Compat (32-bit) ABI detection on x86_64: thread_info.status & TS_COMPAT.
_TS_COMPAT = 0x2
_X86_SOCKETCALL = 102
_X86_IPC = 117


CAP_PROBE = (
    # checks in the task's own name only: overlayfs, for one, checks as the mounter
    "tracepoint:capability:cap_capable /cgroup == $1 && args->cred == curtask->real_cred/ {",
    "  @cap[args->cap, args->ret == 0 ? 1 : 0, comm] = count();",
    "}",
)


@dataclass(frozen=True)
class Program:
    """The program text and the syscall numbers it names (to read its maps back)."""

    text: str
    arch: Arch
    path_calls: Mapping[int, str]  # number -> name
    net_calls: Mapping[int, str]  # bind and connect: number -> name


def _nr(arch: Arch, name: str) -> int | None:
    return sc.number(arch, name)


def _any(numbers: list[int]) -> str:
    return " || ".join(f"$nr == {n}" for n in sorted(numbers)) or "0"


def build(
    arch: Arch, *, capabilities: bool = True, exit_points: frozenset[str] | None = None
) -> Program:
    """The recorder program for ``arch`` (x86_64 also sees 32-bit x86 calls); without
    ``capabilities`` (a kernel before 6.14 has no cap_capable tracepoint) it sees none.

    Results are read at the exit tracepoint of each call whose arguments are kept
    (``syscalls:sys_exit_NAME``, restricted to ``exit_points`` when given: those the
    kernel has), never at the exit of every call: the hot path (read, write, epoll)
    runs one small program per call, on entry only."""
    ns_mask = k.CLONE_NAMESPACE_FLAGS
    number = {name: _nr(arch, name) for name in (
        "clone", "unshare", "socket", "socketpair", "personality", "ioctl", "bind", "connect",
        "chdir", "listen",
    )}  # fmt: skip

    def usable(name: str) -> bool:
        return exit_points is None or name in exit_points

    paths = {n: name for name in PATH_CALLS if (n := _nr(arch, name)) is not None and usable(name)}
    for name in ("bind", "connect", "chdir", "listen"):
        if not usable(name):
            number[name] = None
    stashed = {**paths, **{n: name for name in ("bind", "connect", "chdir", "listen")
                           if (n := number[name]) is not None}}  # fmt: skip
    stash = sorted(stashed)
    compat = f"(curtask->thread_info.status & {_TS_COMPAT}) ? 1 : 0" if arch is Arch.X86_64 else "0"
    enter = [
        "tracepoint:raw_syscalls:sys_enter /cgroup == $1/ {",
        f"  $abi = {compat};",
        "  $nr = args->id;",
        "  @sys[$abi, $nr, comm] = count();",
        "  if ($abi == 0) {",
        f"    if ({_any([n for n in (number['clone'], number['unshare']) if n is not None])}) {{",
        f"      @clone[args->args[0] & {ns_mask:#x}, comm] = count();",
        f"    }} else if ({_any([n for n in (number['socket'], number['socketpair']) if n])}) {{",
        f"      @sock[$nr, args->args[0], args->args[1] & {k.SOCK_TYPE_MASK:#x}, "
        "args->args[2], comm] = count();",
        f"    }} else if ({_any([number['personality'] or -1])}) {{",
        "      @pers[args->args[0] & 0xffffffff] = count();",
        f"    }} else if ({_any([number['ioctl'] or -1])}) {{",
        "      @ioctl[args->args[1] & 0xffffffff, comm] = count();",
        f"    }} else if ({_any(stash)}) {{",
        "      @pend[tid] = ($nr + 1, args->args[0], args->args[1], args->args[2], "
        "args->args[3], curtask->fs->pwd.dentry->d_inode->i_ino);",
        "    }",
    ]
    if arch is Arch.X86_64:
        enter += [
            f"  }} else if ($nr == {_X86_SOCKETCALL} || $nr == {_X86_IPC}) {{",
            "    @mux[$nr, args->args[0] & 0xffff] = count();",
        ]
    enter += ["  }", "}"]
    exit_ = [
        ",\n".join(f"tracepoint:syscalls:sys_exit_{name}" for _, name in sorted(stashed.items()))
        + " /cgroup == $1/ {",
        "  $p = @pend[tid];",
        "  if ($p.0 != 0) {",
        "    delete(@pend[tid]);",
        "    $nr = $p.0 - 1;",
        f"    if (args->ret >= 0 || args->ret == -{EINPROGRESS}) {{",
        *_net_exit(number["bind"], number["connect"]),
        *_chdir_exit(number["chdir"]),
        *_listen_exit(number["listen"]),
        *_path_exit(arch, paths),
        "    }",
        "  }",
        "}",
    ]
    rest = [
        *(CAP_PROBE if capabilities else ()),
        "tracepoint:sched:sched_process_exec /cgroup == $1/ {",
        "  @exec[comm, str(args->filename)] = count();",
        "}",
        "END { clear(@pend); }",
    ]
    begin = ['BEGIN { printf("%s\\n", "' + READY + '"); }']  # runs once every probe is attached
    text = "\n".join([*begin, *enter, *exit_, *rest]) + "\n"
    net = {n: name for name in ("bind", "connect") if (n := number[name]) is not None}
    return Program(text, arch, paths, net)


def _listen_exit(listen: int | None) -> list[str]:
    """The local port and family of a socket that listen() succeeded on (the kernel's
    state change to LISTEN has no tracepoint)."""
    if listen is None:
        return []
    return [
        f"      if ($nr == {listen}) {{",
        "        $lfile = *(curtask->files->fdt->fd + $p.1);",
        "        $sk = ((struct socket *)$lfile->private_data)->sk;",
        "        @listen[$sk->__sk_common.skc_num, $sk->__sk_common.skc_family, comm] = count();",
        "      }",
    ]


def _chdir_exit(chdir: int | None) -> list[str]:
    """Where a chdir went: old and new working directory inodes and the argument."""
    if chdir is None:
        return []
    return [
        f"      if ($nr == {chdir}) {{",
        "        @chdir[$p.5, curtask->fs->pwd.dentry->d_inode->i_ino, str(uptr($p.1))] = count();",
        "      }",
    ]


def _net_exit(bind: int | None, connect: int | None) -> list[str]:
    numbers = [n for n in (bind, connect) if n is not None]
    if not numbers:
        return []
    return [
        f"      if ({_any(numbers)}) {{",
        "        $file = *(curtask->files->fdt->fd + $p.1);",
        "        $socket = (struct socket *)$file->private_data;",
        "        $sa = (uint16 *)uptr($p.2);",
        "        $a4 = (uint32 *)uptr($p.2 + 4);",
        "        @net[$nr, *$sa, *($sa + 1), *$a4, $socket->type, comm] = count();",
        "      }",
    ]


def _path_exit(arch: Arch, paths: Mapping[int, str]) -> list[str]:
    """One @path entry per path argument (which = its position): the call's arguments
    are chosen first, so the map key is built at most twice (the BPF stack is small)."""
    lines = [
        "      $path0 = (uint64)0; $path1 = (uint64)0; $flags = (uint64)0;",
        f"      $dirfd0 = (int64){AT_FDCWD}; $dirfd1 = (int64){AT_FDCWD};",
    ]
    word = "if"
    for nr, name in sorted(paths.items()):
        sets = []
        for which, (index, dirfd) in enumerate(PATH_CALLS[name]):
            sets.append(f"$path{which} = $p.{index + 1};")
            if dirfd is not None:
                sets.append(f"$dirfd{which} = (int64)(int32)$p.{dirfd + 1};")
        if name in OPEN_FLAGS:
            sets.append(f"$flags = $p.{OPEN_FLAGS[name] + 1};")
        elif name == "creat":
            sets.append("$flags = 0x241;")  # O_WRONLY|O_CREAT|O_TRUNC
        lines.append(f"      {word} ($nr == {nr}) {{ {' '.join(sets)} }}")
        word = "else if"
    for which in (0, 1):
        lines += [
            f"      if ($path{which} != 0) {{",
            f"        $ino{which} = $p.5;",
            f"        if ($dirfd{which} != {AT_FDCWD}) {{",
            f"          $ino{which} = (*(curtask->files->fdt->fd + $dirfd{which}))"
            "->f_path.dentry->d_inode->i_ino;",
            "        }",
            f"        @path[$nr, {which}, $flags, $dirfd{which}, $ino{which}, comm, "
            f"str(uptr($path{which}))] = count();",
            "      }",
        ]
    return lines
