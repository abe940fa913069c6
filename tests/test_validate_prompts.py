"""What the model is asked and what is taken from its answer (rankinv.validate.prompts)."""

import copy
import textwrap

import pytest

from rankinv.errors import UserError
from rankinv.validate.prompts import chat_prompt, extract_code

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def test_chat_template_wraps_and_code_is_extracted(tokenizer, humaneval_tasks):
    tasks = humaneval_tasks
    from rankinv.sandbox.executor import Sandbox

    tok = copy.deepcopy(tokenizer)
    with pytest.raises(UserError, match="no chat template"):
        chat_prompt(tok, "def f(): pass")
    tok.chat_template = CHATML
    t = tasks[0]
    wrapped = chat_prompt(tok, t.prompt)
    assert wrapped.startswith("<|im_start|>user\n") and t.prompt in wrapped
    assert wrapped.endswith("<|im_start|>assistant\n")
    whole = t.prompt + t.canonical_solution
    answers = {
        "whole function": f"Here you go:\n```python\n{whole}```\nDone.",
        "body only": f"```python\n{t.canonical_solution}```",
        "unindented body": f"```python\n{textwrap.dedent(t.canonical_solution)}```",
        "no fence": t.canonical_solution,
        "wrong function": "```python\ndef has_close_elements(numbers, threshold):\n"
        "    return True\n```",
    }
    with Sandbox(1) as sb:
        verdicts = {
            k: sb.check(t, extract_code(a, t.entry_point)).passed for k, a in answers.items()
        }
    assert verdicts == {
        "whole function": True,
        "body only": True,
        "unindented body": True,
        "no fence": True,
        "wrong function": False,
    }
    assert extract_code("```python\nreturn x + 1\n```", "f") == "    return x + 1\n"


class _ChatTok:
    chat_template = "{{ messages }}"

    def apply_chat_template(self, msgs, tokenize=False, add_generation_prompt=False):
        assert not tokenize and add_generation_prompt
        return "".join(f"<{m['role']}>{m['content']}" for m in msgs) + "<assistant>"


def test_reward_task_prompts_stops_and_completions():
    from rankinv.sandbox import row_tasks
    from rankinv.sandbox.tasks import Task
    from rankinv.validate.prompts import HUMANEVAL_STOP, completion_of, default_stop, task_prompt

    rew = row_tasks.Reward("r.py:f", "def f(p, c, **r):\n    return 1\n", "f", "r.py")
    rows = [{"prompt": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}]},
            {"prompt": "plain"}]  # fmt: skip
    chat, plain = row_tasks.reward_tasks(rows, "x", rew)
    tok = _ChatTok()
    assert task_prompt(tok, chat, chat_template=False) == "<system>S<user>Q<assistant>"
    assert task_prompt(tok, plain, chat_template=False) == "plain"
    assert task_prompt(tok, plain, chat_template=True) == "<user>plain<assistant>"
    answer = "```python\nx = 1\n```"
    assert completion_of(chat, answer, chat_template=True) == answer  # the raw answer
    assert default_stop([chat, plain], chat_template=False) == ()
    he = Task("t", "def f():\n", "f", "", "")
    assert default_stop([he], chat_template=False) == HUMANEVAL_STOP
    tok.chat_template = None
    with pytest.raises(UserError, match="chat template"):
        task_prompt(tok, chat, chat_template=False)
