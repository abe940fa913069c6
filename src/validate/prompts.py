"""What the model is asked and what is taken from its answer: HumanEval's stop strings, the
chat wrapping of a completion prompt, and the code of a chat answer."""

from __future__ import annotations

import re

from rankinv.errors import UserError

#: Stop sequences for HumanEval-style function completion (Chen et al. 2021).
HUMANEVAL_STOP = ("\nclass", "\ndef", "\n#", "\nif", "\nprint", "\n```")

#: The instruction put before a HumanEval-style prompt when ``--chat-template`` is on.
CHAT_INSTRUCTION = (
    "Complete the following Python function. Answer with the whole function in one "
    "```python code block.\n\n```python\n{prompt}```"
)


def chat_prompt(tokenizer, prompt: str, instruction: str = CHAT_INSTRUCTION) -> str:
    """Wrap a completion prompt as one user turn with the tokenizer's chat template."""
    if not getattr(tokenizer, "chat_template", None):
        raise UserError(
            "--chat-template: this model's tokenizer has no chat template "
            "(tokenizer_config.json has no chat_template); drop --chat-template"
        )
    msgs = [{"role": "user", "content": instruction.format(prompt=prompt)}]
    return tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)


_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)(?:```|\Z)", re.S)


def extract_code(answer: str, entry_point: str | None = None) -> str:
    """The code of a chat answer, as a completion to append to the task's prompt.

    The first fenced block that defines ``entry_point`` (else the first fenced block, else
    the whole answer). A block that defines the entry point is returned after a newline,
    so it redefines the prompt's function at top level (the prompt's imports stay in
    scope); a block without it is taken as the function's body and indented if needed.
    """
    blocks = [m.group(2) for m in _FENCE.finditer(answer)]
    code = answer
    if blocks:
        code = blocks[0]
        if entry_point:
            for b in blocks:
                if re.search(rf"^\s*def\s+{re.escape(entry_point)}\s*\(", b, re.M):
                    code = b
                    break
    if entry_point and re.search(rf"^def\s+{re.escape(entry_point)}\s*\(", code, re.M):
        return "\n" + code.rstrip() + "\n"
    lines = code.rstrip().splitlines()
    if lines and not lines[0].startswith((" ", "\t")):
        lines = ["    " + ln if ln.strip() else ln for ln in lines]
    return "\n".join(lines) + "\n"


def task_prompt(tokenizer, task, chat_template: bool) -> str:
    """The text the model is given for a task: a chat-list prompt (a reward task's, as verl
    stores it) through the tokenizer's chat template, as training renders it; otherwise the
    task's prompt, wrapped as one user turn with ``chat_template`` (with the instruction of
    its kind: a function to complete, a stdin/stdout program; none for a reward task)."""
    from rankinv.sandbox import io_tasks, row_tasks

    if isinstance(task, row_tasks.RewardTask):
        if not task.chat and not chat_template:
            return task.prompt
        msgs = list(task.chat) or [{"role": "user", "content": task.prompt}]
        if not getattr(tokenizer, "chat_template", None):
            raise UserError(
                f"task {task.task_id}: a chat prompt needs the tokenizer's chat template, and "
                "this model's has none (tokenizer_config.json has no chat_template)"
            )
        return tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    if not chat_template:
        return task.prompt
    if isinstance(task, io_tasks.IOTask):
        return chat_prompt(tokenizer, task.prompt, io_tasks.IO_CHAT_INSTRUCTION)
    return chat_prompt(tokenizer, task.prompt)


def completion_of(task, answer: str, chat_template: bool) -> str:
    """What is judged of the model's answer: the raw text for a reward task (the reward sees
    what training's would), the program or the code of a chat answer, else the answer."""
    from rankinv.sandbox import io_tasks, row_tasks

    if isinstance(task, row_tasks.RewardTask) or not chat_template:
        return answer
    if isinstance(task, io_tasks.IOTask):
        return io_tasks.extract_program(answer)
    return extract_code(answer, task.entry_point)


def default_stop(tasks, chat_template: bool) -> tuple[str, ...]:
    """Stop strings when none are given: none for chat answers and reward-judged prompts
    (the end-of-turn token ends them, as in training), the program's for stdin/stdout
    tasks, HumanEval's otherwise."""
    from rankinv.sandbox import io_tasks, row_tasks

    if chat_template or any(isinstance(t, row_tasks.RewardTask) for t in tasks):
        return ()
    if tasks and all(isinstance(t, io_tasks.IOTask) for t in tasks):
        return io_tasks.IO_STOP
    return HUMANEVAL_STOP
