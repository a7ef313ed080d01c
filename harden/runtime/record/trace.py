"""Parsing strace output (``strace -f -qq -y``) into calls, one line at a time.

The format, as strace 5.x/6.x prints it with ``-f`` to a file::

    PID NAME(ARGS) = RESULT
    PID NAME(ARGS <unfinished ...>           (another process ran in between)
    PID <... NAME resumed>REST) = RESULT
    PID --- SIGCHLD {...} ---                 (signals)
    PID +++ exited with 0 +++                 (process ends)
    [ Process PID=12 runs in 32 bit mode. ]   (a personality switch)

``-y`` decorates descriptors with what they refer to (``3</etc/passwd>``,
``5<socket:[123]>``); the decoration of a returned descriptor is the resolved path of
the file that was opened. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from harden.kernel.syscalls import Arch

_CALL = re.compile(r"^(?P<name>[a-z_][a-z0-9_]*)\((?P<rest>.*)$")
_RESUMED = re.compile(r"^<\.\.\. (?P<name>[a-z_][a-z0-9_]*) resumed>(?P<rest>.*)$")
_RESULT = re.compile(r"\)\s+= (?P<result>.*)$")
_EXITED = re.compile(r"^\+\+\+ (?:exited with (?P<code>\d+)|killed by (?P<sig>\S+)).* \+\+\+$")
_MODE = re.compile(r"Process PID=(?P<pid>\d+) runs in (?P<mode>.+?) mode")
_UNFINISHED = " <unfinished ...>"
_DETACHED = " <detached ...>"
_DECORATION = re.compile(r"^-?\d+<(?P<what>.*)>")
_HOST_PID = re.compile(r"/\* (?P<pid>\d+) in strace's PID NS \*/")
_ERRNO = re.compile(r"^-1 (?P<errno>E[A-Z0-9]+)\b")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "v": "\v", "f": "\f", '"': '"', "\\": "\\"}
_SUBARCH = {
    "32 bit": {Arch.X86_64: Arch.X86, Arch.AARCH64: Arch.ARM},
    "x32": {Arch.X86_64: Arch.X32},
}


@dataclass(frozen=True)
class Call:
    """One completed system call of one process (or thread)."""

    pid: int
    name: str
    args: str  # the argument text as strace printed it, decorations included
    result: str  # the text after "= ": "0", "3</etc/passwd>", "-1 ENOENT (...)", "?"
    arch: Arch

    @property
    def failed(self) -> bool:
        return self.result.startswith("-1 ")

    @property
    def errno(self) -> str | None:
        match = _ERRNO.match(self.result)
        return match["errno"] if match else None

    @property
    def returned_path(self) -> str | None:
        """The path a returned descriptor refers to (``-y``), if it is a file."""
        match = _DECORATION.match(self.result)
        if not match:
            return None
        return file_path(match["what"])

    @property
    def child_pid(self) -> int | None:
        """The pid a fork returned, as the tracer sees it (``--decode-pids=pidns``)."""
        translated = _HOST_PID.search(self.result)
        if translated:
            return int(translated["pid"])
        return self.returned_int

    @property
    def returned_int(self) -> int | None:
        head = self.result.split("<", 1)[0].split(" ", 1)[0]
        try:
            return int(head, 0)
        except ValueError:
            return None


@dataclass
class ExitEvent:
    pid: int
    code: int | None
    signal: str | None


@dataclass
class TraceParser:
    """Turns lines into :class:`Call` objects, joining unfinished and resumed halves."""

    native: Arch
    pending: dict[int, tuple[str, str]] = field(default_factory=dict)
    modes: dict[int, Arch] = field(default_factory=dict)
    exits: list[ExitEvent] = field(default_factory=list)
    unparsed: int = 0

    def feed(self, line: str) -> Call | None:
        line = line.rstrip("\n")
        mode = _MODE.search(line)
        if mode:
            self._switch(int(mode["pid"]), mode["mode"])
            return None
        pid_text, _, body = line.partition(" ")
        if not pid_text.isdigit():
            self.unparsed += bool(line.strip())
            return None
        pid = int(pid_text)
        body = body.lstrip()
        return self._body(pid, body)

    def _switch(self, pid: int, mode: str) -> None:
        sub = _SUBARCH.get(mode, {}).get(self.native)
        if sub is None:
            self.modes.pop(pid, None)
        else:
            self.modes[pid] = sub

    def _body(self, pid: int, body: str) -> Call | None:
        if body.startswith(("---", "+++")):
            exited = _EXITED.match(body)
            if exited:
                code = exited["code"]
                self.exits.append(ExitEvent(pid, int(code) if code else None, exited["sig"]))
                self.pending.pop(pid, None)
            return None
        resumed = _RESUMED.match(body)
        if resumed:
            head = self.pending.pop(pid, None)
            name = resumed["name"]
            args_head = head[1] if head and head[0] == name else ""
            return self._complete(pid, name, args_head + resumed["rest"])
        call = _CALL.match(body)
        if not call:
            self.unparsed += 1
            return None
        rest = call["rest"]
        for marker in (_UNFINISHED, _DETACHED):
            if rest.endswith(marker):
                self.pending[pid] = (call["name"], rest[: -len(marker)])
                return None
        return self._complete(pid, call["name"], rest)

    def _complete(self, pid: int, name: str, rest: str) -> Call | None:
        result = _RESULT.search(rest)
        if not result:
            self.unparsed += 1
            return None
        args = rest[: result.start()]
        arch = self.modes.get(pid, self.native)
        return Call(pid, name, args, result["result"].strip(), arch)

    def flush(self) -> list[Call]:
        """Calls still unfinished when the trace ended (the process was detached or killed)."""
        calls = [
            Call(pid, name, args, "?", self.modes.get(pid, self.native))
            for pid, (name, args) in sorted(self.pending.items())
        ]
        self.pending.clear()
        return calls


def file_path(decoration: str) -> str | None:
    """A file system path from a ``-y`` decoration, or None for sockets, pipes, ..."""
    if not decoration.startswith("/"):
        return None
    text = unescape(decoration)
    return text.removesuffix(" (deleted)")


def split_args(args: str) -> list[str]:
    """Top-level arguments: commas inside quotes, brackets and decorations do not split."""
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    i = 0
    while i < len(args):
        ch = args[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch in "([{" or (ch == "<" and i and (args[i - 1].isdigit() or args[i - 1] == "D")):
            depth += 1
        elif ch in ")]}>" and depth and not (ch == ">" and args[i - 1] == "="):
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(args[start:i].strip())
            start = i + 1
        i += 1
    tail = args[start:].strip()
    if tail or parts:
        parts.append(tail)
    return parts


def string_arg(arg: str) -> str | None:
    """The value of a quoted string argument (``"/etc/passwd"``), unescaped."""
    arg = arg.strip()
    if not arg.startswith('"'):
        return None
    end = _closing_quote(arg)
    if end < 0:
        return None
    return unescape(arg[1:end])


def decoration(arg: str) -> str | None:
    """The decoration of a descriptor argument (``3</etc>`` -> ``/etc``)."""
    if arg.endswith(">") and "<" in arg:
        return arg[arg.index("<") + 1 : -1]
    return None


def _closing_quote(text: str) -> int:
    i = 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i
        i += 1
    return -1


def unescape(text: str) -> str:
    """Undo strace's C-style escaping (``\\n``, ``\\"``, octal ``\\303``, hex ``\\xc3``)."""
    if "\\" not in text:
        return text
    out = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "\\" or i + 1 == len(text):
            out += ch.encode()
            i += 1
            continue
        nxt = text[i + 1]
        if nxt in _ESCAPES:
            out += _ESCAPES[nxt].encode()
            i += 2
        elif nxt == "x":
            out.append(int(text[i + 2 : i + 4], 16))
            i += 4
        elif nxt.isdigit():
            j = i + 1
            while j < len(text) and j < i + 4 and text[j] in "01234567":
                j += 1
            out.append(int(text[i + 1 : j], 8) & 0xFF)
            i = j
        else:
            out += nxt.encode()
            i += 2
    return out.decode("utf-8", "replace")
