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
