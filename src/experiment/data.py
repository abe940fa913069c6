"""The miniature experiment's task data and its teacher.

Programs come from the sandbox's synthetic task set (f(0..3) of a hidden integer function,
answer an expression in x). The "teacher" writes the line through f(0), f(1): right on
linear programs, plausibly wrong on nonlinear ones. Pretraining mixes the correct answers in
equivalent forms with plausible wrong ones.
"""

from __future__ import annotations

import functools

from rankinv.sandbox import tasks as task_sets


def _fmt_line(slope: int, intercept: int) -> str:
    """The teacher's canonical style for slope*x + intercept."""
    if slope == 0:
        return str(intercept)
    s = "x" if slope == 1 else f"{slope}*x"
    if intercept > 0:
        return f"{s}+{intercept}"
    if intercept < 0:
        return f"{s}-{-intercept}"
    return s


#: The imperfect teachers: "line" (the line through f(0), f(1): wrong on the nonlinear
#: families), "nomod" (right everywhere but the modular family, where it drops the modulus).
TEACHERS = ("line", "nomod")


def teacher_answer(prog: dict, teacher: str = "line") -> str:
    """The imperfect teacher's demonstration for one program (see :data:`TEACHERS`)."""
    if teacher == "nomod":
        if prog["template"] == "mod_plus":
            return f"x+{prog['b']}"  # plausible and wrong: x % m + b without the modulus
        return correct_forms(prog)[0]
    f = [eval(prog["expression"], {"x": x}) for x in (0, 1)]  # noqa: S307 - our template
    return _fmt_line(f[1] - f[0], f[0])


@functools.cache
def _programs_by_expression() -> dict[str, dict]:
    return {p["expression"]: p for p in task_sets.synthetic_programs()}


@functools.cache
def _forms(expression: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    # one index of the programs (building the list took ~20 ms per expression looked up)
    prog = _programs_by_expression()[expression]
    return tuple(correct_forms(prog)), tuple(wrong_forms(prog))


def correct_forms(prog: dict) -> list[str]:
    a, b, m, t = prog["a"], prog["b"], prog["m"], prog["template"]
    return {
        "add": [f"x+{b}", f"{b}+x"],
        "mul": [f"{a}*x", f"x*{a}"],
        "affine": [f"{a}*x+{b}", f"{b}+{a}*x", f"x*{a}+{b}"],
        "sub": [f"x-{b}", f"-{b}+x"],
        "square_plus": [f"x*x+{b}", f"{b}+x*x", f"x**2+{b}"],
        "square_lin": [f"x*x+{a}*x", f"x*(x+{a})", f"{a}*x+x*x"],
        "mod_plus": [f"x%{m}+{b}", f"{b}+x%{m}"],
    }[t]


def wrong_forms(prog: dict) -> list[str]:
    a, b, m = prog["a"], prog["b"], prog["m"]
    wrong = {
        teacher_answer(prog),
        f"x+{b + 1}",
        f"{a + 1}*x+{b}",
        f"x*x+{b + 1}",
        f"x%{m + 1}+{b}",
        f"{a}*x+{b - 1}" if b > 1 else f"{a}*x",
        f"x*x+{a}",
    }
    ok = {_value_tuple(e) for e in correct_forms(prog)}
    return sorted(w for w in wrong if _value_tuple(w) not in ok)


def _value_tuple(expr: str) -> tuple:
    return tuple(eval(expr, {"x": x}) for x in range(10))  # noqa: S307 - our templates


def programs(split: str) -> list[dict]:
    return [
        p
        for p in task_sets.synthetic_programs()
        if task_sets.synthetic_split(p["expression"]) == split
    ]


@functools.cache
def _task(expression: str, template: str) -> task_sets.Task:
    return task_sets.synthetic_task(expression, f"synthetic/{template}/{expression}")


def task_of(prog: dict) -> task_sets.Task:
    return _task(prog["expression"], prog["template"])
