"""strace output parsing and the facts observed from it."""

from __future__ import annotations

from harden.kernel.syscalls import Arch
from harden.runtime.record.observe import Observations, Observer
from harden.runtime.record.trace import Call, TraceParser, split_args, string_arg, unescape
from tests.conftest import DATA

TRACE = DATA / "record" / "server.trace"


def parse(path: object = TRACE) -> tuple[TraceParser, list[Call]]:
    parser = TraceParser(Arch.X86_64)
    calls = []
    for line in TRACE.read_text().splitlines():
        call = parser.feed(line)
        if call is not None:
            calls.append(call)
    calls += parser.flush()
    return parser, calls


def observe(skip: set[int] | None = None) -> Observations:
    observer = Observer({100: "server"}, skip or set())
    for call in parse()[1]:
        observer.add(call)
    return observer.finish()


def test_unfinished_and_resumed_halves_are_joined() -> None:
    _, calls = parse()
    setgid = [c for c in calls if c.name == "setgid"]
    assert setgid == [Call(101, "setgid", "33", "0", Arch.X86_64)]
    epoll = [c for c in calls if c.name == "epoll_wait"]
    assert epoll[0].args.startswith("9<anon_inode:[eventpoll]>, []")


def test_personality_switch_and_exits_and_junk_are_tracked() -> None:
    parser, calls = parse()
    socketcall = next(c for c in calls if c.name == "socketcall")
    assert socketcall.arch is Arch.X86
    assert [(e.pid, e.code) for e in parser.exits] == [(101, 0), (100, 0)]
    assert parser.unparsed == 1
    assert not parser.pending


def test_results_decorations_and_child_pids() -> None:
    _, calls = parse()
    libc = next(c for c in calls if "libc.so.6" in c.args)
    assert libc.returned_path == "/usr/lib/x86_64-linux-gnu/libc.so.6"
    missing = next(c for c in calls if "missing.conf" in c.args)
    assert missing.failed
    assert missing.errno == "ENOENT"
    clone = next(c for c in calls if c.name == "clone")
    assert clone.child_pid == 101  # the host pid, not the namespace's 2
    assert clone.returned_int == 2


def test_arguments_split_at_top_level_only() -> None:
    args = split_args('3</a,b>, "x,\\"y", {sa_family=AF_INET, sin_port=htons(1)}, [112 => 16], 0')
    assert args == ["3</a,b>", '"x,\\"y"', "{sa_family=AF_INET, sin_port=htons(1)}",
                    "[112 => 16]", "0"]  # fmt: skip
    assert string_arg('"/tmp/a\\"b"') == '/tmp/a"b'
    assert string_arg("AT_FDCWD") is None
    assert unescape("caf\\303\\251 \\x41\\n") == "café A\n"


def test_observed_facts() -> None:
    obs = observe()
    assert obs.listen == {(8080, "tcp"): {"server"}}
    assert set(obs.connect) == {("10.0.0.2", 53, "udp")}  # the failed connect is not a fact
    assert set(obs.families) == {"inet", "inet6", "unix"}
    assert "/srv/conf/server.conf" in obs.reads  # a relative path resolved through AT_FDCWD
    assert "/etc/missing.conf" not in obs.reads
    assert set(obs.writes) == {"/run/server.pid", "/var/log/server/access.log"}
    assert set(obs.created_dirs) == {"/var/cache/server/tmp"}
    assert set(obs.execs) == {"/usr/sbin/server", "/usr/bin/helper"}
    assert obs.capability_hints["SETUID"] == {"setuid()": {"server"}}  # the child, by its parent
    assert obs.capability_hints["CHOWN"] == {"chown()": {"server"}}
    assert "socketcall" in obs.syscalls[Arch.X86]
    assert "syscall_0x1c2" in obs.syscalls[Arch.X86]


def test_calls_before_the_first_exec_of_a_held_process_are_not_the_workload() -> None:
    obs = observe(skip={100})
    assert obs.execs["/usr/sbin/server"] == {"server"}
    assert "brk" in obs.syscalls[Arch.X86_64]
    skipped = Observer({}, {100})
    skipped.add(Call(100, "read", "0, ...", "1", Arch.X86_64))
    assert skipped.finish().calls == 0
