"""The sandbox's syscall filter: a seccomp BPF program built with the standard library.

Standard library only: loaded by ``_worker.py`` as a top-level module (importable as
``rankinv.sandbox._seccomp`` too).

The harness and every completion process install it on themselves once confined (after
the uid drop and Landlock), before they run a line of tested code; it is inherited by
every thread, fork and exec of theirs and cannot be removed. What it does, for the
architectures it knows (x86_64, aarch64; any other architecture seen at run time, such as
the 32-bit or x32 ABIs on x86_64, kills the process):

- denies (the call fails with EPERM) what tested code never needs and what widens the
  kernel's attack surface: tracing and reading other processes (ptrace,
  process_vm_readv/writev, pidfd_getfd, kcmp), namespaces (unshare, setns, and clone with
  a namespace flag), mounts (mount, umount2, pivot_root, chroot, the new mount API), BPF
  and perf (bpf, perf_event_open), the key store (keyctl, add_key, request_key),
  io_uring, userfaultfd, modules and kexec, the clock, swap, reboot, quotas, accounting,
  handle-based opens, fanotify, personality and the x86 port/LDT calls;
- allows socket() and socketpair() only for AF_UNIX (EAFNOSUPPORT otherwise: no TCP/UDP,
  netlink, packet, vsock, bluetooth, alg... socket even inside the empty network namespace);
- answers clone3 with ENOSYS (its flags sit behind a pointer a filter cannot read), so the
  C library falls back to clone, whose flags it checks;
- allows everything else.

Installed with prctl(PR_SET_NO_NEW_PRIVS) and seccomp(SECCOMP_SET_MODE_FILTER) (prctl's
PR_SET_SECCOMP where the seccomp call is missing). :func:`install` raises OSError when it
cannot; the caller decides whether that is fatal (it is, unless the user opted out).
"""

import ctypes
import errno
import os
import struct

# <linux/audit.h>
AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_AARCH64 = 0xC00000B7
X32_SYSCALL_BIT = 0x40000000

# <linux/seccomp.h>
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000
PR_SET_NO_NEW_PRIVS = 38
PR_GET_SECCOMP = 21
PR_SET_SECCOMP = 22

# <linux/filter.h>: classic BPF opcodes
BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_JGE_K = 0x35
BPF_JSET_K = 0x45
BPF_RET_K = 0x06

# struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]
OFF_NR, OFF_ARCH, OFF_ARG0_LOW = 0, 4, 16  # both architectures are little-endian

AF_UNIX = 1
# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET (CLONE_NEWTIME, 0x80, is
# part of the exit signal for clone(); a time namespace is refused by unshare/clone3 instead)
CLONE_NS_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000
CLONE_NS_FLAGS |= 0x20000000 | 0x40000000

# name -> (x86_64 number, aarch64 number); None: the call does not exist there
DENIED = {
    "ptrace": (101, 117),
    "process_vm_readv": (310, 270),
    "process_vm_writev": (311, 271),
    "pidfd_getfd": (438, 438),
    "kcmp": (312, 272),
    "unshare": (272, 97),
    "setns": (308, 268),
    "mount": (165, 40),
    "umount2": (166, 39),
    "pivot_root": (155, 41),
    "chroot": (161, 51),
    "open_tree": (428, 428),
    "move_mount": (429, 429),
    "fsopen": (430, 430),
    "fsconfig": (431, 431),
    "fsmount": (432, 432),
    "fspick": (433, 433),
    "mount_setattr": (442, 442),
    "bpf": (321, 280),
    "perf_event_open": (298, 241),
    "keyctl": (250, 219),
    "add_key": (248, 217),
    "request_key": (249, 218),
    "io_uring_setup": (425, 425),
    "io_uring_enter": (426, 426),
    "io_uring_register": (427, 427),
    "userfaultfd": (323, 282),
    "init_module": (175, 105),
    "finit_module": (313, 273),
    "delete_module": (176, 106),
    "kexec_load": (246, 104),
    "kexec_file_load": (320, 294),
    "reboot": (169, 142),
    "swapon": (167, 224),
    "swapoff": (168, 225),
    "acct": (163, 89),
    "quotactl": (179, 60),
    "quotactl_fd": (443, 443),
    "syslog": (103, 116),
    "settimeofday": (164, 170),
    "clock_settime": (227, 112),
    "clock_adjtime": (305, 266),
    "adjtimex": (159, 171),
    "sethostname": (170, 161),
    "setdomainname": (171, 162),
    "name_to_handle_at": (303, 264),
    "open_by_handle_at": (304, 265),
    "fanotify_init": (300, 262),
    "lookup_dcookie": (212, 18),
    "personality": (135, 92),
    "vhangup": (153, 58),
    "iopl": (172, None),
    "ioperm": (173, None),
    "modify_ldt": (154, None),
    "uselib": (134, None),
}
# calls whose first argument is checked, and the one that answers ENOSYS
SOCKET = {"x86_64": (41, 53), "aarch64": (198, 199)}  # socket, socketpair
CLONE = {"x86_64": 56, "aarch64": 220}
CLONE3 = 435
ARCHES = {"x86_64": (AUDIT_ARCH_X86_64, 0), "aarch64": (AUDIT_ARCH_AARCH64, 1)}
SYS_SECCOMP = {"x86_64": 317, "aarch64": 277}


def _insn(code, k, jt=0, jf=0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def _ret(value) -> bytes:
    return _insn(BPF_RET_K, value)


def program(machine: str | None = None) -> bytes:
    """The filter for ``machine`` (``os.uname().machine`` by default) as the bytes of an
    array of ``struct sock_filter``; ValueError for an architecture it does not know."""
    machine = machine or os.uname().machine
    if machine not in ARCHES:
        raise ValueError(f"no syscall filter for the {machine} architecture")
    audit_arch, column = ARCHES[machine]
    deny = _ret(SECCOMP_RET_ERRNO | errno.EPERM)
    out = [
        _insn(BPF_LD_W_ABS, OFF_ARCH),
        _insn(BPF_JEQ_K, audit_arch, jt=1),
        _ret(SECCOMP_RET_KILL_PROCESS),
        _insn(BPF_LD_W_ABS, OFF_NR),
    ]
    if machine == "x86_64":  # the x32 ABI: the same calls under other numbers
        out += [_insn(BPF_JGE_K, X32_SYSCALL_BIT, jf=1), _ret(SECCOMP_RET_KILL_PROCESS)]
    for numbers in DENIED.values():
        nr = numbers[column]
        if nr is not None:
            out += [_insn(BPF_JEQ_K, nr, jf=1), deny]
    out += [_insn(BPF_JEQ_K, CLONE3, jf=1), _ret(SECCOMP_RET_ERRNO | errno.ENOSYS)]
    for nr in SOCKET[machine]:  # domain: the low 32 bits of the first argument (an int)
        out += [
            _insn(BPF_JEQ_K, nr, jf=4),
            _insn(BPF_LD_W_ABS, OFF_ARG0_LOW),
            _insn(BPF_JEQ_K, AF_UNIX, jf=1),
            _ret(SECCOMP_RET_ALLOW),
            _ret(SECCOMP_RET_ERRNO | errno.EAFNOSUPPORT),
        ]
    out += [  # clone: its flags (the first argument) hold no namespace flag
        _insn(BPF_JEQ_K, CLONE[machine], jf=3),
        _insn(BPF_LD_W_ABS, OFF_ARG0_LOW),
        _insn(BPF_JSET_K, CLONE_NS_FLAGS, jf=1),
        deny,
        _ret(SECCOMP_RET_ALLOW),
    ]
    return b"".join(out)


def unavailable() -> str:
    """Why the filter cannot be installed here ('' when it can): tried in a forked child
    (an unknown architecture, a kernel without seccomp filters, a filter of our own parent
    that forbids more filters). Call it in a single-threaded process only."""
    machine = os.uname().machine
    if machine not in ARCHES:
        return f"no syscall filter for the {machine} architecture"
    pid = os.fork()
    if pid == 0:
        try:
            install()
            code = 0
        except OSError as exc:
            code = exc.errno or 255
        os._exit(code & 0xFF)
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if code == 0:
        return ""
    reason = os.strerror(code) if code > 0 else f"killed by signal {-code}"
    return f"seccomp(SECCOMP_SET_MODE_FILTER) failed: {reason}"


class _Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install(libc=None) -> None:
    """Install the filter on this process (and whatever it starts); OSError if it cannot."""
    machine = os.uname().machine
    try:
        code = program(machine)
    except ValueError as exc:
        raise OSError(errno.ENOSYS, str(exc)) from None
    libc = libc or ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(code, len(code))
    prog = _Fprog(len(code) // 8, ctypes.addressof(buf))
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    rc = libc.syscall(SYS_SECCOMP[machine], SECCOMP_SET_MODE_FILTER, 0, ctypes.byref(prog))
    if rc != 0 and ctypes.get_errno() == errno.ENOSYS:
        rc = libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0)
    if rc != 0:
        raise OSError(ctypes.get_errno(), "seccomp(SECCOMP_SET_MODE_FILTER)")
