"""A classic-BPF interpreter for seccomp filters, to check compiled programs call by call.

It runs the exact bytes libseccomp exported against a ``seccomp_data`` record, as the
kernel would (little-endian ABIs only: x86_64, x86, x32, aarch64, arm).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from harden.errors import CheckFailed
from harden.layers.seccomp.model import Action, Decision

_INSN = struct.Struct("<HBBI")
_U32 = 0xFFFFFFFF

# Instruction classes and fields (linux/filter.h).
_LD, _LDX, _ST, _STX, _ALU, _JMP, _RET, _MISC = range(8)
_W, _H, _B = 0x00, 0x08, 0x10
_IMM, _ABS, _IND, _MEM, _LEN, _MSH = 0x00, 0x20, 0x40, 0x60, 0x80, 0xA0
_K, _X, _A = 0x00, 0x08, 0x10
_JA, _JEQ, _JGT, _JGE, _JSET = 0x00, 0x10, 0x20, 0x30, 0x40
_ADD, _SUB, _MUL, _DIV, _OR, _AND, _LSH, _RSH, _NEG, _MOD, _XOR = (
    0x00,
    0x10,
    0x20,
    0x30,
    0x40,
    0x50,
    0x60,
    0x70,
    0x80,
    0x90,
    0xA0,
)

_RET_ACTIONS = {
    0x80000000: Action.KILL_PROCESS,
    0x00000000: Action.KILL_THREAD,
    0x00030000: Action.TRAP,
    0x00050000: Action.ERRNO,
    0x7FC00000: Action.NOTIFY,
    0x7FF00000: Action.TRACE,
    0x7FFC0000: Action.LOG,
    0x7FFF0000: Action.ALLOW,
}
SECCOMP_DATA_LEN = 64


@dataclass(frozen=True)
class Insn:
    code: int
    jt: int
    jf: int
    k: int


def decode(program: bytes) -> tuple[Insn, ...]:
    """Instructions of a program as exported by ``seccomp_export_bpf``."""
    if len(program) % _INSN.size:
        raise CheckFailed(f"BPF program has {len(program)} bytes, not a multiple of 8")
    return tuple(
        Insn(*_INSN.unpack_from(program, off)) for off in range(0, len(program), _INSN.size)
    )


def seccomp_data(nr: int, arch: int, args: Sequence[int] = (), ip: int = 0) -> bytes:
    """The record the kernel passes to a seccomp filter."""
    full = (list(args) + [0] * 6)[:6]
    return struct.pack("<iIQ6Q", nr, arch, ip, *(a & (1 << 64) - 1 for a in full))


def run(program: Sequence[Insn], data: bytes) -> int:  # noqa: PLR0912, PLR0915 - one interpreter loop
    """The 32-bit return value of the filter for one ``seccomp_data`` record."""
    a = x = 0
    mem = [0] * 16
    pc = 0
    steps = 0
    n = len(program)
    while pc < n:
        steps += 1
        if steps > 1_000_000:
            raise CheckFailed("BPF program does not terminate")
        ins = program[pc]
        code, k = ins.code, ins.k
        cls = code & 0x07
        pc += 1
        if cls == _RET:
            src = code & 0x18
            return (a if src == _A else k) & _U32
        if cls == _LD:
            mode = code & 0xE0
            if mode == _ABS:
                a = _load(data, k, code & 0x18)
            elif mode == _IMM:
                a = k
            elif mode == _MEM:
                a = mem[k]
            elif mode == _LEN:
                a = SECCOMP_DATA_LEN
            elif mode == _IND:
                a = _load(data, (x + k) & _U32, code & 0x18)
            else:
                raise CheckFailed(f"unsupported BPF load mode {code:#x}")
        elif cls == _LDX:
            mode = code & 0xE0
            x = k if mode == _IMM else mem[k] if mode == _MEM else SECCOMP_DATA_LEN
        elif cls == _ST:
            mem[k] = a
        elif cls == _STX:
            mem[k] = x
        elif cls == _ALU:
            a = _alu(code, a, x if code & 0x08 else k)
        elif cls == _JMP:
            op = code & 0xF0
            if op == _JA:
                pc += k
                continue
            operand = x if code & 0x08 else k
            taken = _jump(op, a, operand)
            pc += ins.jt if taken else ins.jf
        elif cls == _MISC:
            if code & 0xF8 == 0x00:  # TAX
                x = a
            else:  # TXA
                a = x
    raise CheckFailed("BPF program ran off its end without returning")


def _load(data: bytes, offset: int, size: int) -> int:
    width = {_W: 4, _H: 2, _B: 1}[size]
    if offset + width > len(data):
        raise CheckFailed(f"BPF program reads outside seccomp_data (offset {offset})")
    return int.from_bytes(data[offset : offset + width], "little")


def _alu(code: int, a: int, v: int) -> int:
    op = code & 0xF0
    if op == _ADD:
        return (a + v) & _U32
    if op == _SUB:
        return (a - v) & _U32
    if op == _MUL:
        return (a * v) & _U32
    if op == _DIV:
        return a // v if v else 0
    if op == _MOD:
        return a % v if v else 0
    if op == _OR:
        return a | v
    if op == _AND:
        return a & v
    if op == _XOR:
        return a ^ v
    if op == _LSH:
        return (a << v) & _U32
    if op == _RSH:
        return a >> v
    if op == _NEG:
        return (-a) & _U32
    raise CheckFailed(f"unsupported BPF ALU operation {code:#x}")


def _jump(op: int, a: int, v: int) -> bool:
    if op == _JEQ:
        return a == v
    if op == _JGT:
        return a > v
    if op == _JGE:
        return a >= v
    if op == _JSET:
        return bool(a & v)
    raise CheckFailed(f"unsupported BPF jump {op:#x}")


def to_decision(ret: int) -> Decision:
    """The action (and errno/trace data) encoded in a filter's return value."""
    action = _RET_ACTIONS.get(ret & 0xFFFF0000)
    if action is None:
        raise CheckFailed(f"BPF program returned an unknown action {ret:#010x}")
    if action in (Action.ERRNO, Action.TRACE):
        return Decision(action, ret & 0xFFFF)
    return Decision(action)
