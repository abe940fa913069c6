"""_seccomp: the syscall filter of the harness and completion processes. The program is
checked by an interpreter of classic BPF on both architectures; the installed filter by
what tested code gets back from the kernel (and what the same calls return unfiltered)."""

import errno
import os
import struct
import subprocess
import sys
import textwrap

import pytest

from rankinv.sandbox import _seccomp, executor
from rankinv.sandbox.tasks import Task

MACHINE = os.uname().machine
needs_filter = pytest.mark.skipif(
    MACHINE not in _seccomp.ARCHES, reason=f"no syscall filter for {MACHINE}"
)
EPERM = _seccomp.SECCOMP_RET_ERRNO | errno.EPERM
ALLOW = _seccomp.SECCOMP_RET_ALLOW
KILL = _seccomp.SECCOMP_RET_KILL_PROCESS


def _run_bpf(code: bytes, nr: int, arch: int, args=(0,) * 6) -> int:
    """What the kernel would return for this call: classic BPF on struct seccomp_data."""
    data = struct.pack("<iIQ6Q", nr, arch, 0, *args)
    insns = [struct.unpack("=HBBI", code[i : i + 8]) for i in range(0, len(code), 8)]
    a, pc = 0, 0
    while True:
        op, jt, jf, k = insns[pc]
        pc += 1
        if op == _seccomp.BPF_LD_W_ABS:
            (a,) = struct.unpack_from("<I", data, k)
        elif op == _seccomp.BPF_RET_K:
            return k
        else:
            taken = {
                _seccomp.BPF_JEQ_K: a == k,
                _seccomp.BPF_JGE_K: a >= k,
                _seccomp.BPF_JSET_K: bool(a & k),
            }[op]
            pc += jt if taken else jf


@pytest.mark.parametrize("machine", sorted(_seccomp.ARCHES))
def test_the_program_denies_the_list_checks_sockets_and_clone_and_allows_the_rest(machine):
    code = _seccomp.program(machine)
    arch, col = _seccomp.ARCHES[machine]
    assert len(code) % 8 == 0 and len(code) // 8 < 4096
    denied = {nums[col] for nums in _seccomp.DENIED.values() if nums[col] is not None}
    assert len(denied) == sum(nums[col] is not None for nums in _seccomp.DENIED.values())
    for nr in denied:
        assert _run_bpf(code, nr, arch) == EPERM, nr
    sock, pair = _seccomp.SOCKET[machine]
    for nr in (sock, pair):
        assert _run_bpf(code, nr, arch, (1, 1, 0, 0, 0, 0)) == ALLOW  # AF_UNIX
        assert _run_bpf(code, nr, arch, ((1 << 32) | 1, 1, 0, 0, 0, 0)) == ALLOW  # an int
        for family in (2, 10, 16, 17, 40):  # INET, INET6, NETLINK, PACKET, VSOCK
            assert _run_bpf(code, nr, arch, (family,) + (0,) * 5) == (
                _seccomp.SECCOMP_RET_ERRNO | errno.EAFNOSUPPORT
            )
    clone = _seccomp.CLONE[machine]
    assert _run_bpf(code, clone, arch, (0x01200011,) + (0,) * 5) == ALLOW  # fork()'s flags
    assert _run_bpf(code, clone, arch, (0x003D0F00,) + (0,) * 5) == ALLOW  # a thread's
    for flag in (0x10000000, 0x20000000, 0x40000000, 0x00020000, 0x08000000):
        assert _run_bpf(code, clone, arch, (flag | 17,) + (0,) * 5) == EPERM
    assert _run_bpf(code, _seccomp.CLONE3, arch) == _seccomp.SECCOMP_RET_ERRNO | errno.ENOSYS
    for nr in set(range(460)) - denied - {sock, pair, clone, _seccomp.CLONE3}:
        assert _run_bpf(code, nr, arch) == ALLOW, nr
    other = _seccomp.AUDIT_ARCH_AARCH64 if machine == "x86_64" else _seccomp.AUDIT_ARCH_X86_64
    assert _run_bpf(code, 0, other) == KILL
    assert _run_bpf(code, 0, 0x40000003) == KILL  # i386
    if machine == "x86_64":
        assert _run_bpf(code, 0x40000000 | 39, arch) == KILL  # x32 getpid


def test_an_unknown_architecture_has_no_program():
    with pytest.raises(ValueError, match="sparc"):
        _seccomp.program("sparc")


# Tested code calls each denied syscall directly (ctypes) and returns the errno names.
_PROBE = """\
import ctypes, errno, os, socket
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

def call(nr, *args):
    rc = libc.syscall(nr, *[ctypes.c_long(a) for a in args])
    if rc == 0 and nr == CLONE:
        os._exit(0)  # a child of an unfiltered clone ends at once
    return "ok" if rc >= 0 else errno.errorcode[ctypes.get_errno()]

def probe(calls):
    out = {name: call(nr, *args) for name, nr, args in calls}
    for family in FAMILIES:
        try:
            socket.socket(family, socket.SOCK_DGRAM if family != 1 else socket.SOCK_STREAM).close()
            out[f"socket {family}"] = "ok"
        except OSError as exc:
            out[f"socket {family}"] = errno.errorcode[exc.errno]
    return out
"""
# calls whose unfiltered answer (here, as root or not) is something other than EPERM, with
# harmless arguments: they tell a filtered process from an unfiltered one
TELLING = {
    "ptrace": (3, 0, 0, 0),  # PTRACE_PEEKUSER of a process not traced: ESRCH
    "process_vm_readv": (0, 0, 0, 0, 0, 0),  # pid 0: ESRCH / EINVAL
    "unshare": (0,),  # nothing to unshare: succeeds
    "setns": (-1, 0),  # EBADF
    "keyctl": (0, -2, 0),  # KEYCTL_GET_KEYRING_ID of the process keyring: ENOKEY
    "perf_event_open": (0, 0, -1, -1, 0),  # EFAULT
    "io_uring_setup": (0, 0),  # EFAULT / EINVAL
    "personality": (0xFFFFFFFF,),  # a query: succeeds
    "pidfd_getfd": (-1, 0, 0),  # EBADF
    "userfaultfd": (0xFFFF,),  # EINVAL
    "kcmp": (0, 0, 99, 0, 0),  # ESRCH / EINVAL
}
FAMILIES = (2, 10, 16)  # AF_INET, AF_INET6, AF_NETLINK


def _calls(names=None):
    col = _seccomp.ARCHES[MACHINE][1]
    out = []
    for name, nums in _seccomp.DENIED.items():
        if nums[col] is not None and (names is None or name in names):
            out.append((name, nums[col], TELLING.get(name, (0, 0, 0, 0, 0, 0))))
    return out


def _clone_calls():
    ns = 0x10000000 | 17  # CLONE_NEWUSER | SIGCHLD
    return [
        ("clone newuser", _seccomp.CLONE[MACHINE], (ns, 0, 0, 0, 0)),
        ("clone3", _seccomp.CLONE3, (0, 0)),
    ]


def _probe_source(calls) -> str:
    head = f"CLONE = {_seccomp.CLONE.get(MACHINE, -1)}\nFAMILIES = {FAMILIES!r}\n"
    return head + _PROBE + f"\nRESULT = probe({calls!r})\n"


def _in_sandbox(sandbox, calls, want: dict):
    """Run the probe as tested code; its tests compare each answer with ``want``."""
    test = (
        f"WANT = {want!r}\n"
        "def check(candidate):\n"
        "    got = candidate()\n"
        "    wrong = {k: v for k, v in got.items() if WANT.get(k) != v}\n"
        "    assert not wrong and set(got) == set(WANT), wrong\n"
    )
    completion = textwrap.indent(_probe_source(calls), "    ") + "    return RESULT\n"
    return sandbox.check(Task("seccomp/0", "def f():\n", "f", test, ""), completion, 10)


@needs_filter
def test_each_denied_call_fails_with_eperm_from_tested_code(sandbox):
    want = {name: "EPERM" for name, _, _ in _calls()}
    want |= {"clone newuser": "EPERM", "clone3": "ENOSYS"}
    want |= {f"socket {f}": "EAFNOSUPPORT" for f in FAMILIES}
    out = _in_sandbox(sandbox, _calls() + _clone_calls(), want)
    assert out.passed, out


@needs_filter
def test_the_telling_calls_answer_otherwise_without_the_filter():
    """The same probe outside the sandbox (no filter): none of these calls answers as the
    filter does, so the test above fails if the filter is missing."""
    calls = _calls(TELLING)
    assert len(calls) >= 10
    code = _probe_source(calls) + "print(repr(RESULT))\n"
    res = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True)
    got = eval(res.stdout)
    filtered = {name: "EPERM" for name, _, _ in calls}
    filtered |= {f"socket {f}": "EAFNOSUPPORT" for f in FAMILIES}
    assert all(got[k] != filtered[k] for k in filtered), got


@needs_filter
def test_what_tested_code_needs_still_works(sandbox):
    """Threads (clone3 refused, clone used), fork, subprocess, AF_UNIX sockets, pipes,
    mmap, signals, select and the time: none is touched by the filter."""
    test = "def check(candidate):\n    assert candidate() == 'ok', candidate()\n"
    completion = (
        "    import mmap, os, select, signal, socket, subprocess, threading, time\n"
        "    box = []\n"
        "    t = threading.Thread(target=box.append, args=(1,))\n"
        "    t.start()\n    t.join()\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n        os._exit(7)\n"
        "    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 7\n"
        "    assert subprocess.run(['true']).returncode == 0\n"
        "    a, b = socket.socketpair()\n    a.sendall(b'x')\n"
        "    assert select.select([b], [], [], 1)[0] and b.recv(1) == b'x'\n"
        "    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n    s.close()\n"
        "    r, w = os.pipe()\n    os.write(w, b'y')\n    assert os.read(r, 1) == b'y'\n"
        "    m = mmap.mmap(-1, 4096)\n    m[0] = 1\n"
        "    signal.signal(signal.SIGUSR1, lambda *a: box.append(2))\n"
        "    os.kill(os.getpid(), signal.SIGUSR1)\n"
        "    assert time.time() > 0 and box == [1, 2], box\n"
        "    return 'ok'\n"
    )
    assert sandbox.check(Task("s/0", "def f():\n", "f", test, ""), completion, 10).passed
    assert "syscall filter (seccomp)" in sandbox.isolation


_BLOCK_SECCOMP = """\
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
# a filter of the parent that answers EPERM to seccomp(): no further filter can be added
prog = b"".join(struct.pack("=HBBI", *i) for i in (
    (0x20, 0, 0, 0), (0x15, 0, 1, 317), (0x06, 0, 0, 0x00050001), (0x06, 0, 0, 0x7FFF0000)))
buf = ctypes.create_string_buffer(prog, len(prog))
fprog = struct.pack("HxxxxxxQ", 4, ctypes.addressof(buf))
assert libc.prctl(38, 1, 0, 0, 0) == 0
assert libc.prctl(22, 2, ctypes.c_char_p(fprog), 0, 0) == 0
from rankinv.errors import UserError
from rankinv.sandbox import executor, tasks
t = tasks.load("humaneval")[0]
try:
    with executor.Sandbox(1) as sb:
        print("started", sb.check(t, t.canonical_solution).passed, sb.isolation)
except UserError as exc:
    print("refused", exc)
"""


@pytest.mark.skipif(MACHINE != "x86_64", reason="the blocking filter is written for x86_64")
def test_without_its_filter_the_sandbox_refuses_to_start_unless_told_otherwise():
    def run(env):
        res = subprocess.run(
            [sys.executable, "-c", _BLOCK_SECCOMP], capture_output=True, text=True,
            env={**os.environ, **env}, timeout=120,
        )  # fmt: skip
        assert res.returncode == 0, res.stderr[-2000:]
        return res.stdout.strip()

    refused = run({})
    assert refused.startswith("refused the sandbox cannot install its syscall filter"), refused
    assert executor.ALLOW_UNFILTERED_ENV + "=1" in refused and "\n" not in refused
    started = run({executor.ALLOW_UNFILTERED_ENV: "1"})
    assert started.startswith("started True") and "syscall filter" not in started, started


def test_allow_unfiltered_comes_from_the_argument_or_the_environment(monkeypatch):
    monkeypatch.delenv(executor.ALLOW_UNFILTERED_ENV, raising=False)
    assert executor._allow_unfiltered_default() is False
    monkeypatch.setenv(executor.ALLOW_UNFILTERED_ENV, "0")
    assert executor._allow_unfiltered_default() is False
    monkeypatch.setenv(executor.ALLOW_UNFILTERED_ENV, "1")
    assert executor._allow_unfiltered_default() is True
